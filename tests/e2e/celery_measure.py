"""Measures a sharded S3 -> S3 export on LocalExecutor and on CeleryExecutor with 1 to 3 worker hosts.

    python -m tests.e2e.celery_measure local|celery1|celery2|celery3 [items]

One configuration per process (so the CPU time of its children is that configuration's): the
DAG ``ozzy_celery_sharded`` (8 shards, 32 input objects) on LocalExecutor with ``parallelism=2``
(moto on 127.0.0.1), or on the namespace deployment of ``celery_deployment.py`` with 1 to 3
worker hosts of one slot each. Prints the task table and one JSON line: wall times of the plan,
the shards and the check, a shard's task time outside its export loop (``elapsed_seconds``), the
idle slot time per shard (the dispatch overhead: a slot's time not
spent inside a shard, ``(shard phase x slots - sum of shard durations) / shards``), queue-to-start
times, overlapping shard pairs and the CPU seconds of every process of the deployment (start-up
included). Then it verifies the output (``celery_deployment.verify_output``): every item once in the
union of the objects, and the check's manifest object listing exactly them (size, md5); a run that
is not exact raises instead of printing numbers. The numbers in docs/scale-out.md come from here.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.airflow_stack import AirflowStack
from tests.e2e.celery_deployment import DAGS, CeleryDeployment, upload_input, verify_output
from tests.e2e.sharded_run import format_table, generate_input, overlapping_pairs, task_table

SHARDS, INPUT_OBJECTS, DAG_ID = 8, 32, "ozzy_celery_sharded"


def dag_env(items: int) -> dict[str, str]:
    return {
        "OZZY_SHARDS": str(SHARDS),
        "OZZY_CELERY_IN_BUCKET": "ozzy-in",
        "OZZY_CELERY_OUT_BUCKET": "ozzy-out",
        "OZZY_BATCH_SIZE": "5000",
        "OZZY_ITEMS_PER_FILE": str(max(1000, items // SHARDS // 4)),
    }


def summary(rows: list[dict[str, Any]], slots: int, exporting: list[float]) -> dict[str, Any]:
    shards = [row for row in rows if row["task_id"] == "export" and row["state"] == "success"]
    seconds = lambda a, b: (b - a).total_seconds()  # noqa: E731
    plan = next(row for row in rows if row["task_id"] == "export_plan")
    check = next(row for row in rows if row["task_id"] == "export_check")
    phase = seconds(min(row["start"] for row in shards), max(row["end"] for row in shards))
    busy = sum(seconds(row["start"], row["end"]) for row in shards)
    return {
        "slots": slots,
        "total_s": round(seconds(plan["start"], check["end"]), 1),
        "plan_s": round(seconds(plan["start"], plan["end"]), 1),
        "shard_phase_s": round(phase, 1),
        "check_s": round(seconds(check["start"], check["end"]), 1),
        "shard_median_s": round(statistics.median(seconds(row["start"], row["end"]) for row in shards), 2),
        # a shard's task time outside the export loop: task start-up, DAG parse, XCom, end
        "in_task_overhead_median_s": round(
            statistics.median(
                seconds(row["start"], row["end"]) - spent
                for row, spent in zip(shards, exporting, strict=True)
            ),
            2,
        ),
        "export_loop_median_s": round(statistics.median(exporting), 2),
        "idle_slot_per_shard_s": round((phase * slots - busy) / len(shards), 2),
        "queued_to_start_median_s": round(
            statistics.median(seconds(row["queued"], row["start"]) for row in shards if row["queued"]), 2
        ),
        "overlapping_pairs": overlapping_pairs(rows, "export"),
        "hosts": sorted({str(row["hostname"]) for row in shards}),
    }


def run(stack: AirflowStack, s3: Any, base: Path, items: int, slots: int) -> dict[str, Any]:
    generate_input(base / "in", items, INPUT_OBJECTS)
    upload_input(s3, "ozzy-in", base / "in")
    s3.create_bucket(Bucket="ozzy-out")
    stack.wait_for_dag(DAG_ID)
    run_id = stack.trigger(DAG_ID)
    state = stack.wait_for_run(DAG_ID, run_id, timeout=1800)
    rows = task_table(stack, DAG_ID, run_id)
    print(format_table(rows))
    if state != "success":
        raise RuntimeError(f"the run ended {state}")
    shards = [row for row in rows if row["task_id"] == "export" and row["state"] == "success"]
    exporting = [stack.xcom(DAG_ID, run_id, "export", row["map_index"])["elapsed_seconds"] for row in shards]
    started = time.monotonic()
    verified = verify_output(s3, "ozzy-out", "spread", base / "out", items)
    check = stack.xcom(DAG_ID, run_id, "export_check")
    assert check["items_written"] == items and check["files_written"] == verified["objects"], check
    return dict(
        summary(rows, slots, exporting),
        verified={
            "items_once": items,
            "objects": verified["objects"],
            "manifest": check["manifest"],
            "manifest_matches": True,
            "verify_s": round(time.monotonic() - started, 1),
        },
    )


def measure(config: str, items: int) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix=f"ozzy-measure-{config}-"))
    if config == "local":
        from tests.servers.moto_server import MotoServer

        moto = MotoServer(str(base))
        moto.start()
        env = dict(dag_env(items), AIRFLOW_CONN_OZZY_S3=moto.connection_json())
        stack = AirflowStack(DAGS, parallelism=2, extra_env=env)
        try:
            stack.start()
            result = run(stack, moto.client("s3"), base, items, 2)
        finally:
            stack.stop()
            stack.cleanup_home()
            moto.stop()
    else:
        workers = ["worker1", "worker2", "worker3"][: int(config.removeprefix("celery"))]
        deployment = CeleryDeployment(base, workers)
        try:
            deployment.start(dag_env(items))
            assert deployment.stack is not None
            result = run(deployment.stack, deployment.s3(), base, items, len(workers))
        finally:
            deployment.stop()
            if deployment.stack is not None:
                deployment.stack.cleanup_home()
    times = os.times()
    return dict(
        result, config=config, items=items, cpu_s=round(times.children_user + times.children_system, 1)
    )


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50000)))
