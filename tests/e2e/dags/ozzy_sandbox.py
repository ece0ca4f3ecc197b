"""Sandboxed expressions in a real task process (``tests/e2e/test_sandbox_airflow.py``).

``group``: FSReader over ``OZZY_E2E_SANDBOX_INPUT`` grouped by ``'-'.join(set(item['tags']))`` into
``OZZY_E2E_SANDBOX_OUTPUT/grouped``: the groups must not depend on the task process's hash seed.
``hang``: a filter whose expression never ends from item 50 on (a C loop); the test sends the task
process SIGTERM twice and the try must end at once (``on_kill`` stops the sandbox process), failed.
``on_execute`` writes ``<task>.pid`` into ``OZZY_E2E_SANDBOX_EVIDENCE`` so the test can signal it.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from tests.e2e.dag_parts import write_pid

INPUT = os.environ.get("OZZY_E2E_SANDBOX_INPUT", "/nonexistent/input.jl.gz")
OUTPUT = os.environ.get("OZZY_E2E_SANDBOX_OUTPUT", "/nonexistent/output")
EVIDENCE = os.environ.get("OZZY_E2E_SANDBOX_EVIDENCE", "/nonexistent/evidence")


def on_execute(context: dict) -> None:
    write_pid(EVIDENCE, f"{context['ti'].task_id}.pid")


with DAG("ozzy_e2e_sandbox", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    group = OzzyExportOperator(
        task_id="group",
        reader={"name": "FSReader", "options": {"input": INPUT, "batch_size": 50}},
        grouper={
            "name": "PythonExpGrouper",
            "options": {"python_expressions": ["'-'.join(set(item['tags']))"]},
        },
        writer={"name": "FSWriter", "options": {"filebase": f"{OUTPUT}/grouped/{{groups[0]}}/part_"}},
        on_execute_callback=on_execute,
    )
    hang = OzzyExportOperator(
        task_id="hang",
        reader={"name": "FSReader", "options": {"input": INPUT, "batch_size": 10}},
        filter_before={
            "name": "PythonexpFilter",
            "options": {"python_expression": "item['id'] < 50 or any(iter(int, 1))"},
        },
        writer={
            "name": "FSWriter",
            "options": {"filebase": f"{OUTPUT}/hang/items_", "items_per_buffer_write": 10},
        },
        retries=0,
        on_execute_callback=on_execute,
    )
    group >> hang
