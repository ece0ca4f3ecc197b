"""A sharded export on a real Airflow: scheduler, dag-processor and api-server processes.

LocalExecutor with ``[core] parallelism=2`` and PostgreSQL as the metadata DB (a database of its
own, dropped afterwards), not ``dag.test()``. The DAG exports generated items (64 gzip files,
FSReader -> FSWriter) in 8 mapped shards, triggered through the REST API; shard 3's first try
SIGKILLs itself after its second file and its retry resumes from the committed position. The
output must be the input, each item once, the retry must have read less than its shard holds, and
the shards must have run at the same time. The UI test then checks, in headless Chromium against
the same api-server, where a user finds each shard's progress and stats.

The default run exports 20k items: the size proves nothing the 1M run does not, and every
assertion keeps its meaning (each shard still writes 3 files or more, so shard 3 dies after its 2nd
with the 1st committed, and the retry resumes past it; the failed try overlaps the shards that run
beside it). The stack's start takes most of the time. ``-m slow`` (``scripts/sharded-e2e.sh``)
runs 1M and saves the UI screenshots to docs/.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.airflow_stack import ROOT, AirflowStack
from tests.e2e.sharded_run import (
    DAGS,
    format_table,
    generate_input,
    output_ids,
    overlapping_pairs,
    stack_env,
    task_table,
)

SIZES = [
    pytest.param(int(os.environ.get("OZZY_SHARDED_SMALL_ITEMS", "20000")), id="small"),
    pytest.param(int(os.environ.get("OZZY_SHARDED_ITEMS", "1000000")), id="1M", marks=pytest.mark.slow),
]
SHARDS, FAILING_SHARD = 8, 3
# the screenshots in docs/ come from scripts/sharded-e2e.sh; other runs keep theirs in the tmp dir
DOCS_SCREENSHOTS = os.environ.get("OZZY_UI_SCREENSHOTS_TO_DOCS") == "1"

# both tests use one Airflow stack (module fixture): under pytest-xdist they run on one worker
pytestmark = [pytest.mark.timeout(1200), pytest.mark.xdist_group("airflow-stack")]


@pytest.fixture(scope="module", params=SIZES)
def sharded_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgresql_server: Any
) -> Iterator[SimpleNamespace]:
    items = request.param
    base = tmp_path_factory.mktemp("sharded")
    generate_input(base / "in", items, 64)
    switch = base / "fault-switch"
    switch.write_text(f"shard{FAILING_SHARD:03d}_")
    # up to 50k items per file, and at least 3 files per shard, so shard 3 dies after its 2nd file
    # (the floor of 100 keeps 3 files per shard for the small default run: 20k -> 833 per file)
    env = stack_env(base / "in", base / "out", SHARDS, switch)
    per_file = max(100, min(50000, items // SHARDS // 3))
    env["OZZY_ITEMS_PER_FILE"] = str(per_file)
    env["OZZY_BATCH_SIZE"] = str(min(10000, per_file // 4))  # commits between files
    stack = AirflowStack(DAGS, parallelism=2, extra_env=env)
    with stack.kept_until_done():
        stack.start()
        stack.wait_for_dag("ozzy_sharded")
        run_id = stack.trigger("ozzy_sharded")
        state = stack.wait_for_run("ozzy_sharded", run_id, timeout=900)
        rows = task_table(stack, "ozzy_sharded", run_id)
        table = format_table(rows)
        print(f"\nsharded run of {items} items, {run_id}: {state}\n{table}")
        (base / "task-times.md").write_text(table + "\n")
        yield SimpleNamespace(
            items=items, stack=stack, run_id=run_id, state=state, rows=rows, base=base, switch=switch
        )


def _explain(run: SimpleNamespace) -> str:
    return f"\n{format_table(run.rows)}\n{run.stack.logs()}"


def test_shards_run_in_parallel_one_resumes_after_a_kill_and_the_output_is_exact(
    sharded_run: SimpleNamespace,
) -> None:
    run, stack = sharded_run, sharded_run.stack
    assert run.state == "success", _explain(run)

    ids = output_ids(run.base / "out" / "sharded")
    assert len(ids) == run.items and sorted(ids) == list(range(run.items)), (
        f"{len(ids)} items, {len(set(ids))} distinct"
    )

    tries = {(row["map_index"], row["try"]): row["state"] for row in run.rows if row["task_id"] == "export"}
    assert sorted(index for index, _ in tries) == sorted([*range(SHARDS), FAILING_SHARD]), _explain(run)
    assert tries[(FAILING_SHARD, 1)] == "failed" and tries[(FAILING_SHARD, 2)] == "success", _explain(run)
    assert not run.switch.exists()  # the fault fired once
    resumed = stack.xcom("ozzy_sharded", run.run_id, "export", FAILING_SHARD)
    # the retry continued from the committed position: it read less than the shard holds
    assert 0 < resumed["items_read_this_run"] < resumed["items_read"], resumed
    assert resumed["shard"]["index"] == FAILING_SHARD

    assert overlapping_pairs(run.rows, "export") >= 1, _explain(run)

    check = stack.xcom("ozzy_sharded", run.run_id, "export_check")
    assert check["shards"] == SHARDS and check["items_read"] == check["items_written"] == run.items, check
    manifest = json.loads(Path(check["manifest"]).read_text())
    listed = sorted(entry["name"] for entry in manifest["files"])
    assert listed == sorted(str(path) for path in (run.base / "out" / "sharded").glob("*.jl.gz"))
    assert [shard["index"] for shard in manifest["per_shard"]] == list(range(SHARDS))


def test_a_user_finds_each_shards_progress_and_stats_in_the_airflow_ui(sharded_run: SimpleNamespace) -> None:
    from tests.e2e.ui_browser import AirflowUI, chromedriver

    run = sharded_run
    assert run.state == "success", _explain(run)
    shots = ROOT / "docs" if DOCS_SCREENSHOTS else run.base
    with AirflowUI(run.stack.url, chromedriver()) as ui:
        ui.login(run.stack.user, run.stack.password)
        base = f"/dags/ozzy_sharded/runs/{run.run_id}/tasks/export"
        # the mapped task list: one row per shard with its state, try number and duration
        ui.open(f"{base}/mapped")
        ui.wait_for_text(f"{SHARDS} Task Instances")
        ui.wait_for_text("OzzyExportOperator")
        ui.screenshot(shots / "ui-sharded-run.png")
        # a shard's log: progress lines and its final counts; the resumed shard's says how much its retry read
        resumed = run.stack.xcom("ozzy_sharded", run.run_id, "export", FAILING_SHARD)
        ui.open(f"{base}/mapped/{FAILING_SHARD}")
        ui.wait_for_text("Ozzy progress")
        ui.wait_for_text(f"'items_written': {resumed['items_written']}")
        ui.wait_for_text(f"'items_read_this_run': {resumed['items_read_this_run']}")
        ui.screenshot(shots / "ui-shard-log.png")
        # the progress key of the task state store, and the stats XCom
        ui.open(f"{base}/mapped/{FAILING_SHARD}/task-state-store")
        ui.wait_for_text("progress")
        ui.wait_for_text('"items_written"')
        ui.open(f"{base}/mapped/{FAILING_SHARD}/xcom")
        ui.expand_json()
        ui.wait_for_text('"items_read"')
        # the check task's log: every shard's counts and the manifest
        ui.open(f"/dags/ozzy_sharded/runs/{run.run_id}/tasks/export_check")
        text = ui.wait_for_text(f"{SHARDS} shards: {run.items} items written")
        for index in range(SHARDS):  # every shard's counts and files, in one place
            stats = run.stack.xcom("ozzy_sharded", run.run_id, "export", index)
            line = (
                f"shard {index}: read {stats['items_read']}, wrote {stats['items_written']} items"
                f" in {stats['files_written']} file(s)"
            )
            assert line in text, f"{line!r} not in the check task's log:\n{text[-3000:]}"
