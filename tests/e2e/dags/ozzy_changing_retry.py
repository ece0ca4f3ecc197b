"""A DAG whose export fails on its first try (a damaged input) and whose inputs change before the
retry: the retry callback repairs the file and adds inputs among the ones already read and before
all of them. The reader lists one input twice (alone and inside the folder), the groups share first
letters and the filebase has no ``{file_number}``. Paths come from the environment the test sets.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

INPUT = os.environ.get("OZZY_E2E_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_E2E_OUTPUT", "/nonexistent/output")
LATER = os.environ.get("OZZY_E2E_LATER", "/nonexistent/later")  # repaired and new inputs


def change_inputs(context: dict) -> None:
    for name in sorted(os.listdir(LATER)):
        shutil.copyfile(os.path.join(LATER, name), os.path.join(INPUT, name))


with DAG("ozzy_e2e_changing_retry", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader={
            "name": "FSReader",
            "options": {"input": [{"dir": INPUT}, os.path.join(INPUT, "p-10.jl.gz")], "batch_size": 40},
        },
        grouper={"name": "FileKeyGrouper", "options": {"keys": ["fruit"]}},
        writer={
            "name": "FSWriter",
            "options": {"filebase": f"{OUTPUT}/{{groups[0]}}_items_", "items_per_buffer_write": 30},
        },
        retries=1,
        retry_delay=timedelta(0),
        on_retry_callback=change_inputs,
        progress_interval=0,
    )
