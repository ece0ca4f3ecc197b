"""Secrets inside URLs (a webhook's path token, a ``?token=`` query value) in options that no name
marks as secret never reach task logs, XComs, rendered fields, the task state store or any table of
Airflow's metadata database, though the export really used them (the webhook server saw them).
Ozzy gives them to Airflow's secrets masker when the task renders its config."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

import pytest

from tests.e2e.conftest import load_dag
from tests.e2e.test_secrets import _around, _hits_in_files, _xcoms_and_rendered_fields, task_log  # noqa: F401
from tests.servers.http_server import RecordingHTTPServer


def test_url_secrets_of_a_dag_config_never_reach_airflow(
    airflow_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_server: RecordingHTTPServer,
    capfd: pytest.CaptureFixture[str],
    task_log: io.StringIO,  # noqa: F811
) -> None:
    http_server.reset()
    path_token = f"xoxbPathTok{secrets.token_hex(10)}"
    query_token = f"QueryTok{secrets.token_hex(10)}"
    endpoints = [
        f"{http_server.url}/services/T0001AB/B0002CD/{path_token}",
        f"{http_server.url}/hook?channel=ops&token={query_token}",
    ]
    monkeypatch.setenv("OZZY_E2E_WEBHOOK_ENDPOINTS", json.dumps(endpoints))
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out"))
    run = load_dag("ozzy_secret_urls.py", "ozzy_e2e_secret_urls").test()
    captured = capfd.readouterr()
    log = task_log.getvalue() + captured.out + captured.err
    assert run.state == "success", log[-3000:]
    # the export used both secrets: the server saw the full URLs
    paths = [request.path for request in http_server.requests()]
    assert any(path_token in path for path in paths), paths
    assert any(query_token in path for path in paths), paths

    xcoms, rendered = _xcoms_and_rendered_fields(run)
    for secret in (path_token, query_token):
        assert secret not in log, _around(log, secret)
        assert secret not in json.dumps(xcoms, default=str)
        assert secret not in json.dumps(rendered, default=str), rendered
        # every table but the DAG's own definition: a secret written in a DAG file is in the file,
        # so in Airflow's copy of its code (dag_code) and of its operators (serialized_dag), for
        # every operator; DAGs should take secrets from connections (``{{ conn.x.password }}``)
        assert _tables_holding(airflow_db, secret, but=("serialized_dag", "dag_code")) == []
        assert _hits_in_files(tmp_path / "out", secret.encode()) == []


def _tables_holding(airflow_db: str, secret: str, but: tuple[str, ...] = ()) -> list[str]:
    """Rows of the metadata DB (every table but ``but``) that hold ``secret``."""
    import sqlite3

    found = []
    with sqlite3.connect(Path(airflow_db) / "airflow.db") as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in (name for name in tables if name not in but):
            for row in connection.execute(f"SELECT * FROM {table}"):  # noqa: S608 - test code
                if secret in repr(row) or secret.encode() in repr(row).encode():
                    found.append(f"{table}: {repr(row)[:300]}")
    return found
