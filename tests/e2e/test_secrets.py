"""No secret from a connection appears in task logs, XComs, rendered fields or Airflow's database.

The export of ``tests/e2e/dags/ozzy_secret.py`` uses a connection's password twice: its writer
resolves ``login_conn_id`` when it opens, and the secret option ``api_key`` is templated from
``{{ conn.ozzy_secret.password }}``; in one variant its AlchemyPersistence also reaches PostgreSQL
through a connection holding the same password (``conn_id``). The password is distinctive (random), and the test first proves
it reached the export (a digest left by the writer), then looks for it everywhere Airflow keeps
what a task did: the task's log output (and any log files under AIRFLOW_HOME/logs), every XCom of
the run, the rendered template fields, and every byte of the metadata database (task state store
included), and the job table of AlchemyPersistence. A failing run is checked too: failures log
error messages and tracebacks.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from tests.e2e.conftest import load_dag
from tests.e2e.connected_modules import PROOF_FILE
from tests.helpers import postgres_connection
from tests.servers.databases import DatabaseServer, postgresql_server  # noqa: F401


def _xcoms_and_rendered_fields(run: Any) -> tuple[list[Any], dict[str, Any] | None]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=run.dag_id)).all()
        xcoms = [XComModel.deserialize_value(row) for row in rows]
        rendered = RenderedTaskInstanceFields.get_templated_fields(
            run.get_task_instance("export", session=session), session=session
        )
    return xcoms, rendered


def _around(text: str, secret: str) -> str:
    at = text.find(secret)
    return "the secret is in the task log: ..." + text[max(0, at - 300) : at + len(secret) + 100] + "..."


def _hits_in_files(folder: Path, secret: bytes) -> list[str]:
    return [str(path) for path in folder.rglob("*") if path.is_file() and secret in path.read_bytes()]


@pytest.fixture
def task_log(capfd: pytest.CaptureFixture[str]) -> Iterator[io.StringIO]:
    """Everything the in-process task logs: stdlib records (formatted by Airflow's handler) and the rest.

    Airflow's root handler keeps the ``sys.stdout`` of the moment logging was configured (in pytest,
    maybe an earlier test's closed capture), so its stream is pointed at a buffer for this test.
    Note that ``dag.test()`` does not mask secrets in task logs as a real worker does: what an Ozzy
    module logs arrives here unmasked, which makes this check stricter than production.
    """
    import airflow.sdk  # noqa: F401 - configures Airflow's logging

    buffer = io.StringIO()
    handlers = [each for each in logging.getLogger().handlers if isinstance(each, logging.StreamHandler)]
    saved = [_swap_stream(each, buffer) for each in handlers]
    capfd.readouterr()
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, saved, strict=True):
            _swap_stream(handler, stream)
        captured = capfd.readouterr()
        buffer.write(captured.out + captured.err)


def _swap_stream(handler: logging.StreamHandler, stream: Any) -> Any:
    """``setStream`` without flushing the old stream (it may be a closed capture file)."""
    with handler.lock or contextlib.nullcontext():
        old, handler.stream = handler.stream, stream
    return old


def _run(monkeypatch: pytest.MonkeyPatch, output: Path, password: str) -> Any:
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(output))
    monkeypatch.setenv(
        "AIRFLOW_CONN_OZZY_SECRET",
        json.dumps({"conn_type": "generic", "host": "vault.example", "login": "ozzy", "password": password}),
    )
    return load_dag("ozzy_secret.py", "ozzy_e2e_secret").test()


def _alchemy_on_postgresql(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, password: str
) -> tuple[sqlalchemy.Engine, str]:
    """AlchemyPersistence on the PostgreSQL server through a connection holding ``password``.

    The server trusts local logins, so the password travels all the way to the server unchecked.
    """
    server: DatabaseServer = request.getfixturevalue("postgresql_server")
    table = f"ozzy_e2e_secret_{secrets.token_hex(5)}"
    connection = postgres_connection(server, password)
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_SECRET_STATE", json.dumps(connection))
    section = {"name": "AlchemyPersistence", "options": {"conn_id": "ozzy_secret_state", "table": table}}
    monkeypatch.setenv("OZZY_E2E_SECRET_PERSISTENCE", json.dumps(section))
    engine = sqlalchemy.create_engine(server.url)

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()

    request.addfinalizer(drop)
    return engine, table


@pytest.mark.parametrize("persistence", ["task-state-store", "alchemy-postgresql"])
@pytest.mark.parametrize("outcome", ["success", "failed"])
def test_a_connection_password_never_reaches_logs_xcoms_rendered_fields_or_the_database(
    airflow_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    capfd: pytest.CaptureFixture[str],
    task_log: io.StringIO,
    outcome: str,
    persistence: str,
) -> None:
    password = f"ozzy-pw-{secrets.token_hex(12)}"
    state_db = None
    if persistence == "alchemy-postgresql":
        state_db = _alchemy_on_postgresql(request, monkeypatch, password)
    else:
        monkeypatch.delenv("OZZY_E2E_SECRET_PERSISTENCE", raising=False)
    if outcome == "failed":
        damaged = tmp_path / "in"
        damaged.mkdir()
        good = b"".join(json.dumps({"id": number}).encode() + b"\n" for number in range(50))
        (damaged / "part-0.jl.gz").write_bytes(gzip.compress(good + b'{"id": 50, "broken\n'))
        monkeypatch.setenv("OZZY_E2E_SECRET_INPUT", str(damaged))
    else:
        monkeypatch.delenv("OZZY_E2E_SECRET_INPUT", raising=False)

    run = _run(monkeypatch, tmp_path / "out", password)
    captured = capfd.readouterr()
    log = task_log.getvalue() + captured.out + captured.err

    # the export really ran with the secret: the writer logged in and left the password's digest
    assert run.state == outcome, log[-3000:]
    proof = (tmp_path / "out" / PROOF_FILE).read_text()
    assert proof == hashlib.sha256(password.encode()).hexdigest()
    assert "logged in to vault.example as ozzy" in log
    if outcome == "success":
        assert "Export stats" in log
    else:
        assert "Ozzy export failed" in log

    xcoms, rendered = _xcoms_and_rendered_fields(run)
    assert rendered is not None
    writer_options = rendered["sections"]["writer"]["options"]
    assert writer_options["login_conn_id"] == "ozzy_secret"
    assert writer_options["api_key"] == "***"  # rendered, then masked by Airflow

    secret = password.encode()
    assert password not in log, _around(log, password)
    assert password not in json.dumps(xcoms, default=str)
    assert password not in json.dumps(rendered, default=str)
    # every file of AIRFLOW_HOME: task log files under logs/ (dag.test() runs tasks in-process and
    # logs to the console, captured above) and every byte of the SQLite metadata DB (journal/WAL
    # included): XComs, rendered fields, task state store, serialized DAGs
    assert _hits_in_files(Path(airflow_db), secret) == []
    # the export's own output and state files
    assert _hits_in_files(tmp_path / "out", secret) == []
    if state_db is not None:  # the job row: configuration and positions, stored without the password
        engine, table = state_db
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text(f"SELECT * FROM {table}")).all()
        assert len(rows) == 1
        assert password not in repr(rows)
