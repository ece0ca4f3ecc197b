"""The sharded export scenario on a real Airflow stack, shared by the e2e test, the UI test, the
benchmark and ``scripts/sharded-e2e.sh``: generate input, run a DAG, read back task times and output.
"""

from __future__ import annotations

import datetime
import gzip
import json
from pathlib import Path
from typing import Any

from tests.airflow_stack import AirflowStack

DAGS = Path(__file__).parent / "scheduler_dags"


def generate_input(folder: Path, items: int, files: int) -> None:
    """``items`` JSON lines (``{"id": n, ...}``) in ``files`` gzip files of different sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = [1 + (part % 3) for part in range(files)]  # uneven files: the planner balances bytes
    bounds, start = [], 0
    for part, weight in enumerate(weights):
        end = items if part == files - 1 else start + items * weight // sum(weights)
        bounds.append((start, end))
        start = end
    for part, (first, last) in enumerate(bounds):
        lines = (
            json.dumps({"id": n, "name": f"item-{n}", "value": n * 7 % 1000, "tags": ["a", str(n % 5)]})
            for n in range(first, last)
        )
        (folder / f"part-{part:03d}.jl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), 1))


def output_ids(folder: Path) -> list[int]:
    """Every ``id`` in the ``.jl.gz`` files under ``folder``."""
    ids: list[int] = []
    for path in sorted(folder.rglob("*.jl.gz")):
        with gzip.open(path, "rt") as handle:
            ids.extend(json.loads(line)["id"] for line in handle if line.strip())
    return ids


def _time(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def task_table(stack: AirflowStack, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every try of every task instance: task, map index, try, state, start, end, queued (UTC), host."""
    rows = []
    for ti in stack.task_instances(dag_id, run_id):
        for attempt in stack.tries(dag_id, run_id, ti["task_id"], ti["map_index"]):
            rows.append(
                {
                    "task_id": attempt["task_id"],
                    "map_index": attempt["map_index"],
                    "try": attempt["try_number"],
                    "state": attempt["state"],
                    "start": _time(attempt["start_date"]),
                    "end": _time(attempt["end_date"]),
                    "queued": _time(attempt.get("queued_when")),
                    "hostname": attempt.get("hostname"),
                }
            )
    return sorted(rows, key=lambda row: row["start"] or datetime.datetime.max.replace(tzinfo=datetime.UTC))


def format_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table with times relative to the first start."""
    starts = [row["start"] for row in rows if row["start"]]
    origin = min(starts) if starts else None
    lines = [
        "| task | map index | try | state | start (s) | end (s) | duration (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        start, end = row["start"], row["end"]
        rel = lambda moment: f"{(moment - origin).total_seconds():.1f}" if moment and origin else "-"  # noqa: E731
        duration = f"{(end - start).total_seconds():.1f}" if start and end else "-"
        lines.append(
            f"| {row['task_id']} | {row['map_index']} | {row['try']} | {row['state']} | {rel(start)} | {rel(end)} | {duration} |"
        )
    return "\n".join(lines)


def overlapping_pairs(rows: list[dict[str, Any]], task_id: str) -> int:
    """How many pairs of tries of ``task_id`` ran at the same time."""
    spans = [
        (row["start"], row["end"])
        for row in rows
        if row["task_id"] == task_id and row["start"] and row["end"]
    ]
    return sum(1 for i, (s1, e1) in enumerate(spans) for s2, e2 in spans[i + 1 :] if s1 < e2 and s2 < e1)


def wall_seconds(rows: list[dict[str, Any]], task_ids: set[str]) -> float:
    """From the first start to the last end of the tasks named."""
    chosen = [row for row in rows if row["task_id"] in task_ids and row["start"] and row["end"]]
    return (max(row["end"] for row in chosen) - min(row["start"] for row in chosen)).total_seconds()


def stack_env(input_dir: Path, output_dir: Path, shards: int, fault_switch: Path | None) -> dict[str, str]:
    return {
        "OZZY_SHARD_INPUT": str(input_dir),
        "OZZY_SHARD_OUTPUT": str(output_dir),
        "OZZY_SHARDS": str(shards),
        "OZZY_SHARD_FAULT": str(fault_switch or ""),
    }
