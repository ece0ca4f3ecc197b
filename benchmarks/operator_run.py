"""One export through ``OzzyExportOperator`` with ``dag.test()``: a child process of run.py.

    AIRFLOW_HOME=... AIRFLOW__CORE__DAGS_FOLDER=benchmarks/dags \
        .venv/bin/python benchmarks/operator_run.py CONFIG.json RESULT.json

run.py prepares the environment (a throw-away AIRFLOW_HOME migrated once). The DAG file
``dags/ozzy_benchmark.py`` reads the job from CONFIG.json. RESULT.json receives the seconds spent
in ``dag.test()`` and the task's XCom (the export's stats).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.e2e.dag_runs import xcom  # noqa: E402


def main() -> None:
    config, result = sys.argv[1], sys.argv[2]
    os.environ["OZZY_BENCH_CONFIG"] = config
    spec = importlib.util.spec_from_file_location("ozzy_benchmark_dag", HERE / "dags" / "ozzy_benchmark.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    started = time.perf_counter()
    run = module.dag.test()
    seconds = time.perf_counter() - started
    if run.state != "success":
        sys.exit(f"operator_run: the DAG run ended {run.state}")
    stats = xcom(run, "export")
    Path(result).write_text(json.dumps({"seconds": seconds, "stats": stats}))


if __name__ == "__main__":
    main()
