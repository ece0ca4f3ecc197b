"""Example DAG: the demo's orders exported to S3, one folder of gzip JSON lines per country.

Reads the demo's orders (gzip JSON lines, written by ``demo/generate_input.py``), groups them by
country and uploads ``<prefix>/<country>/orders_0000.jl.gz``... to a bucket through the Airflow
connection ``ozzy_s3`` (in the playground of ``docker-compose.yaml``: the moto server). Every object
is checked after upload (size, ETag and the ``total`` / ``md5`` metadata).

The input comes from ``OZZY_DEMO_INPUT`` (default: ``demo/input`` of the repository holding this
file), the bucket from ``OZZY_S3_BUCKET`` (default ``ozzy-demo``) and the key prefix from
``OZZY_S3_PREFIX`` (default ``airflow-out``). The bucket must exist; in the playground::

    docker compose exec airflow-scheduler python -c "import boto3; boto3.client('s3', \\
        endpoint_url='http://moto:5000', region_name='us-east-1', aws_access_key_id='testing', \\
        aws_secret_access_key='testing').create_bucket(Bucket='ozzy-demo')"
    airflow dags test ozzy_s3_export
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

DEMO = Path(__file__).resolve().parent.parent / "demo"
INPUT = os.environ.get("OZZY_DEMO_INPUT", str(DEMO / "input"))
BUCKET = os.environ.get("OZZY_S3_BUCKET", "ozzy-demo")
PREFIX = os.environ.get("OZZY_S3_PREFIX", "airflow-out").strip("/")

with DAG(
    "ozzy_s3_export",
    description="Local gzip JSON lines in, one S3 folder of gzip JSON lines per country out",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ozzy", "example", "s3"],
    doc_md=__doc__,
) as dag:
    OzzyExportOperator(
        task_id="export_orders",
        reader={
            "name": "FSReader",
            "options": {"input": {"dir": INPUT, "pattern": r"\.jl\.gz$"}, "batch_size": 5000},
        },
        grouper={"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        writer={
            "name": "S3Writer",
            "options": {
                "aws_conn_id": "ozzy_s3",
                "bucket": BUCKET,
                # {groups[0]} is Ozzy's placeholder (the country), filled per group by the writer
                "filebase": f"{PREFIX}/{{groups[0]}}/orders_",
                "compression": "gz",
                "items_per_buffer_write": 3000,
                "check_consistency": True,
            },
        },
        formatter={"name": "JsonExportFormatter", "options": {"jsonlines": True}},
        progress_interval=5,
    )
