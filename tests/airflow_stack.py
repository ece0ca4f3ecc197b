"""A real Airflow 3 deployment on this machine: scheduler, dag-processor and api-server processes.

LocalExecutor, PostgreSQL metadata DB (a database of its own, ``ozzy_airflow_<random>``, dropped at
the end), an isolated AIRFLOW_HOME, free ports, SimpleAuthManager with one admin user whose
password is generated. Each component runs in its own process group, so ``stop()`` ends it with
every child (task supervisors and task processes). Used by the sharded e2e test, the UI test, the
benchmark and ``scripts/sharded-e2e.sh``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.servers.process_server import free_port

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _admin_sql(statement: str, parameters: tuple[Any, ...] = ()) -> Any:
    """Runs ``statement`` on the server's ``postgres`` database; its first row, if it returns rows."""
    import psycopg2

    connection = psycopg2.connect(dbname="postgres", connect_timeout=10, **PG)  # type: ignore[arg-type]
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, parameters or None)  # none: a % in the statement stays as it is
            return cursor.fetchone() if cursor.description else None
    finally:
        connection.close()


class AirflowStack:
    """Start with ``start()`` (or as a context manager); ``stop()`` kills everything and drops the DB."""

    def __init__(
        self,
        dags_folder: Path,
        parallelism: int = 2,
        extra_env: dict[str, str] | None = None,
        home: Path | None = None,
        host: str = "127.0.0.1",
        database_address: tuple[str, int] | None = None,
    ) -> None:
        self.home = home or Path(tempfile.mkdtemp(prefix="ozzy-airflow-stack-"))
        self.dags_folder = dags_folder
        self.database = f"ozzy_airflow_{secrets.token_hex(4)}"
        # host / database_address: where other hosts reach the api-server and PostgreSQL (Celery workers)
        self.host = host
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        db_host, db_port = database_address or (PG["host"], PG["port"])
        self.user, self.password = "ozzy", secrets.token_urlsafe(12)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._token: str | None = None
        self._db_created = False
        inherited = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        self.env = dict(
            inherited,
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM=str(parallelism),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__UNIT_TEST_MODE="False",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{self.url}/execution/",
            AIRFLOW__CORE__AUTH_MANAGER=(
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{self.user}:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(self.home / "passwords.json"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=(
                f"postgresql+psycopg2://{PG['user']}@{db_host}:{db_port}/{self.database}"
            ),
            # Airflow's async engine needs asyncpg, which is not installed; nothing used here needs it
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="",
            AIRFLOW__API__PORT=str(self.port),
            AIRFLOW__API__HOST=host,
            AIRFLOW__API__BASE_URL=self.url,
            AIRFLOW__API__SECRET_KEY=secrets.token_hex(16),
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="30",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        self.env.update(extra_env or {})  # may replace a default (the executor, for one)

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self, timeout: float = 600) -> AirflowStack:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({self.user: self.password}))
        _admin_sql(f'CREATE DATABASE "{self.database}" TEMPLATE "{migrated_template(timeout)}"')
        self._db_created = True
        # the home's airflow.cfg, written before the components start (each would write it if missing)
        _airflow(["-c", "import airflow.configuration"], self.env, timeout, python=True)
        for name, command in (
            ("api-server", [AIRFLOW, "api-server", "--port", str(self.port), "--host", self.host]),
            ("scheduler", [AIRFLOW, "scheduler"]),
            ("dag-processor", [AIRFLOW, "dag-processor"]),
        ):
            self.launch(name, command)
        self.wait_for(self._api_ready, timeout, "the api-server to answer")
        return self

    def launch(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        """Starts one more component in its own process group; ``stop()`` ends it with the others."""
        log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            command, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Ends every process group (SIGTERM, then SIGKILL) and drops the database."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)  # task processes left in the group
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self._db_created:
            for _ in range(10):
                try:
                    _admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
                    self._db_created = False
                    break
                except Exception:
                    time.sleep(1)

    def cleanup_home(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    @contextmanager
    def kept_until_done(self) -> Iterator[AirflowStack]:
        """The stack for the block; its components' logs printed when the block fails, then stopped
        and its home removed whatever happened."""
        try:
            yield self
        except BaseException:
            print(self.logs())
            raise
        finally:
            self.stop()
            self.cleanup_home()

    def logs(self, tail: int = 4000) -> str:
        """The components' logs (tails), for failure messages."""
        parts = []
        for name in self.processes:
            text = (self.home / f"{name}.log").read_text(errors="replace")
            parts.append(f"===== {name} (exit {self.processes[name].poll()}) =====\n{text[-tail:]}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        dead = {
            name: process.poll() for name, process in self.processes.items() if process.poll() is not None
        }
        if dead:
            raise RuntimeError(f"Airflow component(s) exited: {dead}\n{self.logs()}")

    def wait_for(self, condition: Any, timeout: float, what: str, interval: float = 2.0) -> Any:
        """Poll until ``condition`` is true. An API call that times out or drops its connection
        counts as "not yet": on a loaded machine the api-server can stall for a minute (seen in CI),
        and the run it reports on goes on meanwhile."""
        deadline = time.monotonic() + timeout
        stalled: list[str] = []
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                value = condition()
            except (TimeoutError, ConnectionError, urllib.error.URLError) as error:
                if isinstance(error, urllib.error.HTTPError):
                    raise
                stalled.append(f"{type(error).__name__}: {error}")
                value = None
            if value:
                return value
            time.sleep(interval)
        raise TimeoutError(f"waited {timeout:.0f}s for {what} (API stalls: {stalled[-3:]})\n{self.logs()}")

    # -- REST API -----------------------------------------------------------------------------------
    def _api_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def token(self) -> str:
        if self._token is None:
            body = json.dumps({"username": self.user, "password": self.password}).encode()
            request = urllib.request.Request(
                f"{self.url}/auth/token", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                self._token = json.loads(response.read())["access_token"]
        return self._token

    def api(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        attempts = 3 if method == "GET" else 1  # reads are safe to repeat after a stalled api-server
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return json.loads(response.read() or b"null")
            except (TimeoutError, ConnectionError) as error:
                if attempt == attempts - 1:
                    raise
                print(f"AirflowStack: {method} {path} failed ({error}); asking again")
        raise AssertionError("unreachable")

    def wait_for_dag(self, dag_id: str, timeout: float = 600) -> None:
        def parsed() -> bool:
            try:
                self.api("GET", f"/dags/{dag_id}")
                return True
            except urllib.error.HTTPError:
                return False

        self.wait_for(parsed, timeout, f"DAG {dag_id} to be parsed")

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 900) -> str:
        def finished() -> str | None:
            state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            return state if state in ("success", "failed") else None

        return str(self.wait_for(finished, timeout, f"run {run_id} of {dag_id} to finish"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(
            self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000")["task_instances"]
        )

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries"
        return list(self.api("GET", path)["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self.api("GET", f"{path}?map_index={map_index}&deserialize=true")["value"]


def migrated_template(timeout: float = 600) -> str:
    """A PostgreSQL database holding the metadata schema of the installed Airflow, migrated once.

    ``airflow db migrate`` costs 16 s of CPU; a stack's database is a copy of this one (``CREATE
    DATABASE ... TEMPLATE``, 0.15 s): the suite starts a dozen stacks on two cores. The name holds
    the Airflow version and a hash of the lock file, so another Airflow gets its own template. It is
    migrated under a temporary name and renamed when whole (two processes racing both migrate; one
    rename wins, the other drops its copy). Nothing ever connects to it, as a template requires.
    """
    import hashlib
    from importlib.metadata import version

    lock = (ROOT / "requirements.lock").read_bytes() if (ROOT / "requirements.lock").exists() else b""
    key = hashlib.sha256(version("apache-airflow-core").encode() + lock).hexdigest()[:12]
    name = f"ozzy_airflow_template_{key}"
    if _database_exists(name):
        return name
    building = f"{name}_building_{secrets.token_hex(4)}"
    _admin_sql(f'CREATE DATABASE "{building}"')
    home = Path(tempfile.mkdtemp(prefix="ozzy-airflow-template-"))
    try:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{building}",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="",
        )
        _airflow(["db", "migrate"], env, timeout)
        _admin_sql(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    except Exception:
        if not _database_exists(name):
            raise
    finally:
        _admin_sql(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        shutil.rmtree(home, ignore_errors=True)
    return name


def _database_exists(name: str) -> bool:
    return _admin_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)) is not None


def _airflow(arguments: list[str], env: dict[str, str], timeout: float, python: bool = False) -> None:
    """Runs ``airflow ARGUMENTS`` (or ``python ARGUMENTS``) to the end; fails with its output's end."""
    command = [sys.executable if python else AIRFLOW, *arguments]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
