"""Data-aware scheduling on an export's output, under a real scheduler (``tests/airflow_stack.py``).

The producer DAG's export declares no ``outlets``; the consumer DAG is scheduled on the asset of the
export's destination folder. Triggering the producer alone must start the consumer, whose task reads
the export's counts from the event's ``extra`` (``triggering_asset_events``). Two tiny DAGs on the
stack of the sharded test: the stack's start is most of the cost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_stack import AirflowStack

DAGS = Path(__file__).parent / "asset_dags"

pytestmark = pytest.mark.timeout(900)


def test_a_dag_scheduled_on_the_exports_asset_runs_after_it_and_reads_the_events_extra(
    tmp_path: Path, postgresql_server: Any
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part-0.jl").write_text("".join(json.dumps({"id": n}) + "\n" for n in range(30)))
    env = {"OZZY_ASSET_INPUT": str(tmp_path / "in"), "OZZY_ASSET_OUTPUT": str(tmp_path / "out")}
    stack = AirflowStack(DAGS, parallelism=2, extra_env=env)
    with stack.kept_until_done():
        stack.start()
        stack.wait_for_dag("ozzy_asset_producer")
        stack.wait_for_dag("ozzy_asset_consumer")
        run_id = stack.trigger("ozzy_asset_producer")
        assert stack.wait_for_run("ozzy_asset_producer", run_id, timeout=600) == "success", stack.logs()
        stats = stack.xcom("ozzy_asset_producer", run_id, "export")

        def consumer_run() -> str | None:
            runs = stack.api("GET", "/dags/ozzy_asset_consumer/dagRuns")["dag_runs"]
            return runs[0]["dag_run_id"] if runs else None

        consumer = stack.wait_for(consumer_run, 300, "the consumer DAG to be started by the asset event")
        assert stack.wait_for_run("ozzy_asset_consumer", consumer, timeout=600) == "success", stack.logs()
        read = stack.xcom("ozzy_asset_consumer", consumer, "read_event")
    assert read["uri"] == f"file://{tmp_path / 'out' / 'produced'}"
    assert read["source_run_id"] == run_id
    extra = read["extra"]
    assert (extra["items"], extra["files"], extra["bytes"]) == (30, 1, stats["bytes_written"])
    assert extra["written_under"] == f"{tmp_path / 'out' / 'produced'}/items_"
