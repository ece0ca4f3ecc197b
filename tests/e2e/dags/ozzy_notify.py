"""A DAG whose export fails on its first try (a damaged input file) and succeeds on the retry, with
Ozzy's notifiers both inside the export and as Airflow task callbacks.

* ``notifications`` (inside the export): ``WebhookNotifier`` to ``/export`` of the
  ``ozzy_e2e_webhook`` HTTP connection: STARTED/FAILED on try 1, STARTED/COMPLETED on try 2.
* callbacks: ``WebhookNotifierCallback`` to ``/callbacks`` on execute, retry, success and failure;
  ``SESMailNotifierCallback`` through the ``ozzy_e2e_ses`` AWS connection on retry, success and
  failure. The retry callback also repairs the input, like an operator fixing a source.

Paths come from the environment the test sets; connections from ``AIRFLOW_CONN_*`` variables.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_ozzy.notifications.airflow_notifiers import (
    SESMailNotifierCallback,
    WebhookNotifierCallback,
)
from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

INPUT = os.environ.get("OZZY_E2E_NOTIFY_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_E2E_NOTIFY_OUTPUT", "/nonexistent/output")
REPAIR_FROM = os.environ.get("OZZY_E2E_NOTIFY_REPAIR_FROM", "/nonexistent/repair")


def repair_input(context: dict) -> None:
    shutil.copyfile(REPAIR_FROM, os.path.join(INPUT, "part-2.jl.gz"))


webhook = WebhookNotifierCallback(http_conn_id="ozzy_e2e_webhook", endpoints=["/callbacks"])
mail = SESMailNotifierCallback(
    team_mails=["team@example.com"],
    client_mails=["client@example.com"],
    client_name="{{ dag.dag_id }}",
    mail_from="ozzy@example.com",
    aws_conn_id="ozzy_e2e_ses",
)

with DAG("ozzy_e2e_notify", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader={"name": "FSReader", "options": {"input": {"dir": INPUT}, "batch_size": 100}},
        writer={
            "name": "FSWriter",
            "options": {"filebase": f"{OUTPUT}/items_", "items_per_buffer_write": 150},
        },
        notifications=[
            {
                "name": "WebhookNotifier",
                "options": {"http_conn_id": "ozzy_e2e_webhook", "endpoints": ["/export"]},
            }
        ],
        retries=1,
        retry_delay=timedelta(0),
        on_execute_callback=webhook,
        on_retry_callback=[repair_input, webhook, mail],
        on_success_callback=[webhook, mail],
        on_failure_callback=[webhook, mail],
        progress_interval=0,
    )
