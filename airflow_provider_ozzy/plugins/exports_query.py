"""Ozzy task instances and their task state store values, read from Airflow's metadata DB.

The API server has the DB at hand; the task state store lives in its ``task_state_store`` table
(Airflow 3.3, one row per dag run, task, map index and key; retries share the rows). A value
written through a custom state backend is a reference, resolved through that backend.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from airflow_provider_ozzy.core.progress import PROGRESS_KEY
from airflow_provider_ozzy.persistence.airflow_persistence import STATE_KEY, decode_state
from airflow_provider_ozzy.plugins.exports_rows import ExportTaskInstance

log = logging.getLogger(__name__)

# task instances of these operators are listed even before their first progress is stored
OZZY_OPERATORS = ("OzzyExportOperator",)
_STATE_REF = "__airflow_state_ref__"  # the worker's wrapper of a custom backend's reference


def _value(stored: str) -> Any:
    """A stored value as the task wrote it; None when it cannot be read (the page shows no numbers)."""
    try:
        value = json.loads(stored)
        if isinstance(value, dict) and set(value) == {_STATE_REF}:
            from airflow.state import get_state_backend

            return get_state_backend().deserialize_task_state_store_from_ref(value[_STATE_REF])
        return value
    except Exception as error:  # one unreadable value must not hide the other exports
        log.warning(
            "Ozzy exports page: a task state store value could not be read (%s)", type(error).__name__
        )
        return None


def _committed(stored: str) -> dict[str, Any] | None:
    try:
        return decode_state(_value(stored))
    except Exception:  # not an Ozzy state (another key owner); no position to show
        return None


def export_task_instances(
    session: Session,
    dag_ids: set[str],
    dag_id: str | None = None,
    task_id: str | None = None,
    limit: int = 200,
) -> list[ExportTaskInstance]:
    """The ``limit`` most recent Ozzy task instances of ``dag_ids`` (what the user may read).

    An Ozzy task instance is one of an Ozzy operator or one with a ``progress`` key (a subclass).
    """
    from airflow.models.task_state_store import TaskStateStoreModel as Store
    from airflow.models.taskinstance import TaskInstance as TI

    has_progress = exists().where(
        Store.dag_id == TI.dag_id,
        Store.run_id == TI.run_id,
        Store.task_id == TI.task_id,
        Store.map_index == TI.map_index,
        Store.key == PROGRESS_KEY,
    )
    query = select(TI).where(TI.dag_id.in_(dag_ids), or_(TI.operator.in_(OZZY_OPERATORS), has_progress))
    if dag_id:
        query = query.where(TI.dag_id == dag_id)
    if task_id:
        query = query.where(TI.task_id == task_id)
    # not yet started first, then the latest; NULLS FIRST is not portable (MySQL)
    query = query.order_by(TI.start_date.is_(None).desc(), TI.start_date.desc(), TI.queued_dttm.desc())
    query = query.limit(limit)
    instances = session.scalars(query).all()
    if not instances:
        return []
    keys = {(ti.dag_id, ti.run_id, ti.task_id, ti.map_index) for ti in instances}
    stored: dict[tuple[str, str, str, int, str], Any] = {}
    rows = session.scalars(
        select(Store).where(
            Store.key.in_((PROGRESS_KEY, STATE_KEY)),
            or_(*(and_(Store.dag_id == d, Store.run_id == r) for d, r in {(k[0], k[1]) for k in keys})),
        )
    ).all()
    for row in rows:
        if (row.dag_id, row.run_id, row.task_id, row.map_index) in keys:
            stored[(row.dag_id, row.run_id, row.task_id, row.map_index, row.key)] = row
    records = []
    for ti in instances:
        key = (ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
        progress_row, state_row = stored.get((*key, PROGRESS_KEY)), stored.get((*key, STATE_KEY))
        progress = _value(progress_row.value) if progress_row is not None else None
        records.append(
            ExportTaskInstance(
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                task_id=ti.task_id,
                map_index=ti.map_index,
                try_number=ti.try_number,
                state=ti.state,
                start_date=ti.start_date,
                end_date=ti.end_date,
                progress=progress if isinstance(progress, dict) else None,
                progress_updated_at=progress_row.updated_at if progress_row is not None else None,
                committed=_committed(state_row.value) if state_row is not None else None,
            )
        )
    return records
