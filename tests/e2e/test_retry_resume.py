"""Airflow retries resume an export from the committed position (task state store by default)."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from tests.e2e.conftest import load_dag
from tests.helpers import output_files, read_json_lines
from tests.servers.databases import DatabaseServer


def _write_parts(folder: Path, repair: Path) -> list[dict]:
    """Three input files of 1,000 items; the third is cut short (a damaged gzip) until repaired."""
    folder.mkdir(parents=True)
    items = [{"id": number, "part": number // 1000} for number in range(3000)]
    for part in range(3):
        data = gzip.compress(
            b"".join(json.dumps(item).encode() + b"\n" for item in items[part * 1000 : (part + 1) * 1000])
        )
        target = repair if part == 2 else folder / f"part-{part}.jl.gz"
        target.write_bytes(data)
    (folder / "part-2.jl.gz").write_bytes(repair.read_bytes()[: len(repair.read_bytes()) // 2])
    return items


def _alchemy_state(
    persistence: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], sqlalchemy.Engine, str]:
    """An AlchemyPersistence section on an Airflow connection (from the environment), a table of its own."""
    table = f"ozzy_e2e_{uuid.uuid4().hex[:10]}"
    if persistence == "postgresql":
        server: DatabaseServer = request.getfixturevalue("postgresql_server")
        conn_id, variable = "ozzy_state_pg", "AIRFLOW_CONN_OZZY_STATE_PG"
        connection = {
            "conn_type": "postgres",
            "host": server.host,
            "port": server.port,
            "login": server.user,
            "schema": server.database,
        }
        engine = sqlalchemy.create_engine(server.url)
    else:
        conn_id, variable = "ozzy_state_sqlite", "AIRFLOW_CONN_OZZY_STATE_SQLITE"
        connection = {"conn_type": "sqlite", "host": str(tmp_path / "state" / "jobs.db")}
        engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'state' / 'jobs.db'}")
    monkeypatch.setenv(variable, json.dumps(connection))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()

    request.addfinalizer(drop)
    section = {"name": "AlchemyPersistence", "options": {"conn_id": conn_id, "table": table}}
    return section, engine, table


def _check_state_rows(engine: sqlalchemy.Engine, table: str, run: Any) -> None:
    """One row, keyed by dag_id/task_id/run_id/map_index, finished, with the final position."""
    with engine.connect() as connection:
        rows = connection.execute(
            sqlalchemy.text(
                f"SELECT id, configuration, last_position, last_committed, job_finished FROM {table}"
            )
        ).all()
    assert [row.id for row in rows] == [f"ozzy_e2e_retry/export/{run.run_id}/-1"]
    row = rows[0]
    assert bool(row.job_finished) is True and row.last_committed is not None
    final = json.loads(row.last_position)
    assert final["finished"] is True
    assert final["read_items"] == 3000 and final["stats"]["items_written"] == 3000
    assert json.loads(row.configuration)["persistence"]["options"]["table"] == table


@pytest.mark.parametrize("persistence", ["airflow", "pickle", "postgresql", "sqlite"])
def test_a_failed_try_is_retried_and_continues_from_the_committed_position(
    airflow_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    persistence: str,
) -> None:
    repair = tmp_path / "repair.jl.gz"
    items = _write_parts(tmp_path / "in", repair)
    monkeypatch.setenv("OZZY_E2E_INPUT", str(tmp_path / "in"))
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("OZZY_E2E_REPAIR_FROM", str(repair))
    engine: sqlalchemy.Engine | None = None
    if persistence == "pickle":
        section = {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}}
        monkeypatch.setenv("OZZY_E2E_PERSISTENCE", json.dumps(section))
    elif persistence in ("postgresql", "sqlite"):
        section, engine, table = _alchemy_state(persistence, request, tmp_path, monkeypatch)
        monkeypatch.setenv("OZZY_E2E_PERSISTENCE", json.dumps(section))
    else:
        monkeypatch.delenv("OZZY_E2E_PERSISTENCE", raising=False)

    run = load_dag("ozzy_retry.py", "ozzy_e2e_retry").test()

    assert run.state == "success"
    export = run.get_task_instance("export")
    assert export.try_number == 2
    written = [
        item for name in output_files(tmp_path / "out") for item in read_json_lines(tmp_path / "out" / name)
    ]
    assert sorted(item["id"] for item in written) == [item["id"] for item in items]
    assert written == items
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["items_read"] == 3000
    assert stats["items_written"] == 3000
    # the retry read only what the first try had not committed: part of part-2, never parts 0 and 1
    assert 0 < stats["items_read_this_run"] <= 1000
    if engine is not None:
        _check_state_rows(engine, table, run)
