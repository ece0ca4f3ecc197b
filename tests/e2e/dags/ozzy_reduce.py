"""A reduce export: the sum of RandomReader's keys, stored in a Scrapy Cloud collection and returned as XCom.

The collection is reached through the ``ozzy_scrapy_cloud`` connection ``ozzy_e2e_scrapy_cloud``
(the test sets ``AIRFLOW_CONN_OZZY_E2E_SCRAPY_CLOUD`` to its local server).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

CODE = """
def reduce_function(item, accumulator=None):
    acc = accumulator if accumulator is not None else {'count': 0, 'sum': 0}
    acc['count'] += 1
    acc['sum'] += item['key']
    return acc
"""

with DAG("ozzy_e2e_reduce", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    OzzyExportOperator(
        task_id="export",
        reader={"name": "RandomReader", "options": {"number_of_items": 5000, "batch_size": 1000}},
        writer={
            "name": "HubstorageReduceWriter",
            "options": {
                "code": CODE,
                "scrapy_cloud_conn_id": "ozzy_e2e_scrapy_cloud",
                "project_id": 1234,
                "collection_name": "reduced",
                "key": "totals",
            },
        },
        progress_interval=0,
    )
