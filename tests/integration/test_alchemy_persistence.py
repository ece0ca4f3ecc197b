"""AlchemyPersistence on real databases: PostgreSQL and MariaDB servers, and SQLite files.

For each database an FS -> FS export keeps its state in a table of its own (a fresh table name per
test). The real ``ozzy`` process is killed with SIGKILL in the middle of the run
(``tests/crash_harness.py``); ``ozzy resume <database URI>`` must then finish with exactly the input,
each item once, and a second resume must only say the job is already finished. The table is read
back with plain SQL, independently of Ozzy. Wrong passwords and unreachable servers must fail with a
clear message that never shows the password.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import text

from airflow_provider_ozzy.engine.config import validate
from airflow_provider_ozzy.errors import ConfigurationError
from tests.crash_harness import CrashHarness, CrashReport, JobStateAccess, Trigger, check_exact_output
from tests.helpers import (
    last_json_line,
    output_files,
    read_json_lines,
    run_ozzy,
    run_ozzy_listing_imports,
    write_config,
    write_json_lines_gz,
)
from tests.servers.databases import DatabaseServer
from tests.servers.process_server import free_port

INPUT_FILES = 3
ITEMS_PER_INPUT_FILE = 3000
TOTAL_ITEMS = INPUT_FILES * ITEMS_PER_INPUT_FILE
ITEMS_PER_FILE = 120
TOTAL_FILES = -(-TOTAL_ITEMS // ITEMS_PER_FILE)
BATCH_SIZE = 50
JOB_ID = "nightly/export:1"  # '/' and ':' must survive the resume URI
JOB_IN_URI = {"sqlite": "nightly/export%3A1", "postgresql": "nightly/export:1", "mysql": "nightly/export:1"}


@dataclass
class Backend:
    """One state database as the test sees it: how Ozzy is configured, and a direct SQL engine."""

    name: str
    section: dict[str, Any]  # the config's persistence section
    uri: str  # the resume URI Ozzy must print and accept (without password)
    engine: sqlalchemy.Engine
    table: str
    exists: Callable[[], bool]  # the database (file) exists; connecting to a missing SQLite file creates it
    password: str = ""  # in the configuration; must appear nowhere else

    def rows(self) -> list[dict[str, Any]]:
        if not self.exists() or not sqlalchemy.inspect(self.engine).has_table(self.table):
            return []
        with self.engine.connect() as connection:
            result = connection.execute(
                text(
                    f"SELECT id, configuration, last_position, last_committed, job_finished FROM {self.table}"
                )
            )
            return [dict(row._mapping) for row in result]

    def row(self) -> dict[str, Any] | None:
        return next((row for row in self.rows() if row["id"] == JOB_ID), None)

    def committed_state(self) -> dict[str, Any] | None:
        row = self.row()
        return json.loads(row["last_position"]) if row and row["last_position"] else None

    def commit_token(self) -> Any:
        row = self.row()
        return row["last_committed"] if row else None

    def access(self) -> JobStateAccess:
        return JobStateAccess(
            self.section, self.uri, lambda: self.row() is not None, self.committed_state, self.commit_token
        )


@pytest.fixture(params=["postgresql", "mariadb", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A state database with a table name of its own; the table is dropped afterwards."""
    table = f"ozzy_job_{uuid.uuid4().hex[:10]}"
    workdir = tmp_path / "job"
    if request.param == "sqlite":
        path = workdir / "state" / "jobs.db"
        section = {
            "name": "SqlitePersistence",
            "options": {"database": "state/jobs.db", "table": table},  # relative to the job's folder
        }
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        backend = Backend(
            "sqlite",
            section,
            f"sqlite://{path}:{JOB_IN_URI['sqlite']}?table={table}",
            engine,
            table,
            path.exists,
        )
    elif request.param == "postgresql":
        server: DatabaseServer = request.getfixturevalue("postgresql_server")
        # trust authentication: the password is not checked, but must never be shown or stored
        password = "Pg-" + secrets.token_hex(8)
        url = server.url.replace(f"{server.user}@", f"{server.user}:{password}@")
        section = {"name": "AlchemyPersistence", "options": {"url": url, "table": table}}
        uri = f"postgresql://{server.user}@{server.host}:{server.port}/{server.database}/{JOB_IN_URI['postgresql']}"
        engine = sqlalchemy.create_engine(server.url)
        backend = Backend(
            "postgresql", section, f"{uri}?table={table}", engine, table, lambda: True, password
        )
    else:
        server = request.getfixturevalue("mariadb_server")
        section = {
            "name": "exporters.persistence.alchemy_persistence.MysqlPersistence",
            "options": {
                "user": server.user,
                "host": server.host,
                "port": server.port,
                "database": server.database,
                "table": table,
            },
        }
        uri = f"mysql://{server.user}@{server.host}:{server.port}/{server.database}/{JOB_IN_URI['mysql']}"
        engine = sqlalchemy.create_engine(server.url)
        backend = Backend("mysql", section, f"{uri}?table={table}", engine, table, lambda: True)
    yield backend
    if backend.exists():
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


@pytest.fixture(scope="module")
def input_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("alchemy-input")
    for part in range(INPUT_FILES):
        first = part * ITEMS_PER_INPUT_FILE
        items = [
            {"id": number, "name": f"item {number}"} for number in range(first, first + ITEMS_PER_INPUT_FILE)
        ]
        write_json_lines_gz(folder / f"part-{part}.jl.gz", items)
    return folder


def export_config(input_dir: Path) -> dict[str, Any]:
    return {
        "reader": {
            "name": "FSReader",
            "options": {"input": {"dir": str(input_dir)}, "batch_size": BATCH_SIZE},
        },
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/part_", "items_per_buffer_write": ITEMS_PER_FILE},
        },
    }


def test_kill_9_then_resume_from_the_database_uri_gives_exactly_the_input(
    backend: Backend, tmp_path: Path, input_dir: Path
) -> None:
    buffers = tmp_path / "buffers"
    buffers.mkdir()
    harness = CrashHarness(
        tmp_path / "job",
        export_config(input_dir),
        state_id=JOB_ID,
        env={"TMPDIR": str(buffers)},
        state=backend.access(),
    )
    # the SQLite run also sees the commits through its table (SQLite locks while the harness polls)
    trigger = Trigger("commits", 5) if backend.name == "sqlite" else Trigger("files", TOTAL_FILES // 3)
    killed = harness.attempt(trigger)
    report = CrashReport(None, f"alchemy-{backend.name}", [killed])
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert killed.interrupted and killed.returncode == -9, "the kill did not land inside the run" + context
    state = backend.committed_state()
    assert state is not None and not state.get("finished"), "no mid-run position in the database" + context
    assert 0 < state["read_items"] < TOTAL_ITEMS, context

    resumed = harness.attempt(None)
    report.attempts.append(resumed)
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert resumed.command[-3:] == ["resume", backend.uri, "--quiet"], context
    assert resumed.returncode == 0, context
    expected = {"part_.jl.gz": list(range(TOTAL_ITEMS))}
    problems = check_exact_output(
        harness.output,
        expected,
        lambda path: [item["id"] for item in read_json_lines(path)],
        items_per_file=ITEMS_PER_FILE,
    )
    assert not problems, "destination is not exactly the input:\n  " + "\n  ".join(problems) + context
    stats = last_json_line(resumed.log.read_text())
    assert stats["resume_uri"] == backend.uri
    assert (stats["items_written"], stats["files_written"]) == (TOTAL_ITEMS, TOTAL_FILES)
    assert 0 < stats["items_read_this_run"] < TOTAL_ITEMS, "the resume started from the beginning" + context

    print(report.describe())
    # the table: one row for the job, finished, holding the configuration and the final position
    rows = backend.rows()
    assert [row["id"] for row in rows] == [JOB_ID]
    row = rows[0]
    assert bool(row["job_finished"]) is True
    stored = json.dumps(harness.config)
    if backend.password:
        stored = stored.replace(f":{backend.password}@", "@")
    assert json.loads(row["configuration"]) == json.loads(stored), "the stored configuration differs"
    final = json.loads(row["last_position"])
    assert final["finished"] is True and final["stats"]["items_written"] == TOTAL_ITEMS
    assert final["read_items"] == TOTAL_ITEMS
    assert row["last_committed"] is not None

    # resuming the finished job does nothing
    before = {name: (harness.output / name).read_bytes() for name in output_files(harness.output)}
    again = run_ozzy("resume", backend.uri, "--quiet", cwd=harness.workdir)
    assert again.returncode == 0, again.stderr
    assert "already finished" in again.stderr
    assert last_json_line(again.stdout)["already_finished"] is True
    assert {name: (harness.output / name).read_bytes() for name in output_files(harness.output)} == before
    assert backend.rows() == rows, "resuming a finished job changed its row"

    # `ozzy run` does not start a job id that exists; it names the URI to resume it with
    rerun = run_ozzy("run", harness.config_path.name, "--quiet", cwd=harness.workdir)
    assert rerun.returncode == 1
    assert "already exists" in rerun.stderr and backend.uri in rerun.stderr
    unknown = run_ozzy(
        "resume", backend.uri.replace(JOB_IN_URI[backend.name], "no-such-job"), cwd=harness.workdir
    )
    assert unknown.returncode == 1
    assert f"no job 'no-such-job' in table '{backend.table}'" in unknown.stderr, unknown.stderr
    assert backend.rows() == rows
    if backend.password:
        for log in [attempt.log.read_text() for attempt in report.attempts] + [again.stderr, rerun.stderr]:
            assert backend.password not in log, "the password appears in ozzy's output"
        assert backend.password not in json.dumps(rows, default=str), "the password is stored"


def _job_folder(tmp_path: Path, persistence: dict[str, Any]) -> Path:
    folder = tmp_path / "job"
    write_json_lines_gz(folder / "in" / "items.jl.gz", [{"id": number} for number in range(10)])
    write_config(
        folder / "config.json",
        {
            "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
            "writer": {"name": "FSWriter", "options": {"filebase": "out/part_"}},
            "persistence": persistence,
        },
    )
    return folder


def test_a_wrong_mariadb_password_is_a_clear_error_without_the_password(
    mariadb_server: DatabaseServer,
    tmp_path: Path,
) -> None:
    password = "Wr0ng-" + secrets.token_hex(8)
    server = mariadb_server
    options = {"user": server.user, "password": password, "host": server.host, "port": server.port}
    folder = _job_folder(
        tmp_path, {"name": "MysqlPersistence", "options": dict(options, database=server.database)}
    )
    ran = run_ozzy("run", "config.json", cwd=folder)
    uri = f"mysql://{server.user}:{password}@{server.host}:{server.port}/{server.database}/job1"
    resumed = run_ozzy("resume", uri, cwd=folder)
    # no password in the URI: it comes from OZZY_DB_PASSWORD
    from_env = run_ozzy(
        "resume", uri.replace(f":{password}@", "@"), cwd=folder, env={"OZZY_DB_PASSWORD": password}
    )
    for result in (ran, resumed, from_env):
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert "Access denied" in result.stderr and "check the password" in result.stderr, output
        assert f"{server.host}:{server.port}/{server.database}" in result.stderr, output
        assert password not in output
        assert "Traceback" not in output
    assert not (folder / "out").exists()


def test_an_unreachable_postgresql_server_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    password = "S3cret-" + secrets.token_hex(8)
    port = free_port()
    folder = _job_folder(
        tmp_path,
        {
            "name": "AlchemyPersistence",
            "options": {"url": f"postgresql://ozzy:{password}@127.0.0.1:{port}/test"},
        },
    )
    ran = run_ozzy("run", "config.json", cwd=folder)
    resumed = run_ozzy("resume", f"postgresql://ozzy:{password}@127.0.0.1:{port}/test/job1", cwd=folder)
    for result in (ran, resumed):
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        assert f"127.0.0.1:{port}" in result.stderr and "refused" in result.stderr, output
        assert password not in output


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        (
            "AlchemyPersistence",
            {"url": "postgresql://u:{password}@h/db", "conn_id": "ozzy_state"},
            "give either 'url' or 'conn_id' for the state database, not both",
        ),
        (
            "AlchemyPersistence",
            {"password": "{password}"},
            "give the state database as 'conn_id' (an Airflow connection) or as 'url'",
        ),
        ("AlchemyPersistence", {"url": "postgresql://u:{password}@h:notaport/db"}, "is not a SQLAlchemy URL"),
        ("AlchemyPersistence", {"url": "oracle://u:{password}@h/db"}, "unsupported database 'oracle'"),
        (
            "PostgresqlPersistence",
            {"url": "mysql://u:{password}@h/db"},
            "PostgresqlPersistence needs postgresql",
        ),
        ("MysqlPersistence", {"user": "root", "password": "{password}"}, "missing option 'database'"),
        ("SqlitePersistence", {"url": "sqlite://"}, "in-memory SQLite database cannot keep job state"),
        ("AlchemyPersistence", {"url": "sqlite:///s.db", "table": "jobs; drop"}, "must be a plain SQL name"),
    ],
    ids=["both", "neither", "bad-url", "oracle", "wrong-dialect", "no-database", "memory", "table"],
)
def test_validation_rejects_bad_database_options_without_showing_the_password(
    name: str, options: dict[str, str], message: str
) -> None:
    """Checked without network access, as at DAG parse time."""
    password = "P4ss-" + secrets.token_hex(8)
    options = {key: value.format(password=password) for key, value in options.items()}
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/part_"}},
        "persistence": {"name": name, "options": options},
    }
    with pytest.raises(ConfigurationError) as raised:
        validate(config)
    assert message in str(raised.value)
    assert password not in str(raised.value)


def test_a_sqlite_job_needs_no_airflow_import(tmp_path: Path) -> None:
    """The CLI with a ``url`` stays Airflow-free (importing Airflow costs seconds)."""
    folder = _job_folder(tmp_path, {"name": "AlchemyPersistence", "options": {"url": "sqlite:///state.db"}})
    result = run_ozzy_listing_imports(folder, timeout=60)
    assert "EXIT 0 IMPORTED []" in result.stdout, result.stdout + result.stderr
    assert (folder / "state.db").exists()
