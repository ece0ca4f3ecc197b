"""A reduce writer's result reaches the task's return value (XCom), through Airflow's ``dag.test()``.

The writer (HubstorageReduceWriter) gets its API key from an ``ozzy_scrapy_cloud`` connection, so the
hook runs inside a real task; the key must not appear in the XCom.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import load_dag
from tests.servers.scrapycloud_server import ScrapyCloudServer


def _return_value(run: Any) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids="export", key="return_value")
        ).first()
        return XComModel.deserialize_value(row) if row is not None else None


def test_reduce_result_is_the_task_return_value(
    airflow_db: str, scrapycloud_server: ScrapyCloudServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    scrapycloud_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_E2E_SCRAPY_CLOUD", scrapycloud_server.connection_json())
    run = load_dag("ozzy_reduce.py", "ozzy_e2e_reduce").test()
    assert run.state == "success"
    expected = {"count": 5000, "sum": sum(range(5000))}
    returned = _return_value(run)
    assert returned["result"] == {"value": expected, "items_reduced": 5000}
    assert returned["finished"] is True
    assert scrapycloud_server.apikey not in json.dumps(returned)
    assert scrapycloud_server.items("reduced") == [dict(expected, _key="totals", _finished=True)]
