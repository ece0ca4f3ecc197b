"""A DAG whose export config holds secrets inside URLs, in options no name marks as secret: webhook
endpoints with a Slack-style path token and a ``?token=`` query value. The test scans everything
Airflow keeps of the run for them. ``OZZY_E2E_WEBHOOK_ENDPOINTS`` (a JSON list) and
``OZZY_E2E_OUTPUT`` come from the test.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

OUTPUT = os.environ.get("OZZY_E2E_OUTPUT", "/nonexistent/output")
ENDPOINTS = json.loads(os.environ.get("OZZY_E2E_WEBHOOK_ENDPOINTS", "[]"))

with DAG("ozzy_e2e_secret_urls", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader={"name": "RandomReader", "options": {"number_of_items": 200, "batch_size": 50}},
        writer={"name": "FSWriter", "options": {"filebase": f"{OUTPUT}/items_"}},
        notifications=[{"name": "WebhookNotifier", "options": {"endpoints": ENDPOINTS}}],
        progress_interval=0,
    )
