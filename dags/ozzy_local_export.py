"""Example DAG: a local export run by Airflow (no servers, no connections).

Reads the demo's orders (gzip JSON lines, written by ``demo/generate_input.py``), groups them by
country and writes one CSV folder per country, like ``demo/config.yaml`` does from the command line.
Positions are committed to Airflow's task state store (the operator's default), so a retry of the
task continues where the failed try stopped.

Paths come from ``OZZY_DEMO_INPUT`` / ``OZZY_DEMO_OUTPUT``; by default they are ``demo/input`` and
``demo/airflow-out`` of the repository holding this file. Run it with::

    airflow dags test ozzy_local_export
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

DEMO = Path(__file__).resolve().parent.parent / "demo"
INPUT = os.environ.get("OZZY_DEMO_INPUT", str(DEMO / "input"))
OUTPUT = os.environ.get("OZZY_DEMO_OUTPUT", str(DEMO / "airflow-out"))

with DAG(
    "ozzy_local_export",
    description="Local gzip JSON lines in, one CSV folder per country out",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ozzy", "example"],
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
            "name": "FSWriter",
            "options": {
                # {groups[0]} is Ozzy's placeholder (the country), filled per group by the writer
                "filebase": f"{OUTPUT}/{{groups[0]}}/orders_",
                "compression": "none",
                "items_per_buffer_write": 3000,
                "check_consistency": True,
            },
        },
        formatter={
            "name": "CSVExportFormatter",
            "options": {
                "fields": ["id", "country", "product", "quantity", "price", "customer.name", "customer.vip"]
            },
        },
        progress_interval=5,
    )
