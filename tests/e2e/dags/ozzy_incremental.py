"""An incremental export: each DAG run exports only the input files added since the last run."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

INPUT = os.environ.get("OZZY_E2E_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_E2E_OUTPUT", "/nonexistent/output")

with DAG("ozzy_e2e_incremental", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader={"name": "FSReader", "options": {"input": {"dir": INPUT}, "batch_size": 100}},
        writer={"name": "FSWriter", "options": {"filebase": f"{OUTPUT}/items_"}},
        persistence={"name": "XComPersistence"},
    )
