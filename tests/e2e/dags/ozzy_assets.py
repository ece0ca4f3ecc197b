"""Exports without ``outlets``: the destination must still be an Airflow asset with an event.

``ozzy_e2e_assets``: FSReader over ``OZZY_E2E_ASSETS_INPUT`` to FSWriter under
``OZZY_E2E_ASSETS_OUTPUT``/plain; ``ozzy_assets_sharded.py`` exports the same in shards.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from tests.e2e.dag_parts import folder_export

INPUT = os.environ.get("OZZY_E2E_ASSETS_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_E2E_ASSETS_OUTPUT", "/nonexistent/output")


def _sections(folder: str) -> dict:
    return folder_export(INPUT, f"{OUTPUT}/{folder}/items_", items_per_buffer_write=40)


with DAG("ozzy_e2e_assets", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(task_id="export", **_sections("plain"))
