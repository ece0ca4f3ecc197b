"""The FastAPI app the plugin mounts at ``/ozzy`` in the API server: the page and its JSON.

``/ozzy/exports`` is the page (it holds no data, so anyone may load it); ``/ozzy/api/exports`` is
what it polls. The JSON answers only for a logged-in user (Airflow's session cookie or a bearer
token, as the REST API) and lists only the DAGs the auth manager lets that user read.
"""

from __future__ import annotations

from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse

from airflow_provider_ozzy.plugins.exports_page import PAGE
from airflow_provider_ozzy.plugins.exports_query import export_task_instances
from airflow_provider_ozzy.plugins.exports_rows import roll_up

MOUNT = "/ozzy"
PAGE_PATH = "/exports"

app = FastAPI(title="Ozzy exports", description="Running and recent Ozzy exports, for the Airflow UI.")


@app.get(PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
def exports_page() -> HTMLResponse:
    """The page; its script reads ``?dag_id=&task_id=`` and polls ``api/exports`` with them."""
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})


@app.get("/api/exports")
def exports(
    user: GetUserDep,
    session: SessionDep,
    dag_id: str | None = None,
    task_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Ozzy task instances of the DAGs ``user`` may read, shards rolled up per DAG run."""
    readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET", session=session)
    records = export_task_instances(session, readable, dag_id=dag_id, task_id=task_id, limit=limit)
    return {"exports": roll_up(records)}
