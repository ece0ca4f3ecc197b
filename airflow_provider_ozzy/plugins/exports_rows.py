"""What the "Ozzy exports" page shows: one entry per export task instance, shards rolled up per DAG run.

Plain values in, plain values out (no Airflow import), so the roll-up is tested without a server.
A task instance's numbers come from the ``progress`` key its export keeps in the task state store
(``operators/ozzy_export.py``, ``_TaskProgress``) and its committed position from the Ozzy state
(``persistence/airflow_persistence.py``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_ozzy.core.redaction import mask

# what a group of shards shows as its state: the first of these any shard is in
_STATE_PRECEDENCE = (
    "running",
    "restarting",
    "deferred",
    "up_for_retry",
    "up_for_reschedule",
    "queued",
    "scheduled",
    "failed",
    "upstream_failed",
    "skipped",
    "removed",
    "success",
)
_ACTIVE = {"running", "restarting", "deferred"}
_COUNTERS = (
    "items_read",
    "items_read_this_run",
    "items_written",
    "bad_records",
    "files_written",
    "bytes_written",
)
_POSITION_CHARS = 160
_VALUE_CHARS = 40


@dataclass(frozen=True)
class ExportTaskInstance:
    """One task instance as the metadata DB holds it, with its two task state store values."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    progress: dict[str, Any] | None = None
    progress_updated_at: datetime | None = None
    committed: dict[str, Any] | None = None


def _short(value: Any) -> str:
    """A position value as a reader of the page can take it in: lists counted, blobs elided."""
    if isinstance(value, (list, tuple)):
        return f"[{len(value)}]"
    if isinstance(value, dict):
        return "{…}"
    text = str(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def committed_position(state: dict[str, Any] | None) -> str | None:
    """``batch 12: last_read=1199``: the batch count and the reader's position, short and masked."""
    if not state:
        return None
    text = (
        f"finished after batch {state.get('batch')}"
        if state.get("finished")
        else f"batch {state.get('batch')}"
    )
    reader = state.get("reader")
    if isinstance(reader, dict) and reader:
        position = mask(", ".join(f"{key}={_short(value)}" for key, value in sorted(reader.items())))
        if len(position) > _POSITION_CHARS:
            position = position[: _POSITION_CHARS - 1] + "…"
        text += f": {position}"
    return text


def _stale(record: ExportTaskInstance) -> bool:
    """The progress was written by an earlier try (retries share the task state store)."""
    return bool(
        record.progress_updated_at and record.start_date and record.progress_updated_at < record.start_date
    )


def export_row(record: ExportTaskInstance) -> dict[str, Any]:
    """One task instance: identity, state, counters, rate and ETA of its running try."""
    progress = record.progress or {}
    stale = _stale(record)
    row: dict[str, Any] = {
        "dag_id": record.dag_id,
        "run_id": record.run_id,
        "task_id": record.task_id,
        "map_index": record.map_index,
        "try_number": record.try_number,
        "state": record.state,
        "start_date": record.start_date.isoformat() if record.start_date else None,
        "end_date": record.end_date.isoformat() if record.end_date else None,
        **{name: progress.get(name) for name in _COUNTERS},
        "fraction": progress.get("fraction"),
        "done": bool(progress.get("done")),
        "progress_from_earlier_try": stale,
        "committed_position": committed_position(record.committed),
        "rate": None,
        "eta_seconds": None,
    }
    elapsed = progress.get("elapsed_seconds") or 0
    read_now = progress.get("items_read_this_run", progress.get("items_read")) or 0
    if stale or elapsed <= 0:
        return row
    row["rate"] = read_now / elapsed
    fraction = progress.get("fraction")
    if record.state in _ACTIVE and not row["done"] and fraction and 0 < fraction < 1 and row["rate"] > 0:
        remaining_items = (progress.get("items_read") or 0) * (1 - fraction) / fraction
        row["eta_seconds"] = remaining_items / row["rate"]
    return row


def _group_state(states: list[str | None]) -> str | None:
    present = set(states)
    return next((state for state in _STATE_PRECEDENCE if state in present), states[0] if states else None)


def _sum(rows: list[dict[str, Any]], name: str) -> int | None:
    values = [row[name] for row in rows if row[name] is not None]
    return sum(values) if values else None


def _sharded(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The shards (map indexes) of one export task in one DAG run as one entry."""
    rows = sorted(rows, key=lambda row: row["map_index"])
    states = [row["state"] for row in rows]
    active = [row for row in rows if row["state"] in _ACTIVE]
    starts = [row["start_date"] for row in rows if row["start_date"]]
    ends = [row["end_date"] for row in rows if row["end_date"]]
    entry: dict[str, Any] = {
        "kind": "sharded",
        "dag_id": rows[0]["dag_id"],
        "run_id": rows[0]["run_id"],
        "task_id": rows[0]["task_id"],
        "shard_count": len(rows),
        "state": _group_state(states),
        "states": dict(Counter(state or "none" for state in states)),
        "try_number": max(row["try_number"] for row in rows),
        "start_date": min(starts) if starts else None,
        "end_date": max(ends) if len(ends) == len(rows) else None,
        **{name: _sum(rows, name) for name in _COUNTERS},
        "committed_position": f"{sum(1 for row in rows if row['done'])} of {len(rows)} shards done",
        "rate": None,
        "eta_seconds": None,
        "shards": rows,
    }
    if active:  # the shards that run now; the export ends with the last of them
        entry["rate"] = sum(row["rate"] or 0 for row in active)
        etas = [row["eta_seconds"] for row in active if row["eta_seconds"] is not None]
        entry["eta_seconds"] = max(etas) if etas else None
    elif entry["end_date"] and entry["start_date"] and entry["items_read_this_run"]:
        wall = (
            datetime.fromisoformat(entry["end_date"]) - datetime.fromisoformat(entry["start_date"])
        ).total_seconds()
        entry["rate"] = entry["items_read_this_run"] / wall if wall > 0 else None
    return entry


def roll_up(records: list[ExportTaskInstance]) -> list[dict[str, Any]]:
    """Entries for the page, the most recently started first: a plain task instance as it is,
    the mapped instances (shards) of one task in one DAG run as one ``sharded`` entry."""
    entries: list[dict[str, Any]] = []
    shards: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        row = export_row(record)
        if record.map_index >= 0:
            shards.setdefault((record.dag_id, record.run_id, record.task_id), []).append(row)
        else:
            entries.append({"kind": "task", **row})
    entries += [_sharded(rows) for rows in shards.values()]
    return sorted(entries, key=lambda entry: entry["start_date"] or "~", reverse=True)
