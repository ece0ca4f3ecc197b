"""A DAG whose export fails on its first try (a damaged input file) and is retried by Airflow.

The retry callback repairs the file, like an operator fixing a source; the retry must continue
from the committed position. Paths come from the environment the test sets.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

INPUT = os.environ.get("OZZY_E2E_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_E2E_OUTPUT", "/nonexistent/output")
REPAIR_FROM = os.environ.get("OZZY_E2E_REPAIR_FROM", "/nonexistent/repair")
PERSISTENCE = os.environ.get("OZZY_E2E_PERSISTENCE", "")


def repair_input(context: dict) -> None:
    shutil.copyfile(REPAIR_FROM, os.path.join(INPUT, "part-2.jl.gz"))


with DAG("ozzy_e2e_retry", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    export = OzzyExportOperator(
        task_id="export",
        reader={"name": "FSReader", "options": {"input": {"dir": INPUT}, "batch_size": 100}},
        writer={
            "name": "FSWriter",
            "options": {"filebase": f"{OUTPUT}/items_", "items_per_buffer_write": 150},
        },
        persistence=json.loads(PERSISTENCE) if PERSISTENCE else None,
        retries=1,
        retry_delay=timedelta(0),
        on_retry_callback=repair_input,
        progress_interval=0,
    )

    @task
    def record_stats(stats: dict) -> None:
        with open(os.path.join(OUTPUT, "..", "stats.json"), "w") as handle:
            json.dump(stats, handle)

    record_stats(export.output)
