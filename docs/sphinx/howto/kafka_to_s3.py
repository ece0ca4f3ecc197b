"""How-to: a Kafka topic to S3, each DAG run from the offsets where the previous run stopped."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

with DAG(
    "ozzy_howto_kafka_to_s3",
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["ozzy", "how-to"],
) as dag:
    OzzyExportOperator(
        task_id="archive_orders_topic",
        reader={
            "name": "KafkaScannerReader",
            "options": {
                "kafka_conn_id": "ozzy_kafka_default",  # an `ozzy_kafka` connection
                "topic": "orders",
                "start": "earliest",  # first run only; later runs continue from saved offsets
                "stop": "end",  # up to the end offsets seen when the run starts
                "add_metadata": True,
            },
        },
        writer={
            "name": "S3Writer",
            "options": {
                "aws_conn_id": "aws_default",
                "bucket": "kafka-archive",
                "filebase": "orders/%Y/%m/%d/{{ ts_nodash }}_",
                "compression": "gz",
            },
        },
        persistence={"name": "XComPersistence"},
        retries=3,
    )
