"""Airflow's SimpleAuthManager with per-user DAG grants, for the "Ozzy exports" auth test.

SimpleAuthManager grants by role only (every viewer reads every DAG). Users named in the JSON of
``OZZY_UI_DAG_GRANTS`` (``{"reader": ["dag_a"]}``) may read only the DAGs listed for them; everyone
else is as SimpleAuthManager decides. Airflow asks ``is_authorized_dag`` for every DAG it filters
(``get_authorized_dag_ids``), in its own UI and REST API as in the plugin's JSON.
"""

from __future__ import annotations

import json
import os
from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager


class OneDagAuthManager(SimpleAuthManager):
    def is_authorized_dag(
        self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None
    ) -> bool:
        granted = json.loads(os.environ.get("OZZY_UI_DAG_GRANTS", "{}")).get(user.username)
        if (
            granted is not None
            and details is not None
            and details.id is not None
            and details.id not in granted
        ):
            return False
        return super().is_authorized_dag(
            method=method, user=user, access_entity=access_entity, details=details
        )
