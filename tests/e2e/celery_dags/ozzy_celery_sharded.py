"""Sharded exports for the CeleryExecutor test (tests/e2e/test_celery_scale_out.py).

Every host parses this file (it is the code they share). Buckets, the Kafka topic and the shard
count come from the environment every Airflow process gets; the S3 endpoint and keys from the
``ozzy_s3`` connection and the brokers from ``ozzy_kafka`` (``AIRFLOW_CONN_*``), resolved on the
worker that runs a shard. Three DAGs, each writing under its own prefix of the output bucket:

- ``ozzy_celery_sharded``: S3 -> S3, 8 shards, at full speed;
- ``ozzy_celery_host_loss``: the same, paced (a pause before every batch) so a host can be lost
  while a shard is in the middle of its keys;
- ``ozzy_celery_kafka``: the partitions of a Kafka topic as shards, into S3.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.sharded_export import ozzy_sharded_export

SHARDS = int(os.environ.get("OZZY_SHARDS", "8"))
BATCH_SIZE = int(os.environ.get("OZZY_BATCH_SIZE", "500"))
ITEMS_PER_FILE = int(os.environ.get("OZZY_ITEMS_PER_FILE", "2000"))
OUT_BUCKET = os.environ.get("OZZY_CELERY_OUT_BUCKET", "ozzy-out")


def _s3_reader(pace: float) -> dict[str, Any]:
    return {
        "name": "tests.e2e.paced_modules.PacedS3Reader",
        "options": {
            "bucket": os.environ.get("OZZY_CELERY_IN_BUCKET", "ozzy-in"),
            "prefix": "in/",
            "aws_conn_id": "ozzy_s3",
            "batch_size": BATCH_SIZE,
            "seconds_per_batch": pace,
        },
    }


def _sharded(dag_id: str, shards: int, reader: dict[str, Any], prefix: str) -> DAG:
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["ozzy"]) as dag:
        ozzy_sharded_export(
            "export",
            shards=shards,
            reader=reader,
            writer={
                "name": "S3Writer",
                "options": {
                    "bucket": OUT_BUCKET,
                    "filebase": f"{prefix}/items_",
                    "aws_conn_id": "ozzy_s3",
                    "items_per_buffer_write": ITEMS_PER_FILE,
                },
            },
            retries=2,
            retry_delay=timedelta(seconds=2),
            progress_interval=2.0,
        )
    return dag


sharded = _sharded("ozzy_celery_sharded", SHARDS, _s3_reader(0.0), "spread")
host_loss = _sharded(
    "ozzy_celery_host_loss", SHARDS, _s3_reader(float(os.environ.get("OZZY_CELERY_PACE", "0.1"))), "loss"
)
kafka = _sharded(
    "ozzy_celery_kafka",
    4,
    {
        "name": "KafkaScannerReader",
        "options": {
            "kafka_conn_id": "ozzy_kafka",
            "topic": os.environ.get("OZZY_CELERY_KAFKA_TOPIC", "ozzy-celery"),
            "batch_size": BATCH_SIZE,
        },
    },
    "kafka",
)
