"""The notifier contract: one ``notify(event)`` per job event (started, completed, failed, retrying).

Notifiers run at the edges of an export, never per item. A notifier that cannot deliver logs why
and returns: a notification problem must never fail the export it reports on. Events carry the
job's identity (and its Airflow dag/task/run/try when there is one), its counters, and for failures
the error text and stack trace. Configurations attached to events are redacted first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow_provider_ozzy.pipeline_item import PipelineItem

STARTED = "STARTED"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
RETRYING = "RETRYING"
SKIPPED = "SKIPPED"

REDACTED = "***"
# Options not marked ``secret`` whose names still say they hold one (third-party modules).
_SECRET_NAME = re.compile(
    r"passw|passphrase|secret|token|api_?key|access_key|private_key|credential", re.IGNORECASE
)


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


def redact_configuration(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a job configuration with every secret option value replaced by ``***``.

    Secret options are those declared ``"secret": True`` by their module, plus any option whose name
    says it holds a password, token or key (modules Ozzy cannot load are covered by that rule).
    """
    redacted = dict(data)
    from airflow_provider_ozzy.config import MODULE_SECTIONS

    for section in MODULE_SECTIONS:
        if isinstance(data.get(section), dict):
            redacted[section] = _redact_section(data[section], section)
    exporter_options = data.get("exporter_options")
    if isinstance(exporter_options, dict):
        options = dict(exporter_options)
        if isinstance(options.get("formatter"), dict):
            options["formatter"] = _redact_section(options["formatter"], "formatter")
        if isinstance(options.get("notifications"), list):
            options["notifications"] = [
                _redact_section(each, "notifications") if isinstance(each, dict) else each
                for each in options["notifications"]
            ]
        redacted["exporter_options"] = options
    return redacted


def _redact_section(section: dict[str, Any], place: str) -> dict[str, Any]:
    from airflow_provider_ozzy.options import merged_options
    from airflow_provider_ozzy.registry import SECTION_KINDS, UnknownModuleError, resolve

    options = section.get("options")
    if not isinstance(options, dict):
        return dict(section)
    declared: dict[str, dict[str, Any]] = {}
    try:
        declared = merged_options(resolve(str(section.get("name")), SECTION_KINDS.get(place)))
    except (UnknownModuleError, ImportError):
        pass
    cleaned = {
        name: REDACTED
        if declared.get(name, {}).get("secret") or _SECRET_NAME.search(name)
        else _redact_nested(value)
        for name, value in options.items()
    }
    return dict(section, options=cleaned)


def _redact_nested(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_NAME.search(str(key)) else _redact_nested(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_nested(item) for item in value]
    return value
