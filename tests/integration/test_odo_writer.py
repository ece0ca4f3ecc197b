"""OdoWriter on real databases: PostgreSQL and MariaDB servers started by the suite, and SQLite files.

Every test writes into a table (or PostgreSQL schema) of its own, named uniquely, dropped at the
end; tables are read back with plain SQL, independently of Ozzy. The crash tests ``kill -9`` a real
``ozzy`` process at seeded moments (``tests/crash_harness.py``) and check that every item is in the
table exactly once after the resume.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, UniqueConstraint, inspect, text

from airflow_provider_ozzy.engine.config import validate
from airflow_provider_ozzy.errors import ConfigurationError, WriterError
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.services import sql_columns as cols
from airflow_provider_ozzy.writers.odo_writer import OdoWriter, ledger_name
from tests.crash_harness import CrashHarness, CrashReport, Trigger
from tests.helpers import postgres_connection, run_ozzy, write_config
from tests.servers.databases import DatabaseServer
from tests.servers.process_server import free_port

DATABASES = ["postgresql", "mariadb", "sqlite"]


@dataclass
class Target:
    """A database and a fresh table name in it."""

    name: str
    url: str
    table: str
    engine: sqlalchemy.engine.Engine
    server: DatabaseServer | None

    def rows(self, order: str = "_ozzy_file_id") -> list[dict[str, Any]]:
        return self._select(self.table, order)

    def ledger(self) -> list[dict[str, Any]]:
        """The ledger's rows (one per file written), in file id order."""
        schema, _, name = self.table.rpartition(".")
        return self._select(f"{schema}.{ledger_name(name)}" if schema else ledger_name(name), "file_id")

    def _select(self, table: str, order: str) -> list[dict[str, Any]]:
        quoted = self.engine.dialect.identifier_preparer.quote
        table = ".".join(quoted(part) for part in table.split("."))
        with self.engine.connect() as connection:
            columns = ", ".join(quoted(name.strip()) for name in order.split(","))
            result = connection.execute(text(f"SELECT * FROM {table} ORDER BY {columns}"))
            return [dict(row._mapping) for row in result]

    def file_of_rows(self) -> dict[int, str]:
        """Ledger file key of each file id."""
        return {row["file_id"]: row["file"] for row in self.ledger()}

    def drop(self, table: str) -> None:
        """``table`` and its ledger, when they exist."""
        with self.engine.begin() as connection:
            for name in (table, ledger_name(table)):
                connection.execute(text(f"DROP TABLE IF EXISTS {name}"))

    def columns(self) -> dict[str, str]:
        schema, _, name = self.table.rpartition(".")
        found = inspect(self.engine).get_columns(name, schema=schema or None)
        return {column["name"]: cols.kind_of_type(column["type"]) for column in found}


@pytest.fixture(params=DATABASES)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    name = request.param
    table = f"ozzy_odo_{uuid.uuid4().hex[:12]}"
    server: DatabaseServer | None = None
    if name == "sqlite":
        url = f"sqlite:///{tmp_path / 'odo.db'}"
    else:
        server = request.getfixturevalue(f"{name}_server")
        url = server.url
    engine = sqlalchemy.create_engine(url)
    target = Target(name, url, table, engine, server)
    yield target
    target.drop(table)
    engine.dispose()


def odo_config(target: Target, reader: dict[str, Any], **writer_options: Any) -> dict[str, Any]:
    options = {"url": target.url, "table": target.table, **writer_options}
    return {"reader": reader, "writer": {"name": "OdoWriter", "options": options}}


def random_reader(items: int, batch_size: int) -> dict[str, Any]:
    return {"name": "RandomReader", "options": {"number_of_items": items, "batch_size": batch_size}}


def run_export(config: dict[str, Any], state_dir: Path) -> dict[str, Any]:
    config = dict(config, persistence={"name": "PicklePersistence", "options": {"file_path": str(state_dir)}})
    return BasicExporter(config).export()


def jsonl_reader(path: Path, items: list[dict[str, Any]], batch_size: int = 2) -> dict[str, Any]:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return {"name": "FSReader", "options": {"input": str(path), "batch_size": batch_size}}


# -- volume ------------------------------------------------------------------------------------------
def test_20000_items_into_each_database(target: Target, tmp_path: Path) -> None:
    check_volume(target, tmp_path, 20_000)


@pytest.mark.slow
def test_100000_items_into_each_database(target: Target, tmp_path: Path) -> None:
    check_volume(target, tmp_path, 100_000)


def check_volume(target: Target, tmp_path: Path, total: int) -> None:
    config = odo_config(target, random_reader(total, 5000), items_per_buffer_write=total // 5)
    stats = run_export(config, tmp_path / "state")
    assert stats["finished"] and stats["items_written"] == total and stats["files_written"] == 5
    key = target.engine.dialect.identifier_preparer.quote("key")
    with target.engine.connect() as connection:
        count, distinct, low, high, files = connection.execute(
            text(
                f"SELECT COUNT(*), COUNT(DISTINCT {key}), MIN({key}), MAX({key}), COUNT(DISTINCT _ozzy_file_id) "
                f"FROM {target.table}"
            )
        ).one()
    assert (count, distinct, low, high, files) == (total, total, 0, total - 1, 5)
    ledger = target.ledger()
    assert (
        len({row["job"] for row in ledger}) == 1 and [row["row_count"] for row in ledger] == [total // 5] * 5
    )
    assert target.columns() == {
        "_ozzy_file_id": "int",
        "key": "int",
        "country_code": "text",
        "state": "text",
        "city": "text",
        "value": "float",
    }


# -- kill -9 and resume ---------------------------------------------------------------------------------
CRASH_ITEMS = 4000
CRASH_BATCH = 100
CRASH_FILE = 350  # files end inside batches: resumes re-read items already in the table


class KillProbe:
    """The harness's ``files`` probe, in one of two modes chosen by the plan before each attempt.

    ``transaction``: 1 while a transaction that changes the table is open, so
    ``Trigger("files", 1)`` kills ``ozzy`` inside the transaction that replaces a file's rows.
    ``committed``: files committed to the table since the attempt started, so ``Trigger("files", N)``
    kills just after a file's transaction, often before the position after it is committed.
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.mode = "transaction"
        self.baselines: dict[int, int] = {}
        self.engine = sqlalchemy.create_engine(target.url, poolclass=sqlalchemy.pool.StaticPool)
        if target.name == "postgresql":
            # a transaction that changes the table or its ledger holds a ROW EXCLUSIVE lock on it from
            # its first INSERT to its commit, whichever statement (INSERT, COPY) it last ran
            self.open_sql = (
                "SELECT COUNT(*) FROM pg_locks JOIN pg_class ON pg_locks.relation = pg_class.oid "
                f"WHERE pg_class.relname IN ('{target.table}', '{ledger_name(target.table)}') "
                "AND pg_locks.mode = 'RowExclusiveLock' AND pg_locks.pid <> pg_backend_pid()"
            )
        else:
            self.open_sql = (
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
                f"AND (INFO LIKE 'INSERT INTO {target.table}%' OR INFO LIKE 'DELETE FROM {target.table}%')"
            )

    def _scalar(self, sql: str) -> int:
        try:
            with self.engine.connect() as connection:
                return int(connection.execute(text(sql)).scalar() or 0)
        except sqlalchemy.exc.OperationalError:  # SQLite: the table does not exist yet, or is locked
            return 0

    def __call__(self, since: int) -> int:
        if self.mode == "committed":
            ledger = ledger_name(self.target.table)
            exists = inspect(self.engine).has_table(ledger)
            files = self._scalar(f"SELECT COUNT(*) FROM {ledger}") if exists else 0
            return files - self.baselines.setdefault(since, files)
        if (
            self.target.name == "sqlite"
        ):  # a rollback journal exists exactly while a write transaction is open
            return int(os.path.exists(self.target.url.removeprefix("sqlite:///") + "-journal"))
        return self._scalar(self.open_sql)


def crash_plan(
    rng: random.Random, interruptions: int, batches_left: Callable[[], int], probe: KillProbe
) -> Callable[[int], Trigger | None]:
    """Seeded kill points: inside a file's transaction, just after one, after some commits, or some
    time after the first commit. The first one is always inside a transaction; commit counts stay
    well inside what is left of the job (judged from the committed state)."""

    def plan(index: int) -> Trigger | None:
        if index >= interruptions:
            return None
        kind = "transaction" if index == 0 else rng.choice(("transaction", "committed", "commits", "delay"))
        probe.mode = kind
        if kind == "transaction":
            return Trigger("files", 1)
        if kind == "committed":
            return Trigger("files", rng.randint(1, 2))
        if kind == "commits":
            return Trigger("commits", rng.randint(1, max(1, int(batches_left() * 0.2))))
        return Trigger("delay", round(rng.uniform(0.0, 0.4), 3))

    return plan


def crash_run(
    target: Target, workdir: Path, seed: int, interruptions: int, items: int, batch: int, per_file: int
) -> CrashReport:
    config = odo_config(
        target, random_reader(items, batch), items_per_buffer_write=per_file, insert_batch_size=97
    )
    probe = KillProbe(target)
    harness = CrashHarness(workdir, config, count_written=probe, timeout=300)
    plan = crash_plan(random.Random(seed), interruptions, lambda: harness.batches_left(items // batch), probe)
    try:
        report = harness.run(plan, seed=seed, label=target.name)
    finally:
        probe.engine.dispose()
    assert report.interruptions >= 1, "no kill landed inside the run\n" + report.describe()
    rows = target.rows()
    keys = [row["key"] for row in rows]
    assert len(keys) == items and sorted(keys) == list(range(items)), (
        f"{len(keys)} rows, {len(set(keys))} distinct keys for {items} items\n{report.describe()}"
    )
    ledger = target.ledger()
    assert sorted(row["file"] for row in ledger) == [f"{n:06d}" for n in range(-(-items // per_file))]
    assert len({row["job"] for row in ledger}) == 1
    files = target.file_of_rows()
    by_file = {key: int(files[row["_ozzy_file_id"]]) for row in rows for key in [row["key"]]}
    assert all(by_file[key] == key // per_file for key in keys), (
        "rows in the wrong file\n" + report.describe()
    )
    return report


def test_kill_9_then_resume_leaves_each_row_once(target: Target, tmp_path: Path) -> None:
    """Killed inside a file's transaction, then at a seeded point of the resume, then resumed to the end."""
    seed = {"postgresql": 1, "mariadb": 2, "sqlite": 3}[target.name]
    report = crash_run(target, tmp_path / "job", seed, 2, CRASH_ITEMS, CRASH_BATCH, CRASH_FILE)
    assert report.attempts[0].interrupted and report.attempts[0].trigger == Trigger("files", 1)
    print(report.describe())


def export_then_rewind_to_batch_3(target: Target, tmp_path: Path) -> dict[str, Any]:
    """Exports 2,000 items (20 batches) into ``target``, then takes the job's state back to the
    commit after batch 3, as a crash after the later files' transactions would leave it; returns
    the config to resume with."""
    state_dir = tmp_path / "state"
    config = odo_config(target, random_reader(2000, 100), items_per_buffer_write=130)
    config["exporter_options"] = {"persistence_state_id": "job"}
    config["persistence"] = {"name": "PicklePersistence", "options": {"file_path": str(state_dir)}}
    saved: dict[str, bytes] = {}

    def progress(counters: dict[str, Any]) -> None:
        if counters.get("items_read") == 300 and not saved:
            saved["state"] = (state_dir / "job").read_bytes()

    assert BasicExporter(config, progress=progress).export()["finished"]
    (state_dir / "job").write_bytes(saved["state"])
    return config


def test_resume_from_an_older_commit_replaces_rows_already_written(target: Target, tmp_path: Path) -> None:
    """Files whose transaction committed after the job's last commit are written again on resume.

    A crash can land between a file's transaction and the commit of the position after it; here
    the state file is taken back to the commit after batch 3 of 20, so the resume rewrites 17
    batches of files that are all already in the table: each row must still be there once.
    """
    config = export_then_rewind_to_batch_3(target, tmp_path)
    assert len(target.rows()) == 2000
    resumed = BasicExporter(config, resume=True).export()
    assert resumed["finished"] and resumed["items_read_this_run"] > 1600
    keys = [row["key"] for row in target.rows("key")]
    assert keys == list(range(2000))


def test_resume_skips_files_the_ledger_has_and_rewrites_one_recorded_otherwise(
    target: Target, tmp_path: Path
) -> None:
    """A file in the ledger committed whole: the resume leaves its rows alone (marked here to see
    it) instead of replacing them; a file recorded with other content is replaced."""
    config = export_then_rewind_to_batch_3(target, tmp_path)
    ledger = ledger_name(target.table)
    with target.engine.begin() as connection:
        connection.execute(text(f"UPDATE {target.table} SET state = 'untouched'"))
        connection.execute(text(f"UPDATE {ledger} SET md5 = 'other content' WHERE file = '000010'"))
    assert BasicExporter(config, resume=True).export()["finished"]
    rows = target.rows("key")
    assert [row["key"] for row in rows] == list(range(2000))
    files = target.file_of_rows()
    replaced = {row["key"] for row in rows if row["state"] != "untouched"}
    assert replaced == set(range(1300, 1430))  # file 10 only
    assert {files[row["_ozzy_file_id"]] for row in rows if row["key"] in replaced} == {"000010"}
    assert len(target.ledger()) == 16


def block_inserts(target: Target, connection: sqlalchemy.Connection) -> None:
    """Hold, in ``connection``'s open transaction, a lock that makes inserts into the (empty) data
    table wait (not those into its ledger)."""
    if target.name == "postgresql":
        connection.execute(text(f"LOCK TABLE {target.table} IN SHARE MODE"))
    else:  # InnoDB: a locking read of an empty table locks the gap where rows would go
        connection.execute(text(f"SELECT * FROM {target.table} FOR UPDATE"))


def waiting_on_locks(target: Target) -> int:
    """Transactions of this table or its ledger waiting for a lock (MariaDB: inserting, which they
    only do this long while they wait)."""
    if target.name == "postgresql":
        sql = (
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            f"AND query LIKE '%{target.table}%'"
        )
    else:  # INNODB_TRX may miss a transaction waiting in its first statement: statements in progress
        sql = (
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'Update' "
            f"AND INFO LIKE 'INSERT INTO {target.table}%'"
        )
    with target.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar() or 0)


@pytest.mark.parametrize("target", ["postgresql", "mariadb"], indirect=True)
def test_two_writers_of_one_file_at_once_leave_it_once(target: Target) -> None:
    """Two resumes of one job writing the same file at the same moment: the first one's ledger row
    makes the second wait; once the first commits, the second finds the file there and skips it.
    Both finish without error and the file's rows are in the table once."""
    items = [{"id": number} for number in range(3)]
    writers = []
    for _ in range(2):
        writer = OdoWriter({"url": target.url, "table": target.table, "schema": {"id": "int"}})
        writer.bind_job("one-job")
        writer.open(JsonExportFormatter({}), None)
        writers.append(writer)
    failures: list[BaseException] = []

    def write(writer: OdoWriter) -> None:
        try:
            writer.write_batch({(): items}, 0)
            writer.flush()
        except BaseException as error:  # reported by the test thread
            failures.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in writers]
    blocker = target.engine.connect()
    try:
        with blocker.begin():
            block_inserts(target, blocker)
            for waiting, thread in enumerate(threads, 1):
                thread.start()
                deadline = time.monotonic() + 30
                while waiting_on_locks(target) < waiting:
                    assert time.monotonic() < deadline, f"writer {waiting} never waited for a lock"
                    time.sleep(0.05)
        for thread in threads:
            thread.join(60)
    finally:
        blocker.close()
        for writer in writers:
            writer.close()
    assert not failures, failures
    assert sorted(row["id"] for row in target.rows()) == [0, 1, 2]
    assert [(row["job"], row["file"], row["row_count"]) for row in target.ledger()] == [
        ("one-job", "000000", 3)
    ]


def test_a_table_made_before_the_ledger_keeps_its_layout(target: Target, tmp_path: Path) -> None:
    """Tables of earlier versions (text key columns under a unique key, no ledger) still take
    exports: new columns are added, a second run of the job replaces its rows, no ledger appears."""
    Table(
        target.table,
        MetaData(),
        Column("_ozzy_job", String(191), nullable=False),
        Column("_ozzy_file", String(191), nullable=False),
        Column("_ozzy_row", Integer, nullable=False),
        Column("key", BigInteger, nullable=True),
        UniqueConstraint("_ozzy_job", "_ozzy_file", "_ozzy_row", name=f"{target.table}_ozzy_key"),
        mysql_charset="utf8mb4",
    ).create(target.engine)
    config = odo_config(target, random_reader(500, 100), items_per_buffer_write=130)
    config["exporter_options"] = {"persistence_state_id": "old-layout"}
    run_export(config, tmp_path / "state1")
    run_export(config, tmp_path / "state2")
    rows = target.rows("_ozzy_file, _ozzy_row")
    assert [row["key"] for row in rows] == list(range(500))
    assert {row["_ozzy_job"] for row in rows} == {"old-layout"}
    assert [row["_ozzy_row"] for row in rows[:3]] == [0, 1, 2]
    assert not inspect(target.engine).has_table(ledger_name(target.table))
    assert set(target.columns()) == {
        "_ozzy_job",
        "_ozzy_file",
        "_ozzy_row",
        "key",
        "country_code",
        "state",
        "city",
        "value",
    }


@pytest.mark.slow
def test_kill_9_stress_twenty_points(target: Target, tmp_path: Path) -> None:
    """20 seeded kill points across one job of 80,000 items (the bulk path finishes 40,000 in fewer)."""
    report = crash_run(target, tmp_path / "job", 20, 20, 80_000, 200, 1300)
    assert report.interruptions >= 20, report.describe()
    print(report.describe())


# -- schema: declared, inferred, flattened ----------------------------------------------------------------
ITEMS = [
    {"id": 1, "flag": True, "name": "a", "address": {"city": "Cork", "zip": 7}, "tags": ["x"]},
    {"id": 2, "flag": False, "name": "b", "address": {"city": "Lyon"}, "extra": 5},
    {"id": 3, "flag": None, "name": None, "address": {"city": "Kyiv", "zip": 9}, "tags": []},
]


def test_declared_schema_makes_the_columns(target: Target, tmp_path: Path) -> None:
    schema = {"id": "integer", "name": "text", "address": "json", "score": "float"}
    config = odo_config(target, jsonl_reader(tmp_path / "in.jl", ITEMS), schema=schema)
    run_export(config, tmp_path / "state")
    kinds = target.columns()
    assert {name: kinds[name] for name in schema} == {
        "id": "int",
        "name": "text",
        "address": "text",
        "score": "float",
    }
    assert "flag" not in kinds and "extra" not in kinds  # not declared: not stored
    rows = target.rows("id")
    assert [row["id"] for row in rows] == [1, 2, 3]
    assert [json.loads(row["address"]) for row in rows] == [item["address"] for item in ITEMS]
    assert [row["score"] for row in rows] == [None, None, None]


def test_declared_json_schema_with_flatten(target: Target, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "flag": {"type": ["boolean", "null"]},
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
            },
        },
    }
    config = odo_config(
        target, jsonl_reader(tmp_path / "in.jl", ITEMS), schema=schema, flatten=True, flatten_separator="_"
    )
    run_export(config, tmp_path / "state")
    kinds = target.columns()
    assert {k: v for k, v in kinds.items() if not k.startswith("_ozzy")} == {
        "id": "int",
        "flag": "bool",
        "address_city": "text",
        "address_zip": "int",
    }
    rows = target.rows("id")
    assert [(row["address_city"], row["address_zip"]) for row in rows] == [
        ("Cork", 7),
        ("Lyon", None),
        ("Kyiv", 9),
    ]
    assert [None if row["flag"] is None else bool(row["flag"]) for row in rows] == [True, False, None]


def test_inferred_schema_flattens_and_widens(target: Target, tmp_path: Path) -> None:
    items = [
        {"i": 0, "n": 1, "b": True, "deep": {"x": {"y": 1}}},
        {"i": 1, "n": 2, "b": False},
        {"i": 2, "n": 2.5, "b": 3, "new": "later"},  # a second file: n widens to float, b to int, new column
        {"i": 3, "n": "text", "b": 4},  # a third file: n widens to text
    ]
    config = odo_config(
        target, jsonl_reader(tmp_path / "in.jl", items), items_per_buffer_write=2, flatten=True
    )
    run_export(config, tmp_path / "state")
    kinds = target.columns()
    assert kinds["deep.x.y"] == "int" and kinds["new"] == "text"
    if target.name != "sqlite":  # SQLite columns keep any value: its types never change
        assert kinds["n"] == "text" and kinds["b"] == "int"
    rows = target.rows("i")
    assert [str(row["n"]) for row in rows] == ["1", "2", "2.5", "text"]
    assert [int(row["b"]) for row in rows] == [1, 0, 3, 4]
    assert [row["new"] for row in rows] == [None, None, "later", None]


def test_nested_values_are_json_text_without_flatten(target: Target, tmp_path: Path) -> None:
    config = odo_config(target, jsonl_reader(tmp_path / "in.jl", ITEMS))
    run_export(config, tmp_path / "state")
    rows = target.rows("id")
    assert [json.loads(row["address"]) for row in rows] == [item["address"] for item in ITEMS]
    assert [None if row["tags"] is None else json.loads(row["tags"]) for row in rows] == [["x"], None, []]
    assert [row["extra"] for row in rows] == [None, 5, None]


def test_rerunning_a_finished_file_replaces_its_rows(target: Target, tmp_path: Path) -> None:
    """Two runs of the same job id (state removed in between) leave one copy of each row."""
    config = odo_config(target, jsonl_reader(tmp_path / "in.jl", ITEMS, batch_size=10))
    config["exporter_options"] = {"persistence_state_id": "same-job"}
    run_export(config, tmp_path / "state1")
    run_export(config, tmp_path / "state2")
    assert [row["id"] for row in target.rows("id")] == [1, 2, 3]


# -- the bulk paths (COPY on PostgreSQL, executemany elsewhere) carry any value exactly -----------------
HOSTILE_TEXTS = [
    "",
    "\\N",  # COPY's own NULL marker, as text
    "\\",
    "tab\there",
    "line\nbreak\r\nand carriage",
    "back\\slash\\t not a tab",
    '"quoted", with, commas',
    "%s %(name)s %% ?",  # placeholders of the executemany drivers
    "Ünïcödé ✓ 𝄞 😀",
    "\\.",  # COPY's end-of-data marker
    "first\n\\.\nlast",  # ... on a line of its own inside a value
    "True",
    "NULL",
    "x" * 300_000,
]


def test_hostile_text_values_round_trip_exactly(target: Target, tmp_path: Path) -> None:
    items = [
        {"id": index, "text": value, "maybe": None if index % 2 else value, "big": 2**63 - 1 - index}
        for index, value in enumerate(HOSTILE_TEXTS)
    ]
    items.append({"id": len(items), "text": None, "maybe": "", "big": -(2**63)})
    run_export(odo_config(target, jsonl_reader(tmp_path / "in.jl", items, batch_size=3)), tmp_path / "state")
    rows = target.rows("id")
    assert [{key: row[key] for key in items[0]} for row in rows] == items


@pytest.mark.parametrize("target", ["mariadb"], indirect=True)
def test_hostile_texts_on_a_server_without_backslash_escapes(target: Target, tmp_path: Path) -> None:
    """In NO_BACKSLASH_ESCAPES mode a backslash is a plain character: the INSERT literals double
    quotes only (as PyMySQL does), so texts still come back exactly."""
    mode = urllib.parse.quote("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
    url = f"{target.url}?init_command={mode}"
    items = [{"id": index, "text": value} for index, value in enumerate([*HOSTILE_TEXTS, "it's", "a\\'b"])]
    config = odo_config(target, jsonl_reader(tmp_path / "in.jl", items, batch_size=3), url=url)
    run_export(config, tmp_path / "state")
    assert [{key: row[key] for key in items[0]} for row in target.rows("id")] == items


def test_a_column_named_with_placeholder_characters(target: Target, tmp_path: Path) -> None:
    items = [{"100% sure?": index, "a\tb": f"v{index}"} for index in range(5)]
    run_export(odo_config(target, jsonl_reader(tmp_path / "in.jl", items)), tmp_path / "state")
    rows = target.rows("a\tb")
    assert [{key: row[key] for key in items[0]} for row in rows] == items


# any character but NUL (PostgreSQL cannot store it) and lone surrogates (not UTF-8)
STORABLE_CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.fixed_dictionaries(
            {
                "text": st.text(alphabet=STORABLE_CHARACTERS, max_size=40),
                "number": st.floats(allow_nan=False, allow_infinity=False),
                "count": st.integers(min_value=-(2**63), max_value=2**63 - 1),
                "flag": st.booleans(),
                "maybe": st.one_of(st.none(), st.text(alphabet=STORABLE_CHARACTERS, max_size=5)),
            }
        ),
        min_size=1,
        max_size=40,
    )
)
def test_generated_values_round_trip_exactly(
    target: Target, tmp_path: Path, values: list[dict[str, Any]]
) -> None:
    """Any text (but NUL, which PostgreSQL cannot store), float, 64-bit integer and bool comes back
    as it went in, whichever bulk path carried it."""
    run = tmp_path / uuid.uuid4().hex
    run.mkdir()
    table = f"ozzy_odo_{uuid.uuid4().hex[:12]}"
    items = [dict(value, id=index) for index, value in enumerate(values)]
    config = odo_config(target, jsonl_reader(run / "in.jl", items, batch_size=7), items_per_buffer_write=13)
    config["writer"]["options"]["table"] = table
    try:
        run_export(config, run / "state")
        rows = dataclasses.replace(target, table=table).rows("id")
        assert [{key: row[key] for key in items[0]} for row in rows] == [
            dict(item, flag=int(item["flag"]) if target.name != "postgresql" else item["flag"])
            for item in items
        ]
    finally:
        target.drop(table)


def test_a_value_the_database_refuses_leaves_none_of_its_file(target: Target, tmp_path: Path) -> None:
    """The file's rows go in one transaction: a refused row mid-file leaves no row of that file,
    and the error is one line naming the table."""
    schema = {"id": "integer", "when": "text"}
    with target.engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE TABLE {target.table} (_ozzy_job VARCHAR(191) NOT NULL, "
                f"_ozzy_file VARCHAR(191) NOT NULL, _ozzy_row INTEGER NOT NULL, id BIGINT, "
                f"{target.engine.dialect.identifier_preparer.quote('when')} DATE, "
                f"UNIQUE (_ozzy_job, _ozzy_file, _ozzy_row))"
            )
        )
    items = [
        {"id": 1, "when": "2026-01-02"},
        {"id": 2, "when": "not a date"},
        {"id": 3, "when": "2026-01-04"},
    ]
    config = odo_config(target, jsonl_reader(tmp_path / "in.jl", items, batch_size=10), schema=schema)
    if target.name == "sqlite":
        pytest.skip("SQLite stores any value in a DATE column")
    with pytest.raises(WriterError) as caught:
        run_export(config, tmp_path / "state")
    message = str(caught.value)
    assert "\n" not in message and target.table in message, message
    assert target.rows("id") == []


def test_a_nul_character_is_refused_naming_the_item_and_column_or_stored(
    target: Target, tmp_path: Path
) -> None:
    """PostgreSQL text cannot hold NUL: the file is refused before its transaction, in one line naming
    the file, the item and the column; MariaDB and SQLite store it as it is."""
    items = [{"id": 1, "name": "plain"}, {"id": 2, "name": "nul\x00inside", "nested": {"a": "\x00"}}]
    config = odo_config(target, jsonl_reader(tmp_path / "in.jl", items, batch_size=10))
    if target.name != "postgresql":
        run_export(config, tmp_path / "state")
        assert [row["name"] for row in target.rows("id")] == ["plain", "nul\x00inside"]
        return
    with pytest.raises(WriterError) as caught:
        run_export(config, tmp_path / "state")
    message = str(caught.value)
    assert "\n" not in message and target.table in message, message
    assert "item 2" in message and "column 'name'" in message and "NUL" in message, message
    assert not inspect(target.engine).has_table(target.table) or target.rows("id") == []


# -- errors -------------------------------------------------------------------------------------------
def test_bad_url_and_options_fail_validation(tmp_path: Path) -> None:
    reader = random_reader(10, 10)
    cases = [
        ({"url": "not a url at all", "table": "t"}, "option 'url' is not a SQLAlchemy URL"),
        ({"url": "nosuchdb://u:pw@h/db", "table": "t"}, "option 'url': unknown database dialect"),
        ({"table": "t"}, "exactly one of 'sql_conn_id'"),
        ({"url": "sqlite:///x.db"}, "missing option 'table'"),
        ({"url": "sqlite:///x.db", "table": "t", "schema": {"a": "money"}}, "option 'schema': column 'a'"),
        ({"odo_uri": "postgresql://u:pw@h/db::a", "table": "b"}, "differs from the table of 'odo_uri'"),
    ]
    for options, expected in cases:
        with pytest.raises(ConfigurationError) as caught:
            validate({"reader": reader, "writer": {"name": "OdoWriter", "options": options}})
        message = str(caught.value)
        assert "OdoWriter" in message and expected in message, message
        assert "pw" not in message


def test_unreachable_database_names_module_option_host_and_table(tmp_path: Path) -> None:
    port = free_port()
    config = {
        "reader": random_reader(10, 10),
        "writer": {
            "name": "OdoWriter",
            "options": {"url": f"postgresql://ozzy:s3cr3tPW@127.0.0.1:{port}/test", "table": "items"},
        },
    }
    with pytest.raises(WriterError) as caught:
        run_export(config, tmp_path / "state")
    message = str(caught.value)
    for part in ("OdoWriter", "option 'url'", f"127.0.0.1:{port}", "'items'"):
        assert part in message, message
    assert "s3cr3tPW" not in message


def test_wrong_password_never_shown(mariadb_server: DatabaseServer, tmp_path: Path) -> None:
    url = f"mysql+pymysql://root:Wr0ngP%40ss@{mariadb_server.host}:{mariadb_server.port}/test"
    config = {
        "reader": random_reader(10, 10),
        "writer": {"name": "OdoWriter", "options": {"url": url, "table": "t1"}},
    }
    result = run_ozzy("run", str(write_config(tmp_path / "c.json", config)), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    output = result.stdout + result.stderr
    assert (
        "OdoWriter" in output and "option 'url'" in output and "127.0.0.1:3306" in output and "'t1'" in output
    )
    assert "Access denied" in output, output[-2000:]
    assert "Wr0ngP" not in output


def test_existing_table_without_key_columns_is_refused(target: Target, tmp_path: Path) -> None:
    with target.engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {target.table} (id INTEGER)"))
    with pytest.raises(WriterError, match="exists without the column _ozzy_file_id that makes resumes exact"):
        run_export(odo_config(target, random_reader(10, 10)), tmp_path / "state")


# -- Airflow connection and legacy odo_uri --------------------------------------------------------------
def test_airflow_connection_from_environment(
    postgresql_server: DatabaseServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``sql_conn_id`` resolved by Airflow (``BaseHook.get_connection``) from an ``AIRFLOW_CONN_*`` variable."""
    table = f"ozzy_odo_{uuid.uuid4().hex[:12]}"
    connection = postgres_connection(postgresql_server, "unused-by-trust")
    config = {
        "reader": random_reader(2500, 500),
        "writer": {"name": "OdoWriter", "options": {"sql_conn_id": "ozzy_odo_pg", "table": table}},
    }
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_ODO_PG", json.dumps(connection))
    engine = sqlalchemy.create_engine(postgresql_server.url)
    try:
        stats = run_export(config, tmp_path / "state")
        assert stats["items_written"] == 2500
        assert "unused-by-trust" not in caplog.text + json.dumps(stats)
        with engine.connect() as db:
            assert db.execute(text(f"SELECT COUNT(DISTINCT key) FROM {table}")).scalar() == 2500
    finally:
        with engine.begin() as db:
            db.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


def test_missing_airflow_connection_is_a_clear_error(tmp_path: Path) -> None:
    config = {
        "reader": random_reader(10, 10),
        "writer": {"name": "OdoWriter", "options": {"sql_conn_id": "ozzy_no_such_conn", "table": "t"}},
    }
    expected = (
        "OdoWriter: cannot get Airflow connection 'ozzy_no_such_conn' (option 'sql_conn_id') for table 't'"
    )
    with pytest.raises(WriterError) as caught:
        run_export(config, tmp_path / "state")
    assert expected in str(caught.value)


def test_legacy_odo_uri_and_module_path_into_a_postgresql_schema(
    postgresql_server: DatabaseServer, tmp_path: Path
) -> None:
    schema = f"ozzy_odo_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(postgresql_server.url)
    with engine.begin() as db:
        db.execute(text(f"CREATE SCHEMA {schema}"))
    uri = postgresql_server.url.replace("postgresql+psycopg2", "postgresql") + f"::{schema}.items"
    config = {
        "reader": random_reader(300, 100),
        "writer": {"name": "exporters.contrib.writers.odo_writer.ODOWriter", "options": {"odo_uri": uri}},
    }
    try:
        stats = run_export(config, tmp_path / "state")
        assert stats["items_written"] == 300
        with engine.connect() as db:
            assert db.execute(text(f"SELECT COUNT(*) FROM {schema}.items")).scalar() == 300
        columns = {column["name"] for column in inspect(engine).get_columns("items", schema=schema)}
        assert {
            "city.name",
            "city.district",
        } <= columns and "city" not in columns  # flattened, as exporters did
    finally:
        with engine.begin() as db:
            db.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def test_grouped_items_share_the_table(target: Target, tmp_path: Path) -> None:
    config = odo_config(target, random_reader(3000, 500), items_per_buffer_write=400)
    config["grouper"] = {"name": "FileKeyGrouper", "options": {"keys": ["country_code"]}}
    stats = run_export(config, tmp_path / "state")
    rows = target.rows()
    assert sorted(row["key"] for row in rows) == list(range(3000))
    files = target.file_of_rows()
    assert all(files[row["_ozzy_file_id"]].startswith(row["country_code"] + "/") for row in rows)
    assert len({row["_ozzy_file_id"] for row in rows}) == len(files) == stats["files_written"]


def test_check_consistency_counts_rows(target: Target, tmp_path: Path) -> None:
    config = odo_config(target, random_reader(1000, 250), items_per_buffer_write=300, check_consistency=True)
    stats = run_export(config, tmp_path / "state")
    assert stats["finished"] and stats["files_written"] == 4
    assert len(target.rows()) == 1000
