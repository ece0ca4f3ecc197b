"""End-to-end tests through Airflow's ``dag.test()`` on a throw-away AIRFLOW_HOME (SQLite).

The environment is set when this file is imported, before any Airflow import, and the metadata DB
is migrated once per session. DAG files live in ``tests/e2e/dags`` (``dag.test()`` needs the DAG
inside a configured DAG bundle); the example DAGs of ``dags/`` are a second bundle.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
AIRFLOW = Path(sys.executable).parent / "airflow"
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


def _migrate(home: Path) -> None:
    """``airflow db migrate`` of the SQLite metadata DB in ``home`` (15 s of CPU or more)."""
    result = subprocess.run(
        [str(AIRFLOW), "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "AIRFLOW_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """This process's AIRFLOW_HOME with a migrated, empty metadata DB.

    Under pytest-xdist the first worker migrates a template in the run's own base temp folder
    (shared by the workers of this run only, never by another run) and every worker copies it: one
    migration per run instead of one per worker. The fresh DB holds nothing of its home (only the
    schema, the log templates and the default pool), so a copy is what a migration in place gives.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        _migrate(Path(_HOME))
        return _HOME
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "airflow-db-template"
    with FileLock(f"{shared}.lock"):
        if not (shared / "migrated").exists():
            shared.mkdir(exist_ok=True)
            _migrate(shared)
            (shared / "migrated").touch()  # the template is whole: a later worker only copies it
    shutil.copyfile(shared / "airflow.db", Path(_HOME) / "airflow.db")
    import airflow.configuration  # noqa: F401  (writes this home's airflow.cfg, as a migration in place does)

    return _HOME


def load_dag(file_name: str, dag_id: str, folder: Path = DAGS):  # type: ignore[no-untyped-def]
    """Import a DAG file of ``tests/e2e/dags`` (or of ``folder``) and return its DAG."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"e2e_dag_{dag_id}", folder / file_name)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def start_supervised_dags_test(dag_id: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``airflow dags test DAG_ID --use-executor`` in a child process, its output into ``log``.

    The supervised executor runs each try in a task process of its own (as a worker does), so a
    test can kill it; ``env`` is added to this process's environment.
    """
    full_env = {
        **os.environ,
        "AIRFLOW__CORE__EXECUTOR": "tests.e2e.supervised_executor.SupervisedInProcessAPIExecutor",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        # the supervisor notices a finished task process at its next heartbeat (5 s by default)
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **env,
    }
    with open(log, "wb") as log_file:
        return subprocess.Popen(
            [str(AIRFLOW), "dags", "test", dag_id, "--use-executor"],
            cwd=ROOT,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def wait_for(
    what: str, check: Callable[[], Any], process: subprocess.Popen[bytes], log: Path, timeout: float
) -> Any:
    """Poll ``check`` until it returns something true; fail (with the log's end) if ``process``
    exits first or ``timeout`` seconds pass. "database is locked" while the run writes is retried."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except Exception as error:
            if "locked" not in str(error):
                raise
            found = None
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(
                f"airflow dags test exited ({process.returncode}) before {what}:\n{log.read_text()[-6000:]}"
            )
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-6000:]}")
        time.sleep(0.02)
