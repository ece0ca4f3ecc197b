"""Which position is safe to commit after a batch: the commit protocol of SPEC §3.

Items sit in per-group buffer files until a file is full, so after a batch some items read are
not yet at the destination. The committed state therefore holds the reader position at the start
of the oldest batch that still has buffered items (the *watermark*), plus, per group, how many items
after the watermark are already at the destination (``skip``) and how many files the group has.
A resume re-reads from the watermark, drops each group's first ``skip`` items and continues the
file numbers, so every item lands exactly once under a deterministic name. Files finished after
the last commit are rewritten with the same content.

Modules with state of their own (DupeFilter's seen keys) implement ``get_state()``; the tracker
snapshots it with the reader position before every batch and commits the snapshot taken at the
watermark under ``modules``, so a resume hands each module (``set_state``) its state as it was
when the re-read items were first read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_ozzy.core.fields import GroupKey

STATE_VERSION = 1


class Source(Protocol):
    """What the tracker needs of a reader (``BaseReader``): a cheap cursor per batch, the full
    position only when committing, and the count of items read."""

    read_items: int

    def position_cursor(self) -> dict[str, Any]: ...

    def committable_position(self, cursor: dict[str, Any]) -> dict[str, Any]: ...


class Destination(Protocol):
    """What the tracker needs of a writer (``BaseWriter``): items accepted and routed per group,
    the groups with items still buffered, and the writer's state at a watermark."""

    accepted: int
    routed: dict[GroupKey, int]

    def open_groups(self) -> dict[GroupKey, tuple[int, int]]: ...

    def state(
        self, routed_at_watermark: dict[GroupKey, int], accepted_at_watermark: int
    ) -> dict[str, Any]: ...


@dataclass
class _Snapshot:
    batch: int
    reader_position: dict[str, Any]
    read_items: int
    accepted: int
    routed: dict[GroupKey, int]
    modules: dict[str, Any] | None = None


class CommitTracker:
    """Keeps a snapshot per batch back to the watermark and builds the state to commit.

    ``module_states`` returns the state of the stateful modules by section (see ``BasicExporter``).
    """

    def __init__(self, module_states: Callable[[], dict[str, Any]] | None = None) -> None:
        self._snapshots: deque[_Snapshot] = deque()
        self._module_states = module_states

    def _modules(self) -> dict[str, Any] | None:
        return self._module_states() if self._module_states is not None else None

    def before_batch(self, batch: int, reader: Source, writer: Destination) -> None:
        self._snapshots.append(
            _Snapshot(
                batch,
                reader.position_cursor(),
                reader.read_items,
                writer.accepted,
                dict(writer.routed),
                self._modules(),
            )
        )

    def state(self, next_batch: int, reader: Source, writer: Destination) -> dict[str, Any]:
        """The state to commit once batches before ``next_batch`` went through the writer."""
        open_groups = writer.open_groups()
        watermark = min((first for first, _ in open_groups.values()), default=next_batch)
        while self._snapshots and self._snapshots[0].batch < watermark:
            self._snapshots.popleft()
        if watermark >= next_batch or not self._snapshots:
            snapshot = _Snapshot(
                next_batch,
                reader.position_cursor(),
                reader.read_items,
                writer.accepted,
                writer.routed,
                self._modules(),
            )
        else:
            snapshot = self._snapshots[0]
        state = {
            "version": STATE_VERSION,
            "batch": snapshot.batch,
            "reader": reader.committable_position(snapshot.reader_position),
            "read_items": snapshot.read_items,
            "writer": writer.state(snapshot.routed, snapshot.accepted),
        }
        if snapshot.modules is not None:
            state["modules"] = snapshot.modules
        return state


def continuation(finished: dict[str, Any]) -> dict[str, Any]:
    """A new job that starts where a finished one ended (incremental exports across runs).

    The reader continues from the final position; every group keeps its file count so names go
    on (``items_0003`` after ``items_0002``) instead of overwriting the last run's files; counters
    start again and the date in ``filebase`` is taken anew.
    """
    groups = [[key, files, 0] for key, files, _ in finished.get("writer", {}).get("groups", []) if files]
    return {
        "version": STATE_VERSION,
        "batch": 0,
        "reader": finished.get("reader"),
        "read_items": 0,
        "writer": {"accepted": 0, "groups": groups},
    }
