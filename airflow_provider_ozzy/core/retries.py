"""Retries with exponential backoff and jitter for transient errors, one policy for every module.

Permanent errors (bad data, missing files, refused credentials) fail at once; transient ones
(timeouts, dropped connections, throttling, 5xx, 408) are retried per operation, within the job's retry
budget: ``exporter_options.retry_attempts`` (5 by default) attempts, and no new attempt once
``retry_max_seconds`` (30 by default) have passed since the operation's first one. A dead server
thus fails a try in well under a minute, before Airflow's own retries take over.

The budget belongs to one export, not to the process: ``BasicExporter`` makes it the current
policy of its context while it builds its modules and while it runs (``retry_policy``), never
after, and the service connections (S3, GCS, Azure, SFTP,
FTP, Kafka, Scrapy Cloud) keep the policy current when they were built, so the threads they start
use it too. Two exports in one process do not change each other's budget.

Environment overrides, for tests and emergencies: ``OZZY_DISABLE_RETRIES=1`` makes every operation
try once; ``OZZY_RETRY_MAX_WAIT`` (seconds) caps each wait between attempts.

Each retry logs one line: ``S3 PutObject bucket/key: attempt 2 of 5 in 1.3 s: <error>``. After a
connection the server closed under the request (``dropped_connection``), the first retry does not
wait: it goes out on a new connection.
"""

from __future__ import annotations

import contextvars
import errno
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_ozzy.core.errors import OzzyError

if TYPE_CHECKING:  # tenacity is imported when a retry policy is first built: 80 ms at start
    from tenacity import RetryCallState, Retrying

T = TypeVar("T")
log = logging.getLogger("airflow_provider_ozzy.retries")

_TRANSIENT_ERRNOS = {errno.ECONNRESET, errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EPIPE, errno.ECONNABORTED}

DEFAULT_ATTEMPTS = 5
DEFAULT_MAX_SECONDS = 30.0
LONGEST_WAIT = 10.0  # between two attempts

# the exporter options of the retry budget (``config.EXPORTER_OPTIONS`` includes them)
RETRY_OPTIONS: dict[str, dict[str, Any]] = {
    "retry_attempts": {
        "type": int,
        "default": DEFAULT_ATTEMPTS,
        "minimum": 1,
        "maximum": 100,
        "help": "Attempts of one operation (an upload, a listing, a connection) when it fails with a "
        "transient error (timeout, refused or dropped connection, 5xx, throttling); 1 tries once.",
    },
    "retry_max_seconds": {
        "type": float,
        "default": DEFAULT_MAX_SECONDS,
        "minimum": 0,
        "maximum": 3600,
        "help": "Retry budget of one operation: no new attempt starts once this many seconds have passed "
        "since its first (waits grow 1, 2, 4, 8, 10 s with jitter). A dead server fails a try in about "
        "this time.",
    },
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long one operation is retried.

    :param attempts: attempts of one operation, at least 1.
    :param max_seconds: no attempt starts after this many seconds since the first one.
    """

    attempts: int = DEFAULT_ATTEMPTS
    max_seconds: float = DEFAULT_MAX_SECONDS

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> RetryPolicy:
        """The policy of resolved exporter options (``disable_retries``, ``retry_*``)."""
        from airflow_provider_ozzy.core.errors import ConfigurationError

        problems = [
            f"exporter_options: option '{name}' must be from {spec['minimum']} to {spec['maximum']}, "
            f"got {options.get(name)!r}"
            for name, spec in RETRY_OPTIONS.items()
            if not spec["minimum"] <= options.get(name, spec["default"]) <= spec["maximum"]
        ]
        if problems:
            raise ConfigurationError(errors=problems)
        attempts = (
            1 if options.get("disable_retries") else int(options.get("retry_attempts", DEFAULT_ATTEMPTS))
        )
        return cls(attempts, float(options.get("retry_max_seconds", DEFAULT_MAX_SECONDS)))

    def effective(self) -> RetryPolicy:
        """This policy with the environment overrides applied."""
        if os.environ.get("OZZY_DISABLE_RETRIES") == "1":
            return RetryPolicy(1, self.max_seconds)
        return self


class TransientError(OzzyError):
    """A failure worth another attempt, one class for every service (S3, GCS, Azure, file servers).

    ``status_code`` (the server's, else 503) is what ``is_transient`` reads; once the retries are
    used up it is still an Ozzy error naming the module and the place (no traceback). ``original``
    is the error it stands for, when the final message must describe that one.
    """

    def __init__(
        self, message: str, status_code: int | None = 503, original: BaseException | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.original = original


_current: contextvars.ContextVar[RetryPolicy] = contextvars.ContextVar(
    "ozzy_retry_policy",
    default=RetryPolicy(),  # noqa: B039 (frozen)
)


def current_policy() -> RetryPolicy:
    """The retry policy of the export running in this context (the default one outside exports)."""
    return _current.get()


def use_retry_policy(policy: RetryPolicy) -> contextvars.Token[RetryPolicy]:
    """Make ``policy`` current in this context (thread, task); ``Token`` undoes it."""
    return _current.set(policy)


@contextmanager
def retry_policy(policy: RetryPolicy) -> Iterator[RetryPolicy]:
    """``policy`` is current inside the block."""
    token = _current.set(policy)
    try:
        yield policy
    finally:
        _current.reset(token)


def is_transient(error: BaseException) -> bool:
    """Whether retrying the same operation may succeed."""
    if isinstance(error, (TimeoutError, ConnectionError)):
        return True
    if isinstance(error, OSError) and error.errno in _TRANSIENT_ERRNOS:
        return True
    status = getattr(error, "status_code", None) or getattr(
        getattr(error, "response", None), "status_code", None
    )
    return isinstance(status, int) and is_transient_status(status)


# what a connection the server closed under a request raises (``http.client.RemoteDisconnected`` is a
# ConnectionResetError); SDKs wrap it in their own errors' args (requests, botocore) or
# ``inner_exception`` (azure-core), Ozzy's in ``original``
_DROPPED = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def dropped_connection(error: BaseException | None) -> bool:
    """Whether ``error`` is, or wraps, a connection closed by the server under the request. Most
    often a pooled keep-alive connection the server closed as it was reused (an idle timeout, read
    ahead leaving connections idle): a new connection works at once, so the first retry does not wait."""
    seen: set[int] = set()
    stack: list[Any] = [error]
    while stack:
        found = stack.pop()
        if not isinstance(found, BaseException) or id(found) in seen:
            continue
        seen.add(id(found))
        if isinstance(found, _DROPPED):
            return True
        wrapped = (getattr(found, name, None) for name in ("original", "inner_exception"))
        stack.extend([*found.args, *wrapped, found.__cause__, found.__context__])
    return False


def is_transient_status(status: int) -> bool:
    """Whether an HTTP answer with this status is worth another attempt: a server error (5xx),
    throttling (429) or a request the server gave up waiting for (408). Every service asks here."""
    return status >= 500 or status in (408, 429)


def _logger(what: str, attempts: int) -> Callable[[RetryCallState], None]:
    def log_attempt(state: RetryCallState) -> None:
        from airflow_provider_ozzy.core.redaction import mask

        error = state.outcome.exception() if state.outcome else None
        wait = state.upcoming_sleep
        log.warning(
            "%s: attempt %d of %d in %.1f s: %s",
            what,
            state.attempt_number + 1,
            attempts,
            wait,
            mask(f"{error}" or type(error).__name__),
        )

    return log_attempt


def retrying(
    attempts: int | None = None,
    initial: float = 1.0,
    maximum: float = LONGEST_WAIT,
    what: str = "operation",
    policy: RetryPolicy | None = None,
    spent: float = 0.0,
) -> Retrying:
    """A tenacity policy for one operation within the job's retry budget.

    :param attempts: a module's own cap (never more than the job's ``retry_attempts``).
    :param initial: the first wait, in seconds; later waits double up to ``maximum``.
    :param what: the operation and its place for the retry log lines (``S3 PutObject b/key``).
    :param policy: the budget (default: the current one, see ``current_policy``).
    :param spent: seconds the operation already took before the policy was built (its first
        attempt, see ``call_with_retries``): they count against ``max_seconds``.
    """
    budget = (policy or current_policy()).effective()
    total = budget.attempts if attempts is None else max(1, min(attempts, budget.attempts))
    if os.environ.get("OZZY_RETRY_MAX_WAIT"):
        maximum = min(maximum, float(os.environ["OZZY_RETRY_MAX_WAIT"]))
        initial = min(initial, maximum)
    from tenacity import (
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        stop_before_delay,
        wait_exponential_jitter,
    )

    backoff = wait_exponential_jitter(initial=initial, max=maximum)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return 0.0 if state.attempt_number == 1 and dropped_connection(error) else float(backoff(state))

    return Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(total) | stop_before_delay(budget.max_seconds - spent),
        wait=wait,
        before_sleep=_logger(what, total),
        reraise=True,
    )


def call_with_retries(
    operation: Callable[[], T],
    attempts: int | None = None,
    what: str = "operation",
    policy: RetryPolicy | None = None,
) -> T:
    """``operation()`` under the retry policy. The first attempt runs before any policy is built
    (and tenacity imported, 80 ms at start): most calls succeed, and readers call once per batch.
    A transient failure enters the policy as its failed first attempt, its time counted."""
    started = time.monotonic()
    try:
        return operation()
    except Exception as error:
        if not is_transient(error):
            raise
        failed: Exception | None = error

    def again() -> T:
        nonlocal failed
        if failed is not None:
            first, failed = failed, None
            raise first
        return operation()

    return retrying(attempts, what=what, policy=policy, spent=time.monotonic() - started)(again)


def call_translated(
    operation: Callable[[], T],
    translate: Callable[[Exception], BaseException],
    attempts: int | None,
    what: str,
    policy: RetryPolicy | None,
) -> T:
    """``operation()`` (an SDK call made without the SDK's own retries) under Ozzy's retry policy;
    an error that is not already Ozzy's becomes ``translate(error)``, which decides whether a
    retry may help (``ConnectionError``) or not (an ``OzzyError`` naming the place)."""

    def attempt() -> T:
        try:
            return operation()
        except OzzyError:
            raise
        except Exception as error:
            raise translate(error) from None

    return call_with_retries(attempt, attempts, what, policy)


def operation_label(operation: Callable[..., Any], action: str | None = None) -> str:
    """What an operation does, for the retry log lines: ``action``, else its function's name."""
    return action or getattr(operation, "__name__", "request").strip("_").replace("_", " ")
