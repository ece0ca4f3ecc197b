"""A sharded S3 -> S3 export for the CeleryExecutor test (tests/e2e/test_celery_scale_out.py).

Every host parses this file (it is the code they share); buckets, the shard count and the pace
come from the environment all Airflow processes get, the S3 endpoint and keys from the
``ozzy_s3`` connection (``AIRFLOW_CONN_OZZY_S3``), resolved on the worker that runs a shard.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.sharded_export import ozzy_sharded_export

SHARDS = int(os.environ.get("OZZY_SHARDS", "8"))
BATCH_SIZE = int(os.environ.get("OZZY_BATCH_SIZE", "500"))

with DAG(
    "ozzy_celery_sharded", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["ozzy"]
) as dag:
    ozzy_sharded_export(
        "export",
        shards=SHARDS,
        reader={
            "name": "tests.e2e.paced_modules.PacedS3Reader",
            "options": {
                "bucket": os.environ.get("OZZY_CELERY_IN_BUCKET", "ozzy-in"),
                "prefix": "in/",
                "aws_conn_id": "ozzy_s3",
                "batch_size": BATCH_SIZE,
                "seconds_per_batch": float(os.environ.get("OZZY_CELERY_PACE", "0")),
            },
        },
        writer={
            "name": "S3Writer",
            "options": {
                "bucket": os.environ.get("OZZY_CELERY_OUT_BUCKET", "ozzy-out"),
                "filebase": "out/items_",
                "aws_conn_id": "ozzy_s3",
                "items_per_buffer_write": int(os.environ.get("OZZY_ITEMS_PER_FILE", "2000")),
            },
        },
        retries=2,
        retry_delay=timedelta(seconds=2),
        progress_interval=2.0,
    )
