"""An export run by a real task process (``tests/e2e/test_operator_runtime.py``).

``OZZY_E2E_RUNTIME_ITEMS`` RandomReader items in batches of ``OZZY_E2E_RUNTIME_BATCH`` (paced by
``OZZY_E2E_RUNTIME_PACE`` seconds per batch, ``tests/e2e/paced_modules.py``) to FSWriter files under
``OZZY_E2E_RUNTIME_OUTPUT``; ``retries=2`` so two stopped tries are retried. The callbacks run
in the task process and leave evidence in ``OZZY_E2E_RUNTIME_EVIDENCE`` (a folder):

* ``try-<n>.pid``: the task process of try n (on execute), so the test can signal it;
* ``start-<n>.json`` (on execute, before the export runs) and ``success-<n>.json``: the ``progress``
  and ``ozzy_state`` values of the task state store as the task itself reads them through
  ``context["task_state_store"]``; at the start of try n+1 that is exactly what try n committed;
* ``retry-<n>.json`` / ``failure-<n>.json``: the exception. The task state store cannot be read from
  these two callbacks in Airflow 3.3.2: moving a try to ``up_for_retry`` gives the task instance row a
  new id (``prepare_db_for_next_try``), so the Execution API no longer finds the failed try's scope.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from tests.e2e.dag_parts import paced_reader, write_pid

ITEMS = int(os.environ.get("OZZY_E2E_RUNTIME_ITEMS", "1000"))
BATCH = int(os.environ.get("OZZY_E2E_RUNTIME_BATCH", "100"))
OUTPUT = os.environ.get("OZZY_E2E_RUNTIME_OUTPUT", "/nonexistent/output")
EVIDENCE = os.environ.get("OZZY_E2E_RUNTIME_EVIDENCE", "/nonexistent/evidence")
PACE = float(os.environ.get("OZZY_E2E_RUNTIME_PACE", "0"))


def _store_values(context: dict) -> dict:
    store = context["task_state_store"]
    return {"progress": store.get("progress"), "ozzy_state": store.get("ozzy_state")}


def _record(context: dict, event: str, found: dict) -> None:
    with open(os.path.join(EVIDENCE, f"{event}-{context['ti'].try_number}.json"), "w") as handle:
        json.dump(found, handle)


def on_execute(context: dict) -> None:
    write_pid(EVIDENCE, f"try-{context['ti'].try_number}.pid")
    _record(context, "start", _store_values(context))


def on_success(context: dict) -> None:
    _record(context, "success", _store_values(context))


def on_retry(context: dict) -> None:
    _record(context, "retry", {"exception": str(context.get("exception"))})


def on_failure(context: dict) -> None:
    _record(context, "failure", {"exception": str(context.get("exception"))})


with DAG("ozzy_e2e_runtime", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader=paced_reader(ITEMS, BATCH, PACE),
        writer={
            "name": "FSWriter",
            "options": {"filebase": f"{OUTPUT}/items_", "items_per_buffer_write": BATCH},
        },
        retries=2,
        retry_delay=timedelta(0),
        progress_interval=0,
        on_execute_callback=on_execute,
        on_retry_callback=on_retry,
        on_success_callback=on_success,
        on_failure_callback=on_failure,
    )
