"""The export of ``ozzy_assets.py`` in 2 shards under ``OZZY_E2E_ASSETS_OUTPUT``/sharded: only its
check task announces the output (one asset event for the whole export)."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.sharded_export import ozzy_sharded_export
from tests.e2e.dag_parts import folder_export

INPUT = os.environ.get("OZZY_E2E_ASSETS_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_E2E_ASSETS_OUTPUT", "/nonexistent/output")

with DAG("ozzy_e2e_assets_sharded", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    ozzy_sharded_export(
        "export",
        shards=2,
        **folder_export(INPUT, f"{OUTPUT}/sharded/items_", items_per_buffer_write=40),
    )
