"""How-to: one big daily export split into 8 shards, run as mapped tasks on any executor."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.sharded_export import ozzy_sharded_export

with DAG(
    "ozzy_howto_sharded_export",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ozzy", "how-to"],
) as dag:
    # export_plan (lists the objects once) -> export (8 mapped shards) -> export_check (manifest)
    ozzy_sharded_export(
        "export",
        shards=8,
        reader={
            "name": "S3Reader",
            "options": {"aws_conn_id": "aws_default", "bucket": "shop-events", "prefix": "orders/{{ ds }}/"},
        },
        writer={
            "name": "S3Writer",
            "options": {
                "aws_conn_id": "aws_default",
                "bucket": "shop-exports",
                "filebase": "orders/{{ ds_nodash }}/part_",
            },
        },
        retries=3,
    )
