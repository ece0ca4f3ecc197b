"""An incremental export of an S3 inbox: each DAG run exports only the objects no earlier run read."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

BUCKET = os.environ.get("OZZY_E2E_BUCKET", "nonexistent")
OUTPUT = os.environ.get("OZZY_E2E_OUTPUT", "/nonexistent/output")

with DAG("ozzy_e2e_incremental_s3", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader={
            "name": "S3Reader",
            "options": {"bucket": BUCKET, "prefix": "inbox/", "aws_conn_id": "ozzy_e2e_s3", "batch_size": 7},
        },
        grouper={"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        writer={"name": "FSWriter", "options": {"filebase": f"{OUTPUT}/{{groups[0]}}/items_"}},
        persistence={"name": "XComPersistence"},
    )
