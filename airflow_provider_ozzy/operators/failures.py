"""How an export's error ends its Airflow task: at once, or with the task's retries left.

A retry resumes from the committed position, so it is worth its time when the cause may go away
(a timeout, a dropped connection, throttling, a source being repaired). It is wasted when the cause
stays: a config that does not run once rendered, a connection Airflow does not know, refused
credentials, a missing bucket or container, an expression the sandbox refuses. Those errors are
marked ``permanent`` where they are raised (``core.errors``), and end the task with
``AirflowFailException``; the message is the same one line either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow_provider_ozzy.core.errors import OzzyError, is_permanent

PREFIX = "Ozzy export failed: "


def task_failure(error: BaseException) -> Exception | None:
    """The Airflow exception ``error`` ends the task with, or ``None`` to let it pass unchanged
    (an unexpected error keeps its traceback and the task's retries)."""
    from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

    if is_permanent(error):
        return AirflowFailException(f"{PREFIX}{one_line(error)}")
    if isinstance(error, OzzyError):
        return AirflowException(f"{PREFIX}{one_line(error)}")
    return None


def one_line(error: BaseException) -> str:
    """The error's text on one line (a config's problems, listed one per line, joined); Airflow's
    own errors (a missing connection) also say their class."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text if isinstance(error, OzzyError) else f"{type(error).__name__}: {text}"


@contextmanager
def failing_fast() -> Iterator[None]:
    """Inside the block, an error ends the task as ``task_failure`` says (others pass unchanged)."""
    try:
        yield
    except Exception as error:
        failure = task_failure(error)
        if failure is None:
            raise
        raise failure from error
