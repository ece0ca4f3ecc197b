"""The notifiers of one export (``exporter_options.notifications``), called at its start and end.

Every notifier gets every event; a notifier that raises is logged and skipped, so notifications can
never fail (or stop notifying about) the export they report on.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_ozzy.engine.registry import resolve
from airflow_provider_ozzy.notifications.base_notifier import BaseNotifier, JobEvent

log = logging.getLogger("airflow_provider_ozzy.notifier")


class NotifiersList:
    """Builds the configured notifiers and sends each event to all of them.

    :param sections: ``exporter_options.notifications``: ``[{"name": ..., "options": {...}}, ...]``.
    """

    def __init__(self, sections: list[dict[str, Any]] | None) -> None:
        self.notifiers: list[BaseNotifier] = []
        for section in sections or []:
            cls = resolve(section["name"], "notifications")
            self.notifiers.append(cls(section.get("options") or {}))

    def __bool__(self) -> bool:
        return bool(self.notifiers)

    def notify(self, event: JobEvent) -> None:
        for notifier in self.notifiers:
            try:
                notifier.notify(event)
            except Exception as error:
                log.warning(
                    "%s could not send the %s notification of job %s: %s",
                    type(notifier).__name__,
                    event.status,
                    event.job.get("job_id", "?"),
                    error,
                )
