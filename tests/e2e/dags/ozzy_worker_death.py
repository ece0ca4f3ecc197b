"""An export whose task process the test kills like a dying worker (``tests/e2e/test_worker_death.py``).

``OZZY_E2E_DEATH_ITEMS`` paced RandomReader items (``tests/e2e/paced_modules.py``) in batches of
100 go to the writer section in ``OZZY_E2E_DEATH_WRITER`` (JSON: FSWriter or S3Writer on moto);
``retries=2`` so two killed tries are retried. ``on_execute`` leaves the task process's pid in
``OZZY_E2E_DEATH_EVIDENCE/try-<n>.pid`` so the test can signal it. The DAG id comes from
``OZZY_E2E_DEATH_DAG_ID`` so each destination gets runs of its own in the shared metadata DB.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from tests.e2e.dag_parts import paced_reader, write_pid

DAG_ID = os.environ.get("OZZY_E2E_DEATH_DAG_ID", "ozzy_e2e_worker_death")
ITEMS = int(os.environ.get("OZZY_E2E_DEATH_ITEMS", "1000"))
PACE = float(os.environ.get("OZZY_E2E_DEATH_PACE", "0"))
WRITER = os.environ.get("OZZY_E2E_DEATH_WRITER", "")
EVIDENCE = os.environ.get("OZZY_E2E_DEATH_EVIDENCE", "/nonexistent/evidence")


def on_execute(context: dict) -> None:
    write_pid(EVIDENCE, f"try-{context['ti'].try_number}.pid")


with DAG(DAG_ID, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader=paced_reader(ITEMS, 100, PACE),
        writer=json.loads(WRITER)
        if WRITER
        else {"name": "FSWriter", "options": {"filebase": "/nonexistent/"}},
        retries=2,
        retry_delay=timedelta(0),
        progress_interval=0,
        on_execute_callback=on_execute,
    )
