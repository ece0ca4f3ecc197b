"""What the "Ozzy exports" page shows for task instances as the metadata DB holds them: rate, ETA,
committed position, and the shards of one export rolled up per DAG run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_ozzy.plugins.exports_rows import ExportTaskInstance, committed_position, roll_up

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _ti(
    map_index: int = -1, state: str = "running", progress: dict[str, Any] | None = None, **kw: Any
) -> ExportTaskInstance:
    values: dict[str, Any] = dict(
        dag_id="d",
        run_id="r1",
        task_id="export",
        map_index=map_index,
        try_number=1,
        state=state,
        start_date=START,
        end_date=None if state == "running" else START + timedelta(seconds=10),
        progress=progress,
        progress_updated_at=START + timedelta(seconds=5) if progress else None,
    )
    values.update(kw)
    return ExportTaskInstance(**values)


def _progress(read: int, written: int, elapsed: float, fraction: float | None, **kw: Any) -> dict[str, Any]:
    return dict(
        items_read=read,
        items_read_this_run=read,
        items_written=written,
        files_written=2,
        bytes_written=1000,
        elapsed_seconds=elapsed,
        fraction=fraction,
        **{"done": False, **kw},
    )


def test_a_running_export_has_its_rate_and_the_time_its_reader_has_left() -> None:
    [entry] = roll_up([_ti(progress=_progress(1000, 900, 10.0, 0.25, bad_records=3))])
    assert entry["kind"] == "task"
    assert entry["rate"] == pytest.approx(100.0)
    # a quarter read in 10 s at 100 items/s: 3000 items, 30 s left
    assert entry["eta_seconds"] == pytest.approx(30.0)
    assert (entry["items_read"], entry["items_written"], entry["bad_records"]) == (1000, 900, 3)
    assert (entry["files_written"], entry["bytes_written"]) == (2, 1000)


def test_a_resumed_try_counts_its_rate_on_what_it_read_itself() -> None:
    """Try 2 resumed after 800 items: its rate is what it read in its own seconds, and the ETA
    follows the items the reader has left, not the whole job's elapsed time."""
    progress = _progress(1000, 1000, 2.0, 0.5)
    progress["items_read_this_run"] = 200
    [entry] = roll_up([_ti(progress=progress, try_number=2)])
    assert entry["rate"] == pytest.approx(100.0)
    assert entry["eta_seconds"] == pytest.approx(10.0)


def test_a_finished_export_shows_its_final_counts_and_no_eta() -> None:
    progress = _progress(5000, 4990, 10.0, 1.0, done=True)
    [entry] = roll_up([_ti(state="success", progress=progress)])
    assert entry["done"] and entry["eta_seconds"] is None
    assert entry["items_written"] == 4990 and entry["rate"] == pytest.approx(500.0)


def test_progress_left_by_an_earlier_try_gives_no_rate() -> None:
    record = _ti(
        progress=_progress(1000, 900, 10.0, 0.25),
        try_number=2,
        progress_updated_at=START - timedelta(seconds=1),
    )
    [entry] = roll_up([record])
    assert entry["progress_from_earlier_try"] and entry["rate"] is None and entry["eta_seconds"] is None


def test_shards_roll_up_per_dag_run() -> None:
    shards = [
        _ti(0, "success", _progress(100, 100, 1.0, 1.0, done=True)),
        _ti(1, "running", _progress(50, 40, 1.0, 0.5)),
        _ti(2, "running", _progress(10, 10, 1.0, 0.1)),
        _ti(0, "running", _progress(7, 7, 1.0, 0.5), run_id="r2"),
    ]
    entries = {(entry["run_id"], entry["kind"]): entry for entry in roll_up(shards)}
    assert set(entries) == {("r1", "sharded"), ("r2", "sharded")}
    first = entries[("r1", "sharded")]
    assert first["shard_count"] == 3 and [row["map_index"] for row in first["shards"]] == [0, 1, 2]
    assert first["state"] == "running" and first["states"] == {"success": 1, "running": 2}
    assert (first["items_read"], first["items_written"]) == (160, 150)
    assert (first["files_written"], first["bytes_written"]) == (6, 3000)
    assert first["rate"] == pytest.approx(60.0)  # the shards that run now
    # shard 1: 50 left at 50/s (1 s); shard 2: 90 left at 10/s (9 s): the export ends with shard 2
    assert first["eta_seconds"] == pytest.approx(9.0)
    assert first["committed_position"] == "1 of 3 shards done"
    assert entries[("r2", "sharded")]["items_read"] == 7


def test_a_finished_sharded_export_averages_its_rate_over_its_wall_time() -> None:
    shards = [_ti(index, "success", _progress(100, 100, 5.0, 1.0, done=True)) for index in range(4)]
    [entry] = roll_up(shards)
    assert entry["state"] == "success" and entry["eta_seconds"] is None
    assert entry["rate"] == pytest.approx(400 / 10.0)


@pytest.mark.parametrize(
    ("states", "shown"),
    [
        (["success", "failed", "success"], "failed"),
        (["success", "up_for_retry"], "up_for_retry"),
        (["failed", "running"], "running"),
        (["success", "success"], "success"),
    ],
)
def test_a_group_shows_the_state_that_matters_most(states: list[str], shown: str) -> None:
    [entry] = roll_up([_ti(index, state) for index, state in enumerate(states)])
    assert entry["state"] == shown


def test_entries_come_most_recent_first_and_queued_ones_on_top() -> None:
    records = [
        _ti(task_id="old", start_date=START - timedelta(hours=1)),
        _ti(task_id="new"),
        _ti(task_id="queued", state="queued", start_date=None),
    ]
    assert [entry["task_id"] for entry in roll_up(records)] == ["queued", "new", "old"]


def test_the_committed_position_is_short_and_masked() -> None:
    state = {"batch": 12, "reader": {"last_read": 1199, "url": "https://user:hunter22@host/x"}}
    text = committed_position(state)
    assert text == "batch 12: last_read=1199, url=https://user:***@host/x"
    assert committed_position({"batch": 3, "finished": True}) == "finished after batch 3"
    # a stream reader's position: lists counted, a compressed blob elided
    blob = {"done": [], "index": 2, "offset": 0, "read": ["eJy" + "x" * 200], "state": {"a": 1}}
    assert committed_position({"batch": 6, "finished": True, "reader": blob}) == (
        "finished after batch 6: done=[0], index=2, offset=0, read=[1], state={…}"
    )
    long = committed_position({"batch": 1, "reader": {f"key{n}": "v" * 39 for n in range(20)}})
    assert long is not None and len(long) < 200 and long.endswith("…")
    assert committed_position(None) is None
