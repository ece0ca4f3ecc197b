"""The reader contract: batches of dicts and a JSON-able position to resume from."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.pipeline_item import PipelineItem

MAX_BATCH_SIZE = 1_000_000  # items of one batch are held in memory together


def batch_size_option(default: int, help_text: str = "Items per batch.") -> dict[str, Any]:
    """The ``batch_size`` option of a reader: one range for every reader."""
    return {"type": int, "minimum": 1, "maximum": MAX_BATCH_SIZE, "default": default, "help": help_text}


class BaseReader(PipelineItem):
    """Reads items in batches. ``get_last_position()`` is where the next batch starts.

    The position must be JSON-able and enough to restart reading at exactly that item.
    """

    kind = "reader"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.finished = False
        self.read_items = 0

    def open(self, position: dict[str, Any] | None) -> None:
        """Prepare to read from ``position`` (``None`` for the start). Network access may start here."""

    def get_next_batch(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def is_finished(self) -> bool:
        return self.finished

    def get_last_position(self) -> dict[str, Any]:
        raise NotImplementedError

    def position_cursor(self) -> dict[str, Any]:
        """A cheap mark of the current place, taken before every batch (see ``commit_protocol``)."""
        return self.get_last_position()

    def committable_position(self, cursor: dict[str, Any]) -> dict[str, Any]:
        """The position to commit for a place marked earlier by ``position_cursor``: readers whose
        positions grow with the input (stream readers) keep marks small and build the position once
        per commit."""
        return cursor

    def progress(self) -> float | None:
        """Fraction of the input read so far, or ``None`` when unknown."""
        return None

    def has_new_input(self, position: dict[str, Any] | None) -> bool:
        """Whether a run opened at ``position`` would read anything: what a deferred incremental
        export polls from the triggerer while it waits for data (``operators/deferral.py``). It
        must answer with the rule ``open`` reads by, never a second copy of it."""
        raise NotImplementedError(f"{type(self).__name__} cannot tell whether new input arrived")

    @classmethod
    def can_tell_new_input(cls) -> bool:
        """Whether ``has_new_input`` is implemented (a deferrable export needs it)."""
        return cls.has_new_input is not BaseReader.has_new_input

    def committed(self, position: dict[str, Any]) -> None:
        """The persistence has stored ``position`` (everything before it is durable at the destination).

        A reader whose source keeps positions of its own (Kafka consumer groups) updates them here,
        never before Ozzy's commit.
        """
