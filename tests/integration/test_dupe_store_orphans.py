"""DupeFilter's default store leaves no orphan when a job stops before its first commit.

The cause of the 1-in-15 failure of ``test_processing_roundtrip.py::
test_kill_9_and_resume_gives_exact_output[dupes-41]``: the store (``ozzy-dupes-*.sqlite`` in the
temporary folder) is created when the job starts, but its path reaches the job state only with the
first commit. A ``kill -9`` in between left a file no later run knew about: the resume started
afresh with a second store and removed only that one. Now the default store is named after the
job, so the restart finds and reuses it.

A failure at the first batch stops a job at the same moment as such a kill, deterministically:
the store exists, nothing is committed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers import output_files, read_json_lines, run_ozzy, write_config


def test_a_job_stopped_before_its_first_commit_leaves_no_store_behind(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    (tmp_path / "in").mkdir()
    items = [{"id": number, "_key": f"k{number % 7}"} for number in range(40)]
    good = "".join(json.dumps(item) + "\n" for item in items)
    (tmp_path / "in" / "a.jl").write_text("{broken\n" + good)
    write_config(
        tmp_path / "job.json",
        {
            "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}, "batch_size": 10}},
            "filter_before": {"name": "DupeFilter"},
            "writer": {"name": "FSWriter", "options": {"filebase": "out/part-", "items_per_buffer_write": 3}},
        },
    )
    env = {"TMPDIR": str(temporary)}

    failed = run_ozzy("run", "job.json", "--quiet", "--job-id", "orphan", cwd=tmp_path, env=env)
    assert failed.returncode == 1, failed.stderr
    stores = [name for name in os.listdir(temporary) if name.startswith("ozzy-dupes-")]
    assert stores, "the store is created before the first batch (else this test proves nothing)"

    (tmp_path / "in" / "a.jl").write_text(good)
    resumed = run_ozzy("resume", "pickle:.ozzy-state/orphan", "--quiet", cwd=tmp_path, env=env)

    assert resumed.returncode == 0, resumed.stderr
    kept = [
        item["_key"]
        for name in output_files(tmp_path / "out")
        for item in read_json_lines(tmp_path / "out" / name)
    ]
    assert sorted(kept) == sorted({f"k{number}" for number in range(7)})
    left = [name for name in os.listdir(temporary) if name.startswith("ozzy-dupes-")]
    assert left == [], f"stores of seen keys left behind: {left}"
