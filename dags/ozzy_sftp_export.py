"""Example DAG: the demo's orders exported to an SFTP server, one folder per country.

Reads the demo's orders (gzip JSON lines, written by ``demo/generate_input.py``), groups them by
country and uploads ``<folder>/<country>/orders_0000.jl.gz``... through the Airflow connection
``ozzy_sftp`` (in the playground of ``docker-compose.yaml``: the ``sftp`` service, where the user
may write under ``upload/`` only). Every file is checked after upload.

The input comes from ``OZZY_DEMO_INPUT`` (default: ``demo/input`` of the repository holding this
file), the remote folder from ``OZZY_SFTP_FOLDER`` (default ``upload/airflow-out``, relative to
the login folder). Run it with::

    airflow dags test ozzy_sftp_export
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

DEMO = Path(__file__).resolve().parent.parent / "demo"
INPUT = os.environ.get("OZZY_DEMO_INPUT", str(DEMO / "input"))
FOLDER = os.environ.get("OZZY_SFTP_FOLDER", "upload/airflow-out").rstrip("/")

with DAG(
    "ozzy_sftp_export",
    description="Local gzip JSON lines in, one SFTP folder of gzip JSON lines per country out",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ozzy", "example", "sftp"],
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
            "name": "SFTPWriter",
            "options": {
                "sftp_conn_id": "ozzy_sftp",
                # {groups[0]} is Ozzy's placeholder (the country), filled per group by the writer
                "filebase": f"{FOLDER}/{{groups[0]}}/orders_",
                "compression": "gz",
                "items_per_buffer_write": 3000,
                "check_consistency": True,
            },
        },
        formatter={"name": "JsonExportFormatter", "options": {"jsonlines": True}},
        progress_interval=5,
    )
