"""How-to: each hourly run exports only the S3 objects that arrived since the previous run."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

with DAG(
    "ozzy_howto_incremental_s3",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one run at a time: each continues where the previous one stopped
    tags=["ozzy", "how-to"],
) as dag:
    OzzyExportOperator(
        task_id="export_new_orders",
        reader={
            "name": "S3Reader",
            "options": {
                "aws_conn_id": "aws_default",
                "bucket": "shop-events",
                "prefix": "orders/",
                "pattern": r"\.jl\.gz$",
            },
        },
        decompressor={"name": "GzipDecompressor"},
        writer={
            "name": "S3Writer",
            "options": {
                "aws_conn_id": "aws_default",
                "bucket": "shop-exports",
                "filebase": "orders/{{ ds_nodash }}/{{ ts_nodash }}_",
                "compression": "gz",
            },
        },
        persistence={"name": "XComPersistence"},  # the next DAG run starts after this run's inputs
        retries=3,  # a retried try resumes from the task state store, never writes an item twice
    )
