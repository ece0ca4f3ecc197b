"""A producer export (no ``outlets``) and a consumer DAG scheduled on the asset of its destination.

``OZZY_ASSET_INPUT`` and ``OZZY_ASSET_OUTPUT`` come from the environment of the Airflow processes.
The consumer returns the ``extra`` of the asset event that started it, read through
``triggering_asset_events``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, task

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from tests.e2e.dag_parts import folder_export

INPUT = os.environ.get("OZZY_ASSET_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_ASSET_OUTPUT", "/nonexistent/output")

with DAG("ozzy_asset_producer", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as producer:
    OzzyExportOperator(
        task_id="export",
        **folder_export(INPUT, f"{OUTPUT}/produced/items_"),
        # a task process that cannot start on a loaded machine fails the try before the export runs
        retries=2,
        retry_delay=timedelta(seconds=2),
    )

with DAG(
    "ozzy_asset_consumer",
    schedule=[Asset(uri=f"file://{OUTPUT}/produced")],
    start_date=datetime(2026, 1, 1),
    catchup=False,
) as consumer:

    @task
    def read_event(triggering_asset_events: Any = None) -> dict[str, Any]:
        [(asset, events)] = triggering_asset_events.items()
        return {"uri": asset.uri, "source_run_id": events[-1].source_run_id, "extra": events[-1].extra}

    read_event()
