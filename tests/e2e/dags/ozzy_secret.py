"""A DAG whose export uses a connection's password twice: resolved by the writer from ``login_conn_id``
and templated into the secret option ``api_key`` with ``{{ conn.ozzy_secret.password }}``.
``OZZY_E2E_SECRET_PERSISTENCE`` (a JSON section) replaces the default persistence, e.g. an
AlchemyPersistence whose ``conn_id`` holds the same password.

``OZZY_E2E_SECRET_INPUT`` switches the reader to FSReader on that folder (the test puts a damaged
file there, so the task fails after the writer logged in: the failure path logs an error and a
traceback). Paths come from the environment the test sets.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

OUTPUT = os.environ.get("OZZY_E2E_OUTPUT", "/nonexistent/output")
INPUT = os.environ.get("OZZY_E2E_SECRET_INPUT", "")
PERSISTENCE = os.environ.get("OZZY_E2E_SECRET_PERSISTENCE", "")

with DAG("ozzy_e2e_secret", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader=(
            {"name": "FSReader", "options": {"input": {"dir": INPUT}, "batch_size": 10}}
            if INPUT
            else {"name": "RandomReader", "options": {"number_of_items": 300, "batch_size": 100}}
        ),
        writer={
            "name": "tests.e2e.connected_modules.ConnectedFSWriter",
            "options": {
                "filebase": f"{OUTPUT}/items_",
                "login_conn_id": "ozzy_secret",
                "api_key": "{{ conn.ozzy_secret.password }}",
            },
        },
        persistence=json.loads(PERSISTENCE) if PERSISTENCE else None,
        progress_interval=0,
    )
