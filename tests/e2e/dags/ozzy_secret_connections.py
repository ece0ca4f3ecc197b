"""A DAG whose export reaches a service through a connection: the sections come from the test.

``OZZY_E2E_SECRET_SECTIONS`` (JSON) holds the config sections that differ from the default
FSReader -> FSWriter export (a writer, reader or persistence using a connection) and
``exporter_options``; ``OZZY_E2E_SECRET_FOLDER`` is the job's folder. See
``tests/e2e/test_secrets_connections.py``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

FOLDER = os.environ.get("OZZY_E2E_SECRET_FOLDER", "/nonexistent")
SECTIONS = json.loads(os.environ.get("OZZY_E2E_SECRET_SECTIONS", "{}"))

with DAG("ozzy_e2e_secret_connections", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        config={
            "reader": {"name": "FSReader", "options": {"input": {"dir": f"{FOLDER}/in"}}},
            "writer": {"name": "FSWriter", "options": {"filebase": f"{FOLDER}/out/part-"}},
            **SECTIONS.get("sections", {}),
        },
        exporter_options={"disable_retries": True, **SECTIONS.get("exporter_options", {})},
        progress_interval=0,
    )
