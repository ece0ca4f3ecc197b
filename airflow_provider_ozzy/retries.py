"""Retries with exponential backoff and jitter for transient errors, one policy for every module.

Permanent errors (bad data, missing files, refused credentials) fail at once; transient ones
(timeouts, dropped connections, throttling, 5xx) are retried per operation.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

T = TypeVar("T")
log = logging.getLogger("airflow_provider_ozzy.retries")

_TRANSIENT_ERRNOS = {errno.ECONNRESET, errno.ECONNREFUSED, errno.ETIMEDOUT, errno.EPIPE, errno.ECONNABORTED}


def is_transient(error: BaseException) -> bool:
    """Whether retrying the same operation may succeed."""
    if isinstance(error, (TimeoutError, ConnectionError)):
        return True
    if isinstance(error, OSError) and error.errno in _TRANSIENT_ERRNOS:
        return True
    status = getattr(error, "status_code", None) or getattr(
        getattr(error, "response", None), "status_code", None
    )
    return isinstance(status, int) and (status >= 500 or status == 429)


def _log_attempt(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning("Retrying %s after attempt %d failed: %s", state.fn, state.attempt_number, error)


def retrying(attempts: int | None = None, initial: float = 1.0, maximum: float = 30.0) -> Retrying:
    """A tenacity policy; ``OZZY_DISABLE_RETRIES=1`` makes every operation try once, and
    ``OZZY_RETRY_MAX_WAIT`` (seconds) caps the wait between attempts (same number of attempts:
    a permanent fault surfaces in seconds, e.g. in fault-injection tests)."""
    if os.environ.get("OZZY_DISABLE_RETRIES") == "1":
        attempts = 1
    if os.environ.get("OZZY_RETRY_MAX_WAIT"):
        maximum = min(maximum, float(os.environ["OZZY_RETRY_MAX_WAIT"]))
        initial = min(initial, maximum)
    return Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(attempts or 8),
        wait=wait_exponential_jitter(initial=initial, max=maximum),
        before_sleep=_log_attempt,
        reraise=True,
    )


def call_with_retries(operation: Callable[[], T], attempts: int | None = None) -> T:
    return retrying(attempts)(operation)
