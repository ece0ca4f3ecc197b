"""The benchmark's DAG: one OzzyExportOperator running the config file named by OZZY_BENCH_CONFIG.

``benchmarks/run.py`` (operator overhead) runs it with ``dag.test()`` through
``benchmarks/operator_run.py`` on a throw-away AIRFLOW_HOME, to compare with ``ozzy run`` on the
same config. Without OZZY_BENCH_CONFIG it holds a placeholder job, so the file always parses.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

CONFIG_FILE = os.environ.get("OZZY_BENCH_CONFIG")
PLACEHOLDER: dict[str, Any] = {
    "reader": {"name": "FSReader", "options": {"input": "/nonexistent/items.jl.gz"}},
    "writer": {"name": "FSWriter", "options": {"filebase": "/tmp/ozzy-benchmark/items_"}},
}


def _config() -> dict[str, Any]:
    if not CONFIG_FILE:
        return PLACEHOLDER
    with open(CONFIG_FILE) as handle:
        config: dict[str, Any] = json.load(handle)
    return config


with DAG(
    "ozzy_benchmark",
    description="Benchmark: one Ozzy export through the operator (benchmarks/run.py --operator)",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ozzy", "benchmark"],
) as dag:
    OzzyExportOperator(task_id="export", config=_config(), progress_interval=60)
