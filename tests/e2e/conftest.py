"""End-to-end tests through Airflow's ``dag.test()`` on a throw-away AIRFLOW_HOME (SQLite).

The environment is set when this file is imported, before any Airflow import, and the metadata DB
is migrated once per session. DAG files live in ``tests/e2e/dags`` (``dag.test()`` needs the DAG
inside a configured DAG bundle); the example DAGs of ``dags/`` are a second bundle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

DAGS = Path(__file__).parent / "dags"
# the repository's example DAGs: a second DAG bundle, so dag.test() also runs the DAGs of dags/
EXAMPLE_DAGS = Path(__file__).parents[2] / "dags"
_HOME = tempfile.mkdtemp(prefix="ozzy-airflow-home-")
os.environ["AIRFLOW_HOME"] = _HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": "dags-folder",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {},
        },
        {
            "name": "ozzy-example-dags",
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(EXAMPLE_DAGS)},
        },
    ]
)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "INFO"


@pytest.fixture(scope="session")
def airflow_db() -> str:
    airflow = Path(sys.executable).parent / "airflow"
    result = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return _HOME


def load_dag(file_name: str, dag_id: str, folder: Path = DAGS):  # type: ignore[no-untyped-def]
    """Import a DAG file of ``tests/e2e/dags`` (or of ``folder``) and return its DAG."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"e2e_dag_{dag_id}", folder / file_name)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag
