"""OdoWriter against the loops a user would write to load the same items, same database, one run.

    .venv/bin/python benchmarks/bench_odo_writer.py [--n 100000] [--repeat 5] [--databases sqlite,postgresql,mariadb]

The items are RandomReader's (5 fields, one nested object), made by the reader in every case.
Cases, in this process, in interleaved rounds (median shown):

- **ozzy**: ``BasicExporter`` RandomReader -> OdoWriter (inferred table, a transaction per 10,000
  rows recording the file in the ledger table), PicklePersistence committing every batch;
- **copy** (PostgreSQL): psycopg2, each batch of 10,000 written by ``csv.writer`` into a buffer and
  loaded with ``COPY ... FROM STDIN (FORMAT csv)``, a commit per batch;
- **copy_keyed** (PostgreSQL): the copy loop plus what exactly-once costs in the database:
  a ledger row per batch (unique by job and file) and the file id column on every row;
- **execute_values** (PostgreSQL): psycopg2's ``execute_values``, pages of 1,000, a commit per batch;
- **executemany** (MariaDB: PyMySQL, which sends multi-row INSERTs; SQLite: sqlite3): the
  driver's ``executemany`` with tuples, a commit per batch;
- **sqlalchemy**: ``connection.execute(table.insert(), rows)`` in pages of 1,000.

The loops create a table of the same columns, without Ozzy's file id column or ledger. Every
case's row count is checked after it ran. Shown: median seconds, rows/s, and ozzy's ratio to each
loop (loop seconds / ozzy seconds: 1.0 is as fast as the loop).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg2
import psycopg2.extras
import pymysql
import sqlalchemy
from sqlalchemy import BigInteger, Column, Double, MetaData, Table, Text, text

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.readers.random_reader import RandomReader
from airflow_provider_ozzy.writers.odo_writer import ledger_name

URLS = {
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}
COLUMNS = ["key", "country_code", "state", "city", "value"]
DDL = "CREATE TABLE {table} (key BIGINT, country_code TEXT, state TEXT, city TEXT, value DOUBLE PRECISION)"
BATCH = 10_000


def batches(n: int) -> Iterator[list[tuple[Any, ...]]]:
    """The reader's items as rows, nested objects as JSON text: what every loop inserts."""
    reader = RandomReader({"number_of_items": n, "batch_size": BATCH})
    reader.open(None)
    while not reader.is_finished():
        yield [
            (
                item["key"],
                item["country_code"],
                item["state"],
                orjson.dumps(item["city"]).decode(),
                item["value"],
            )
            for item in reader.get_next_batch()
        ]


def ozzy_case(url: str, n: int, work: Path, table: str) -> None:
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": n, "batch_size": BATCH}},
        "writer": {"name": "OdoWriter", "options": {"url": url, "table": table}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(work / "state")}},
    }
    BasicExporter(config).export()


def copy_rows(cursor: Any, table: str, names: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """The loop's COPY: ``rows`` written by ``csv.writer`` into a buffer, then loaded."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT csv)", buffer)


def copy_case(n: int, table: str) -> None:
    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    with connection.cursor() as cursor:
        cursor.execute(DDL.format(table=table))
        connection.commit()
        for rows in batches(n):
            copy_rows(cursor, table, COLUMNS, rows)
            connection.commit()
    connection.close()


def copy_keyed_case(n: int, table: str) -> None:
    """The COPY loop with what exactly-once adds in the database: the batch's ledger row (unique by
    job and file) inserted in the batch's transaction, and its id on every row."""
    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    job = uuid.uuid4().hex
    ledger = ledger_name(table)
    with connection.cursor() as cursor:
        cursor.execute(DDL.format(table=table).replace("(key", "(_ozzy_file_id BIGINT NOT NULL, key"))
        cursor.execute(
            f"CREATE TABLE {ledger} (file_id BIGSERIAL PRIMARY KEY, job VARCHAR(191) NOT NULL, "
            "file VARCHAR(191) NOT NULL, row_count BIGINT NOT NULL, md5 VARCHAR(32) NOT NULL, UNIQUE (job, file))"
        )
        connection.commit()
        for number, rows in enumerate(batches(n)):
            cursor.execute(
                f"INSERT INTO {ledger} (job, file, row_count, md5) VALUES (%s, %s, %s, %s) RETURNING file_id",
                (job, f"{number:06d}", len(rows), "0" * 32),
            )
            file_id = cursor.fetchone()[0]
            copy_rows(cursor, table, ["_ozzy_file_id", *COLUMNS], ((file_id, *row) for row in rows))
            connection.commit()
    connection.close()


def execute_values_case(n: int, table: str) -> None:
    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test")
    with connection.cursor() as cursor:
        cursor.execute(DDL.format(table=table))
        connection.commit()
        for rows in batches(n):
            psycopg2.extras.execute_values(
                cursor, f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES %s", rows, page_size=1000
            )
            connection.commit()
    connection.close()


def executemany_case(database: str, n: int, table: str, work: Path) -> None:
    if database == "mariadb":
        connection: Any = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test")
        mark = "%s"
        ddl = DDL.replace("DOUBLE PRECISION", "DOUBLE").replace("key BIGINT", "`key` BIGINT")
        names = ", ".join(f"`{name}`" for name in COLUMNS)
    else:
        connection = sqlite3.connect(work / "loop.db")
        mark, ddl, names = "?", DDL, ", ".join(COLUMNS)
    cursor = connection.cursor()
    cursor.execute(ddl.format(table=table))
    connection.commit()
    statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join([mark] * len(COLUMNS))})"
    for rows in batches(n):
        cursor.executemany(statement, rows)
        connection.commit()
    connection.close()


def sqlalchemy_case(url: str, n: int, table_name: str) -> None:
    engine = sqlalchemy.create_engine(url)
    table = Table(
        table_name,
        MetaData(),
        Column("key", BigInteger),
        Column("country_code", Text),
        Column("state", Text),
        Column("city", Text),
        Column("value", Double),
    )
    table.create(engine)
    for rows in batches(n):
        dicts = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
        with engine.begin() as connection:
            for start in range(0, len(dicts), 1000):
                connection.execute(table.insert(), dicts[start : start + 1000])
    engine.dispose()


def count_and_drop(url: str, table: str) -> int:
    """Rows in ``table``; then the table and its ledger (Ozzy's) are dropped."""
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        quoted = connection.dialect.identifier_preparer.quote(table)
        count = connection.execute(text(f"SELECT count(*) FROM {quoted}")).scalar()
        connection.execute(text(f"DROP TABLE {quoted}"))
        ledger = connection.dialect.identifier_preparer.quote(ledger_name(table))
        connection.execute(text(f"DROP TABLE IF EXISTS {ledger}"))
    engine.dispose()
    return int(count or 0)


def cases_for(database: str) -> list[str]:
    loops = {
        "postgresql": ["copy", "copy_keyed", "execute_values"],
        "mariadb": ["executemany"],
        "sqlite": ["executemany"],
    }
    return ["ozzy", *loops[database], "sqlalchemy"]


def run_case(database: str, case: str, n: int, work: Path) -> float:
    table = f"bench_{case}_{uuid.uuid4().hex[:10]}"
    url = URLS.get(database) or f"sqlite:///{work / ('bench.db' if case != 'executemany' else 'loop.db')}"
    run: dict[str, Callable[[], None]] = {
        "ozzy": lambda: ozzy_case(url, n, work, table),
        "copy": lambda: copy_case(n, table),
        "copy_keyed": lambda: copy_keyed_case(n, table),
        "execute_values": lambda: execute_values_case(n, table),
        "executemany": lambda: executemany_case(database, n, table, work),
        "sqlalchemy": lambda: sqlalchemy_case(url, n, table),
    }
    started = time.perf_counter()
    run[case]()
    seconds = time.perf_counter() - started
    rows = count_and_drop(url, table)
    if rows != n:
        raise SystemExit(f"{database} {case}: {rows} rows in the table, {n} expected")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"{'database':<11} {'case':<15} {'median s':>9} {'rows/s':>9} {'ozzy vs it':>10}")
    for database in args.databases.split(","):
        cases = cases_for(database)
        times: dict[str, list[float]] = {case: [] for case in cases}
        for round_number in range(args.repeat):
            order = cases[round_number % len(cases) :] + cases[: round_number % len(cases)]
            for case in order:
                with tempfile.TemporaryDirectory() as folder:
                    times[case].append(run_case(database, case, args.n, Path(folder)))
        medians = {case: statistics.median(values) for case, values in times.items()}
        for case in cases:
            ratio = medians[case] / medians["ozzy"]
            print(
                f"{database:<11} {case:<15} {medians[case]:>9.2f} {args.n / medians[case]:>9.0f} {ratio:>9.2f}x"
            )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
