"""A resume decides exactly as the first run did, and a job state file is data, never code.

Real ``ozzy run``/``ozzy resume`` processes, killed with SIGKILL (or paused with SIGSTOP) after a few
commits; the output files, SQL rows and dead-letter files are read back independently of Ozzy.

* the deciding config (reader, filters, transform, grouper, writer naming and format, formatter) must
  not change between a first run and its resume: a changed grouper is refused in one line naming
  section, module and option; a changed log level or retry option is not;
* a job id that is not a safe file name is the same job id after ``ozzy resume pickle:PATH``
  (OdoWriter replaces the first try's rows, ``dead_letter_file: bad-{job_id}.jl`` is found again);
* two resumes of one job at once: the second is refused (PicklePersistence, AlchemyPersistence on
  SQLite, PostgreSQL and MariaDB);
* a crafted pickle in the state folder runs nothing; state files are JSON.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import pickle
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from sqlalchemy import text

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.persistence.airflow_persistence import AirflowPersistence
from tests.helpers import OZZY, output_files, read_json_lines, run_ozzy, write_config, write_json_lines_gz

INPUT_FILES = 3
ITEMS_PER_FILE = 2000
TOTAL = INPUT_FILES * ITEMS_PER_FILE
COUNTRIES = ["es", "uk", "us", "fr"]
KINDS = ["alpha", "beta", "gamma"]


def make_input(folder: Path, bad_lines: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(INPUT_FILES):
        first = part * ITEMS_PER_FILE
        items = [
            {"id": n, "country": COUNTRIES[n % 4], "kind": KINDS[(n // 4) % 3], "name": f"item {n}"}
            for n in range(first, first + ITEMS_PER_FILE)
        ]
        path = write_json_lines_gz(folder / f"part-{part}.jl.gz", items)
        if bad_lines:  # two unreadable lines per file, for the dead-letter file
            import gzip

            lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
            lines.insert(10, b'{"broken": \n')
            lines.insert(1500, b"not json at all\n")
            path.write_bytes(gzip.compress(b"".join(lines)))
    return folder


def fs_config(
    input_dir: Path, job_id: str, group_key: str = "country", batch_size: int = 50
) -> dict[str, Any]:
    return {
        "reader": {
            "name": "FSReader",
            "options": {"input": {"dir": str(input_dir)}, "batch_size": batch_size},
        },
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": [group_key]}},
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/{groups[0]}/part_", "items_per_buffer_write": 120},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
        "exporter_options": {"persistence_state_id": job_id},
    }


def state_token(folder: Path) -> Any:
    """Changes on every commit of any job in a PicklePersistence folder (each commit is a rename)."""
    if not folder.is_dir():
        return None
    return tuple(
        sorted(
            (entry.name, entry.inode(), entry.stat().st_mtime_ns)
            for entry in os.scandir(folder)
            if not entry.name.startswith(".") and entry.is_file()
        )
    )


def start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([*OZZY, *args], cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)


def wait_for_commits(
    process: subprocess.Popen[bytes], token: Callable[[], Any], commits: int, timeout: float = 120
) -> None:
    """Return once ``commits`` commits were seen (the process is still running)."""
    last, seen, deadline = token(), 0, time.monotonic() + timeout
    while seen < commits:
        assert process.poll() is None, f"ozzy ended (exit {process.returncode}) before {commits} commits"
        assert time.monotonic() < deadline, "ozzy committed too slowly"
        now = token()
        if now != last:
            seen, last = seen + 1, now
        time.sleep(0.002)


def run_and_kill(args: list[str], cwd: Path, token: Callable[[], Any], commits: int = 4) -> None:
    process = start(args, cwd, cwd / f"killed-{uuid.uuid4().hex[:6]}.log")
    try:
        wait_for_commits(process, token, commits)
    finally:
        process.kill()
        process.wait()


def killed_first_run(
    tmp_path: Path,
    job_id: str,
    persistence: dict[str, Any] | None = None,
    token: Callable[[], Any] | None = None,
    batch_size: int = 50,
) -> dict[str, Any]:
    """The input and ``job.json`` in ``tmp_path``, and a first run of it killed after some commits.

    ``token`` tells commits apart (default: the PicklePersistence folder ``state``); returns the config.
    """
    make_input(tmp_path / "in")
    config = fs_config(tmp_path / "in", job_id, batch_size=batch_size)
    if persistence is not None:
        config["persistence"] = persistence
    write_config(tmp_path / "job.json", config)
    run_and_kill(["run", "job.json", "--quiet"], tmp_path, token or (lambda: state_token(tmp_path / "state")))
    return config


def fs_output_ids(out: Path) -> collections.Counter[int]:
    ids: collections.Counter[int] = collections.Counter()
    for name in output_files(out):
        ids.update(item["id"] for item in read_json_lines(out / name))
    return ids


def assert_each_input_item_once(ids: collections.Counter[int]) -> None:
    doubles = sorted(n for n, count in ids.items() if count > 1)
    missing = sorted(set(range(TOTAL)) - set(ids))
    assert not doubles and not missing, f"{len(doubles)} duplicates, {len(missing)} missing"


def only_state_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert len(files) == 1, files
    return files[0]


# -- 1. the deciding config must not change ------------------------------------------------------------
def test_resume_with_other_grouper_keys_is_refused_and_the_original_resume_is_exact(tmp_path: Path) -> None:
    killed_first_run(tmp_path, "daily")

    changed = fs_config(tmp_path / "in", "daily", group_key="kind")
    changed["exporter_options"]["resume"] = True
    write_config(tmp_path / "changed.json", changed)
    refused = run_ozzy("run", "changed.json", "--quiet", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr[-3000:]
    message = [line for line in refused.stderr.splitlines() if line.startswith("ozzy:")]
    assert len(message) == 1, refused.stderr[-3000:]
    for word in ("grouper", "FileKeyGrouper", "keys", "daily"):
        assert word in message[0], message[0]

    # what does not decide the output may change: log level, retries
    same = fs_config(tmp_path / "in", "daily")
    same["exporter_options"].update(resume=True, log_level="DEBUG", disable_retries=True)
    write_config(tmp_path / "same.json", same)
    resumed = run_ozzy("run", "same.json", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_each_input_item_once(fs_output_ids(tmp_path / "out"))
    assert {p.split("/")[0] for p in output_files(tmp_path / "out")} == set(COUNTRIES)


def test_resume_with_another_writer_filebase_or_formatter_is_refused(tmp_path: Path) -> None:
    killed_first_run(tmp_path, "j2")
    for section, change, words in (
        ("writer", {"items_per_buffer_write": 500}, ("writer", "FSWriter", "items_per_buffer_write")),
        ("formatter", None, ("formatter", "CSVExportFormatter")),
    ):
        config = fs_config(tmp_path / "in", "j2")
        config["exporter_options"]["resume"] = True
        if section == "writer":
            config["writer"]["options"].update(change)
        else:
            config["exporter_options"]["formatter"] = {
                "name": "CSVExportFormatter",
                "options": {"fields": ["id"]},
            }
        write_config(tmp_path / "changed.json", config)
        refused = run_ozzy("run", "changed.json", "--quiet", cwd=tmp_path)
        assert refused.returncode == 2, refused.stderr[-3000:]
        line = next(line for line in refused.stderr.splitlines() if line.startswith("ozzy:"))
        assert all(word in line for word in words), line


class TaskStateStore:
    """Stands in for Airflow's task state store (get/set/delete of JSON values), not Ozzy code."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return json.loads(json.dumps(self.values.get(key)))

    def set(self, key: str, value: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


def test_the_operators_auto_resume_refuses_a_changed_grouper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's path: AirflowPersistence and ``auto_resume``; a retry with other keys is refused."""
    make_input(tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    store = TaskStateStore()
    first = BasicExporter(
        fs_config(tmp_path / "in", "dag/task/run/-1"), persistence=AirflowPersistence(store=store)
    )
    batches = []

    def stop_after_five(counters: dict[str, Any]) -> None:
        batches.append(1)
        if len(batches) == 5:
            first.request_stop()

    first.progress = stop_after_five
    assert first.export()["finished"] is False
    changed = BasicExporter(
        fs_config(tmp_path / "in", "dag/task/run/-1", group_key="kind"),
        persistence=AirflowPersistence(store=store),
        auto_resume=True,
    )
    with pytest.raises(ConfigurationError) as refused:
        changed.export()
    assert "grouper" in str(refused.value) and "keys" in str(refused.value)
    assert "\n" not in str(refused.value)
    again = BasicExporter(
        fs_config(tmp_path / "in", "dag/task/run/-1"),
        persistence=AirflowPersistence(store=store),
        auto_resume=True,
    )
    assert again.export()["finished"] is True
    assert_each_input_item_once(fs_output_ids(tmp_path / "out"))


# -- 2. one job id everywhere ------------------------------------------------------------------------
def test_a_job_id_with_a_colon_is_the_same_job_id_on_resume(tmp_path: Path) -> None:
    """OdoWriter keys its rows by job id; the dead-letter file is named after it."""
    make_input(tmp_path / "in", bad_lines=True)
    database = tmp_path / "odo.db"
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "in")}, "batch_size": 50}},
        "writer": {
            "name": "OdoWriter",
            "options": {"url": f"sqlite:///{database}", "table": "orders", "items_per_buffer_write": 120},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
        "exporter_options": {
            "persistence_state_id": "orders:2026-01-01",
            "dead_letter_file": "bad-{job_id}.jl",
        },
    }
    write_config(tmp_path / "job.json", config)
    run_and_kill(
        ["run", "job.json", "--quiet"], tmp_path, lambda: state_token(tmp_path / "state"), commits=12
    )
    state_file = only_state_file(tmp_path / "state")
    resumed = run_ozzy("resume", f"pickle:state/{state_file.name}", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["job_id"] == "orders:2026-01-01"
    engine = sqlalchemy.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        ids = collections.Counter(row[0] for row in connection.execute(text("SELECT id FROM orders")))
    engine.dispose()
    assert_each_input_item_once(ids)
    assert sorted(p.name for p in tmp_path.glob("bad-*")) == ["bad-orders:2026-01-01.jl"]
    bad = (tmp_path / "bad-orders:2026-01-01.jl").read_text().splitlines()
    assert len(bad) == 2 * INPUT_FILES


def test_two_job_ids_never_share_a_state_file(tmp_path: Path) -> None:
    """``a:b`` is stored under a cleaned, hashed name; a job named like that name is another job."""
    make_input(tmp_path / "in")
    write_config(tmp_path / "a.json", fs_config(tmp_path / "in", "a:b"))
    assert run_ozzy("run", "a.json", "--quiet", cwd=tmp_path).returncode == 0
    cleaned = only_state_file(tmp_path / "state").name
    config = fs_config(tmp_path / "in", cleaned)
    config["writer"]["options"]["filebase"] = "out2/{groups[0]}/part_"
    write_config(tmp_path / "b.json", config)
    second = run_ozzy("run", "b.json", "--quiet", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert len([p for p in (tmp_path / "state").iterdir() if not p.name.startswith(".")]) == 2
    assert_each_input_item_once(fs_output_ids(tmp_path / "out2"))


# -- 3. one runner per job -----------------------------------------------------------------------------
def check_second_resume_refused(
    tmp_path: Path,
    uri: str,
    token: Callable[[], Any],
    job_id: str,
    between_commits: Callable[[], bool] = lambda: True,
) -> None:
    """Pause one resume after a commit, start another: it must be refused; the first then finishes.

    ``between_commits``: whether the paused process holds no database write lock (SQLite).
    """
    first = start(["resume", uri, "--quiet"], tmp_path, tmp_path / "first.log")
    try:
        wait_for_commits(first, token, 2)
        first.send_signal(signal.SIGSTOP)
        while not between_commits():  # paused inside a commit: let it finish that one
            first.send_signal(signal.SIGCONT)
            wait_for_commits(first, token, 1)
            first.send_signal(signal.SIGSTOP)
        second = run_ozzy("resume", uri, "--quiet", cwd=tmp_path, timeout=60)
        first.send_signal(signal.SIGCONT)
        assert second.returncode in (1, 2), second.stderr[-3000:]
        lines = [line for line in second.stderr.splitlines() if line.startswith("ozzy:")]
        assert len(lines) == 1 and job_id in lines[0] and "running" in lines[0], second.stderr[-3000:]
        assert first.wait(timeout=120) == 0, (tmp_path / "first.log").read_text()[-3000:]
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
            first.wait()
    assert_each_input_item_once(fs_output_ids(tmp_path / "out"))


# small batches for the two-resumes tests: the first resume commits 1,200 times, so it is still
# running when the test has seen its commits and paused it (with 50, a resume of the SQLite job
# finished in well under a second and, on a loaded machine, before the test saw two commits)
RACE_BATCH = 5


def test_two_resumes_of_one_pickle_job_at_once(tmp_path: Path) -> None:
    token = lambda: state_token(tmp_path / "state")  # noqa: E731
    killed_first_run(tmp_path, "twice", token=token, batch_size=RACE_BATCH)
    check_second_resume_refused(tmp_path, "pickle:state/twice", token, "twice")


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(SQLAlchemy URL to read it, persistence section, resume URI of job ``db:job/1``)."""
    table = f"ozzy_job_{uuid.uuid4().hex[:10]}"
    job = "db:job/1"
    if request.param == "sqlite":
        path = tmp_path / "state" / "jobs.db"
        url = f"sqlite:///{path}"
        uri = f"sqlite://{path}:db%3Ajob/1?table={table}"
    else:
        server = request.getfixturevalue(f"{request.param}_server")
        url = server.url
        scheme = "postgresql" if request.param == "postgresql" else "mysql"
        uri = f"{scheme}://{server.user}@{server.host}:{server.port}/{server.database}/{job}?table={table}"
    yield url, {"name": "AlchemyPersistence", "options": {"url": url, "table": table}}, uri
    engine = sqlalchemy.create_engine(url)
    if request.param != "sqlite" or (tmp_path / "state" / "jobs.db").exists():
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def alchemy_token(url: str, table: str) -> Callable[[], Any]:
    engine = sqlalchemy.create_engine(url)

    def token() -> Any:
        try:
            with engine.connect() as connection:
                return connection.execute(text(f"SELECT last_committed FROM {table}")).scalar()
        except sqlalchemy.exc.SQLAlchemyError:
            return None

    return token


def test_two_resumes_of_one_database_job_at_once(
    tmp_path: Path, database: tuple[str, dict[str, Any], str]
) -> None:
    url, section, uri = database
    token = alchemy_token(url, section["options"]["table"])
    killed_first_run(tmp_path, "db:job/1", section, token, batch_size=RACE_BATCH)

    def between_commits() -> bool:
        if not url.startswith("sqlite"):
            return True
        engine = sqlalchemy.create_engine(url, connect_args={"timeout": 0})
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                connection.exec_driver_sql("ROLLBACK")
            return True
        except sqlalchemy.exc.OperationalError:
            return False
        finally:
            engine.dispose()

    check_second_resume_refused(tmp_path, uri, token, "db:job/1", between_commits)


def test_a_database_resume_with_a_changed_grouper_is_refused(
    tmp_path: Path, database: tuple[str, dict[str, Any], str]
) -> None:
    url, section, _ = database
    config = killed_first_run(tmp_path, "db:job/1", section, alchemy_token(url, section["options"]["table"]))
    config["grouper"]["options"]["keys"] = ["kind"]
    config["exporter_options"]["resume"] = True
    write_config(tmp_path / "changed.json", config)
    refused = run_ozzy("run", "changed.json", "--quiet", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "grouper" in refused.stderr and "keys" in refused.stderr
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(
            text(f"SELECT configuration, last_position FROM {section['options']['table']}")
        ).one()
    engine.dispose()
    assert json.loads(stored[0])["grouper"]["options"]["keys"] == ["country"]  # not overwritten
    assert isinstance(json.loads(stored[1]), dict)  # JSON, never a pickle


# -- 4. state files are data ---------------------------------------------------------------------------
class Crafted:
    """Unpickling this creates the marker file: what a hostile state file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def test_a_crafted_pickle_state_file_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "evil").write_bytes(pickle.dumps({"format": "ozzy-pickle-1", "x": Crafted(marker)}))
    refused = run_ozzy("resume", "pickle:state/evil", cwd=tmp_path)
    assert refused.returncode in (1, 2) and not marker.exists(), refused.stderr[-3000:]
    assert "OZZY_ALLOW_PICKLE_STATE" in refused.stderr  # says how to read a genuine old one
    # even when old pickles are allowed, nothing but plain data is unpickled
    allowed = run_ozzy("resume", "pickle:state/evil", cwd=tmp_path, env={"OZZY_ALLOW_PICKLE_STATE": "1"})
    assert allowed.returncode in (1, 2) and not marker.exists(), allowed.stderr[-3000:]


def test_state_files_are_json_and_old_ozzy_pickles_resume_only_when_allowed(tmp_path: Path) -> None:
    killed_first_run(tmp_path, "old")
    path = tmp_path / "state" / "old"
    record = json.loads(path.read_bytes())  # JSON
    assert record["persistence_state_id"] == "old" and "reader" in record["state"]
    # the same record as an Ozzy pickle of before (format ozzy-pickle-1)
    legacy = dict(record, format="ozzy-pickle-1")
    legacy.pop("deciding_config", None)
    path.write_bytes(pickle.dumps(legacy, protocol=pickle.HIGHEST_PROTOCOL))
    refused = run_ozzy("resume", "pickle:state/old", "--quiet", cwd=tmp_path)
    assert refused.returncode == 1 and "OZZY_ALLOW_PICKLE_STATE" in refused.stderr, refused.stderr[-3000:]
    allowed = run_ozzy(
        "resume", "pickle:state/old", "--quiet", cwd=tmp_path, env={"OZZY_ALLOW_PICKLE_STATE": "1"}
    )
    assert allowed.returncode == 0, allowed.stderr[-3000:]
    assert json.loads(path.read_bytes())["state"]["finished"] is True  # rewritten as JSON
    assert_each_input_item_once(fs_output_ids(tmp_path / "out"))


def test_alchemy_rows_are_json(tmp_path: Path) -> None:
    database = tmp_path / "jobs.db"
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 200, "batch_size": 50}},
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "part_")}},
        "persistence": {"name": "SqlitePersistence", "options": {"database": str(database)}},
        "exporter_options": {"persistence_state_id": "rows"},
    }
    assert BasicExporter(config).export()["finished"]
    engine = sqlalchemy.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        configuration, position = connection.execute(
            text("SELECT configuration, last_position FROM ozzy_job")
        ).one()
    engine.dispose()
    for value in (configuration, position):
        assert isinstance(json.loads(value), dict)
        assert not value.startswith(base64.b64encode(b"\x80").decode()[:2])
