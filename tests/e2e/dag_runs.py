"""What a finished DAG run left behind, read from Airflow's database (for tests and the operator benchmark)."""

from __future__ import annotations

from typing import Any


def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    """The XCom ``key`` of ``task_id`` in ``run`` (by default what it returned: an operator's
    stats), ``None`` when the task left none."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id, task_ids=task_id, key=key)
        ).first()
        return None if row is None else XComModel.deserialize_value(row)
