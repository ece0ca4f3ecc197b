"""How-to: the day's JSON lines files loaded into a PostgreSQL table, each row exactly once."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

with DAG(
    "ozzy_howto_sql_load",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ozzy", "how-to"],
) as dag:
    OzzyExportOperator(
        task_id="load_orders",
        reader={
            "name": "S3Reader",
            "options": {"aws_conn_id": "aws_default", "bucket": "shop-events", "prefix": "orders/{{ ds }}/"},
        },
        transform={
            "name": "JqTransform",
            "options": {"jq_filter": "{id, country, total: (.price * .quantity)}"},
        },
        writer={
            "name": "OdoWriter",
            "options": {
                "sql_conn_id": "warehouse_postgres",  # a postgres connection
                "table": "staging.orders",  # created when missing; columns from the first items
                "flatten": True,
            },
        },
        retries=3,  # the table keeps each file's rows once: a retried try never inserts them twice
    )
