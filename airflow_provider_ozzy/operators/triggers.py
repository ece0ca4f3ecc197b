"""``OzzyNewInputTrigger``: the triggerer's side of a deferred incremental export.

It polls the export's reader (``reader.has_new_input(position)``, the rule the reader reads by)
on a thread, so the triggerer's event loop never waits on a listing, and fires once: there is
new input, the wait is over (``deadline``), or the source refused the probe. Its kwargs are stored
in Airflow's metadata DB, so they hold the reader section without secrets (connection ids, not
credentials: ``deferral.trigger_reader_section``) and the finished job's reader position.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_ozzy.core.retries import is_transient

NEW_INPUT, TIMEOUT, ERROR = "new_input", "timeout", "error"


class OzzyNewInputTrigger(BaseTrigger):
    """Fires when a run of the reader at ``position`` would read something, or at ``deadline``.

    :param reader: the reader section (``{"name": ..., "options": {...}}``), without secrets.
    :param position: the reader position the finished job ended at (``None``: a job not started).
    :param poll_interval: seconds between two probes.
    :param deadline: when the wait ends (seconds since the epoch), kept across deferrals.
    """

    def __init__(
        self, reader: dict[str, Any], position: dict[str, Any] | None, poll_interval: float, deadline: float
    ) -> None:
        super().__init__()
        self.reader = reader
        self.position = position
        self.poll_interval = poll_interval
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "reader": self.reader,
                "position": self.position,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        polls = 0
        while True:
            # the export has just looked and found nothing: the first probe waits its turn too (a
            # probe that disagreed with the reader would otherwise resume the task in a loop)
            await asyncio.sleep(max(0.0, min(self.poll_interval, self.deadline - time.time())))
            polls += 1
            failure = None
            try:
                if await asyncio.to_thread(self.probe):
                    yield TriggerEvent({"status": NEW_INPUT, "polls": polls})
                    return
            except Exception as error:
                failure = _one_line(error)
                if not is_transient(error):  # a blip is polled again; a refusal is final
                    yield TriggerEvent({"status": ERROR, "message": failure})
                    return
                self.log.warning(
                    "Ozzy: probing %s failed (%s); trying again", self.reader.get("name"), failure
                )
            if time.time() >= self.deadline:
                # a source that kept failing is an error, not an empty wait
                yield TriggerEvent(
                    {"status": ERROR, "message": failure} if failure else {"status": TIMEOUT, "polls": polls}
                )
                return

    def probe(self) -> bool:
        """One probe with a reader built from the section (the triggerer's connections and
        environment resolve what the section leaves out), closed afterwards."""
        from airflow_provider_ozzy.engine.config import resolve_section

        reader = resolve_section(self.reader, "readers").build()
        try:
            return bool(reader.has_new_input(self.position))
        finally:
            reader.close()


def _one_line(error: BaseException) -> str:
    from airflow_provider_ozzy.core.errors import OzzyError

    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if isinstance(error, OzzyError) else f"{type(error).__name__}: {text}"
