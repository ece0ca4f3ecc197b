"""``OzzyPlugin``: registered through the ``airflow.plugins`` entry point of this distribution.

It mounts the exports app at ``/ozzy`` in the API server and adds the page to Airflow's UI: under
Browse in the navigation, and as a tab of every DAG (filtered on that DAG).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_ozzy.plugins.exports_api import MOUNT, PAGE_PATH, app

PAGE_URL = MOUNT + PAGE_PATH


class OzzyPlugin(AirflowPlugin):
    """The "Ozzy exports" page: FastAPI app plus its place in the UI (external views, embedded)."""

    name = "ozzy"
    fastapi_apps = [{"app": app, "url_prefix": MOUNT, "name": "Ozzy exports"}]
    external_views = [
        {
            "name": "Ozzy exports",
            "href": PAGE_URL,
            "destination": "nav",
            "nav_top_level": True,  # its own entry in the navigation (Airflow 3.2+), not under Plugins
            "url_route": "ozzy_exports",
        },
        {
            "name": "Ozzy exports",
            "href": PAGE_URL + "?dag_id={DAG_ID}",
            "destination": "dag",
            "url_route": "ozzy_exports_dag",
        },
    ]
