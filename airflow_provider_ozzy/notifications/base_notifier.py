"""The notifier contract: one ``notify(event)`` per job event (started, completed, failed, retrying).

Notifiers run at the edges of an export, never per item. A notifier that cannot deliver logs why
and returns: a notification problem must never fail the export it reports on. Events carry the
job's identity (and its Airflow dag/task/run/try when there is one), its counters, and for failures
the error text and stack trace. Configurations attached to events are redacted first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_provider_ozzy.core.pipeline_item import PipelineItem
from airflow_provider_ozzy.core.redaction import mask

STARTED = "STARTED"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
RETRYING = "RETRYING"
SKIPPED = "SKIPPED"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class JobEvent:
    """What happened to a job.

    :param status: ``STARTED``, ``COMPLETED``, ``FAILED``, ``RETRYING`` (Airflow will try again) or
        ``SKIPPED``.
    :param job: identity: ``job_id`` and, inside Airflow, ``dag_id``, ``task_id``, ``run_id``,
        ``try_number``, ``map_index``.
    :param stats: counters of the export so far (items read and written, files, bytes, seconds).
    :param message: the error text of a failure.
    :param stack_trace: the formatted traceback of a failure.
    :param configuration: the job's configuration, secrets already redacted.
    """

    status: str
    job: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    stack_trace: str | None = None
    configuration: dict[str, Any] | None = None
    time: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        # failure texts and tracebacks may quote a URL or a value with a secret
        self.message = mask(self.message) if self.message is not None else None
        self.stack_trace = mask(self.stack_trace) if self.stack_trace is not None else None

    @property
    def is_failure(self) -> bool:
        return self.status in (FAILED, RETRYING)

    def counters(self) -> dict[str, Any]:
        """The numeric counters only (never paths or URIs, which may hold credentials)."""
        return {key: value for key, value in self.stats.items() if isinstance(value, (bool, int, float))}


class BaseNotifier(PipelineItem):
    """Delivers job events. Subclasses implement ``notify`` and must not raise for delivery problems."""

    kind = "notifier"

    def notify(self, event: JobEvent) -> None:
        raise NotImplementedError
