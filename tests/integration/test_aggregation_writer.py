"""AggregationWriter through ``kill -9`` and resume: the counts in the report and stats stay exact."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.crash_harness import CrashHarness, Trigger
from tests.helpers import final_stats, write_json_lines_gz

ITEMS = 6000
BATCH = 100
KEYS = ["a", "b", "c", "d"]


def make_item(number: int) -> dict[str, Any]:
    rng = random.Random(number)
    item: dict[str, Any] = {"id": number}
    for key in KEYS:
        if rng.random() < 0.3 + 0.15 * KEYS.index(key):
            item[key] = {"x": 1} if rng.random() < 0.5 else number
    return item


def expected(items: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for item in items:
        for key, value in item.items():
            counts[key] = counts.get(key, 0) + 1
            if isinstance(value, dict):
                counts[f"{key}.x"] = counts.get(f"{key}.x", 0) + 1
    total = len(items)
    keys = {k: {"count": v, "percentage": round(v * 100 / total, 2)} for k, v in sorted(counts.items())}
    return {"items": total, "keys": keys}


@pytest.mark.parametrize("seed", [1])
def test_kill_9_then_resume_keeps_counts_exact(tmp_path: Path, seed: int) -> None:
    items = [make_item(number) for number in range(ITEMS)]
    write_json_lines_gz(tmp_path / "job" / "in" / "items.jl.gz", items)
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}, "batch_size": BATCH}},
        "writer": {"name": "AggregationWriter", "options": {"path": "out/report.json"}},
    }
    harness = CrashHarness(tmp_path / "job", config, count_written=lambda since: 0)
    rng = random.Random(seed)
    triggers = [Trigger("commits", rng.randint(2, 12)), Trigger("delay", round(rng.uniform(0.0, 0.2), 3))]
    report = harness.run(triggers, seed=seed, label="aggregation")
    assert report.interruptions >= 1, report.describe()
    want = expected(items)
    assert json.loads((tmp_path / "job" / "out" / "report.json").read_text()) == want, report.describe()
    stats = final_stats(report)
    assert stats["result"] == want
