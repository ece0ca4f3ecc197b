"""Errors a retry cannot fix end the task after one try; the others use the task's retries.

Every task has ``retries=3``: ``missing_connection`` names an Airflow connection that does not
exist, ``bad_after_rendering`` has an option whose template renders to a value that is no number,
``fixable`` reads a damaged gzip file (its retry callback puts the whole file back, as an operator
repairing the source would). Paths come from ``OZZY_E2E_FAIL_FAST_*``.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from tests.e2e.dag_parts import jl_reader

INPUT = os.environ.get("OZZY_E2E_FAIL_FAST_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_E2E_FAIL_FAST_OUTPUT", "/nonexistent/output")
RETRIES = {"retries": 3, "retry_delay": timedelta(0)}


def _count_retry(context: dict) -> None:
    """Leaves a mark per retry: a permanent error must leave none."""
    task_id = context["ti"].task_id
    with open(os.path.join(OUTPUT, f"{task_id}.retries"), "a") as handle:
        handle.write("retry\n")
    if task_id == "fixable":
        shutil.copyfile(os.path.join(OUTPUT, "whole.jl.gz"), os.path.join(OUTPUT, "damaged", "part.jl.gz"))


with DAG("ozzy_e2e_fail_fast", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="missing_connection",
        reader=jl_reader(INPUT),
        writer={
            "name": "S3Writer",
            "options": {
                "bucket": "ozzy-e2e",
                "filebase": "out/items_",
                "aws_conn_id": "ozzy_e2e_no_such_conn",
            },
        },
        on_retry_callback=_count_retry,
        **RETRIES,
    )
    OzzyExportOperator(
        task_id="bad_after_rendering",
        reader=jl_reader(INPUT),
        writer={
            "name": "FSWriter",
            "options": {
                "filebase": f"{OUTPUT}/bad/items_",
                "items_per_buffer_write": "{{ 'many' }}",
            },
        },
        on_retry_callback=_count_retry,
        **RETRIES,
    )
    OzzyExportOperator(
        task_id="fixable",
        reader={"name": "FSReader", "options": {"input": {"dir": os.path.join(OUTPUT, "damaged")}}},
        writer={"name": "FSWriter", "options": {"filebase": f"{OUTPUT}/fixable/items_"}},
        on_retry_callback=_count_retry,
        **RETRIES,
    )
