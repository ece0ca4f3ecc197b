"""One 1M-item export as one task against the same export in 8 shards, on a real Airflow.

    .venv/bin/python benchmarks/bench_sharded.py [--items 1000000] [--shards 8] [--parallelism 2] [--repeat 2]

Starts Airflow (scheduler, dag-processor, api-server; LocalExecutor, ``[core] parallelism``,
PostgreSQL metadata DB) with ``tests/airflow_stack.py``, generates 64 gzip JSON-lines files, and
triggers the DAGs of ``tests/e2e/scheduler_dags/ozzy_sharded.py`` round-robin: ``ozzy_unsharded``
(one ``OzzyExportOperator``) and ``ozzy_sharded`` (plan -> 8 mapped exports -> check), no fault.
Times come from Airflow's own task start/end dates (REST API): "exports" is the first export
start to the last export end, "run" the DAG run's start to end (queueing, the plan and check tasks
included). The speed-up is unsharded / sharded, medians of ``--repeat`` runs. Each task pays
Airflow's per-task start (a new interpreter importing Airflow, parsing the DAG), which on 2 cores
is a large part of a short shard.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.airflow_stack import AirflowStack  # noqa: E402
from tests.e2e.sharded_run import (  # noqa: E402
    DAGS,
    format_table,
    generate_input,
    output_ids,
    stack_env,
    task_table,
    wall_seconds,
)


def _run_seconds(stack: AirflowStack, dag_id: str, run_id: str) -> float:
    run = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
    start, end = (
        datetime.datetime.fromisoformat(run[key].replace("Z", "+00:00")) for key in ("start_date", "end_date")
    )
    return (end - start).total_seconds()


def one_run(stack: AirflowStack, dag_id: str, out: Path, items: int) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    run_id = stack.trigger(dag_id)
    state = stack.wait_for_run(dag_id, run_id, timeout=1800)
    if state != "success":
        raise RuntimeError(f"{dag_id} run {run_id}: {state}\n{stack.logs()}")
    ids = output_ids(out)
    if len(ids) != items or len(set(ids)) != items:
        raise RuntimeError(f"{dag_id}: {len(ids)} items written, {len(set(ids))} distinct, expected {items}")
    rows = task_table(stack, dag_id, run_id)
    inside = sum(
        stack.xcom(dag_id, run_id, "export", index)["elapsed_seconds"]
        for index in {row["map_index"] for row in rows if row["task_id"] == "export"}
    )
    return {
        "inside": inside,
        "dag": dag_id,
        "rows": rows,
        "exports": wall_seconds(rows, {"export"}),
        "run": _run_seconds(stack, dag_id, run_id),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="ozzy-bench-sharded-"))
    generate_input(base / "in", args.items, 64)
    env = stack_env(base / "in", base / "out", args.shards, None)
    stack = AirflowStack(DAGS, parallelism=args.parallelism, extra_env=env, home=base / "airflow")
    results: list[dict[str, Any]] = []
    loads = [os.getloadavg()[0]]
    try:
        stack.start()
        stack.wait_for_dag("ozzy_sharded")
        stack.wait_for_dag("ozzy_unsharded")
        for _ in range(args.repeat):
            for dag_id, folder in (("ozzy_unsharded", "unsharded"), ("ozzy_sharded", "sharded")):
                results.append(one_run(stack, dag_id, base / "out" / folder, args.items))
                loads.append(os.getloadavg()[0])
                print(
                    f"{dag_id}: exports {results[-1]['exports']:.1f} s, run {results[-1]['run']:.1f} s",
                    flush=True,
                )
    finally:
        stack.stop()
        shutil.rmtree(base, ignore_errors=True)

    def median(dag_id: str, key: str) -> float:
        return statistics.median(result[key] for result in results if result["dag"] == dag_id)

    print(
        f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; 1-min load average during the run "
        f"{min(loads):.1f} to {max(loads):.1f}"
    )
    print(f"\n{args.items:,} items, parallelism {args.parallelism}, median of {args.repeat}\n")
    print(
        "| DAG | tasks | exports wall (s) | run wall (s) | items/s (exports) | export time inside the tasks (s) |"
    )
    print("|---|---|---|---|---|---|")
    for dag_id, tasks in (
        ("ozzy_unsharded", "1 export"),
        ("ozzy_sharded", f"plan + {args.shards} shards + check"),
    ):
        exports, run, inside = median(dag_id, "exports"), median(dag_id, "run"), median(dag_id, "inside")
        print(
            f"| {dag_id} | {tasks} | {exports:.1f} | {run:.1f} | {args.items / exports:,.0f} | {inside:.1f} |"
        )
    print(
        f"\nspeed-up (unsharded / sharded): exports {median('ozzy_unsharded', 'exports') / median('ozzy_sharded', 'exports'):.2f}x, "
        f"run {median('ozzy_unsharded', 'run') / median('ozzy_sharded', 'run'):.2f}x"
    )
    for dag_id in ("ozzy_unsharded", "ozzy_sharded"):
        last = [result for result in results if result["dag"] == dag_id][-1]
        print(f"\nTask tries of the last {dag_id} run (seconds from its first task start):\n")
        print(format_table(last["rows"]))


if __name__ == "__main__":
    main()
