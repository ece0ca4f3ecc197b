"""Incremental Kafka export: each DAG run exports the messages produced since the previous run."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

TOPIC = os.environ.get("OZZY_E2E_KAFKA_TOPIC", "ozzy-e2e")
OUTPUT = os.environ.get("OZZY_E2E_OUTPUT", "/nonexistent/output")
READER = {
    "kafka_conn_id": "kafka_e2e",
    "topic": TOPIC,
    "batch_size": 100,
    "group_id": "ozzy-e2e",
    "commit_group": True,
}

with DAG(
    "ozzy_e2e_kafka_incremental", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False
) as dag:
    OzzyExportOperator(
        task_id="export",
        reader={"name": "KafkaScannerReader", "options": READER},
        writer={
            "name": "FSWriter",
            "options": {"filebase": f"{OUTPUT}/items_", "items_per_buffer_write": 150},
        },
        persistence={"name": "XComPersistence"},
    )
