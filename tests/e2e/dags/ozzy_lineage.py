"""An export whose OpenLineage events ``tests/e2e/test_openlineage_events.py`` reads back.

FSReader over ``OZZY_E2E_LINEAGE_INPUT`` to FSWriter under ``OZZY_E2E_LINEAGE_OUTPUT``/{{ ds_nodash }}:
the output dataset must name the rendered folder, so the facets are built after templating.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from tests.e2e.dag_parts import folder_export

INPUT = os.environ.get("OZZY_E2E_LINEAGE_INPUT", "/nonexistent/input")
OUTPUT = os.environ.get("OZZY_E2E_LINEAGE_OUTPUT", "/nonexistent/output")

with DAG("ozzy_lineage", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        **folder_export(INPUT, OUTPUT + "/{{ ds_nodash }}/items_", items_per_buffer_write=30),
    )
