"""OdoWriter against a hand-written SQLAlchemy insert loop, same items, same database, one run.

    .venv/bin/python benchmarks/bench_odo_writer.py [--n 100000] [--repeat 3] [--databases sqlite,postgresql,mariadb]

The items are RandomReader's (5 fields, one nested object). Cases, round-robin, in this process:

- **ozzy**: ``BasicExporter`` RandomReader -> OdoWriter (inferred table, 10,000 rows a transaction,
  1,000 rows per INSERT, resumable row keys), PicklePersistence committing every batch of 10,000;
- **loop**: the same items made by the reader, nested objects dumped to JSON, inserted into a
  table of the same columns with ``connection.execute(table.insert(), rows)`` in pages of 1,000,
  one transaction per 10,000 rows; no keys, no unique index, no commit protocol.

Shown: median seconds, rows/s and the ratio loop/ozzy (1.0: as fast as the loop). PostgreSQL and
MariaDB are the servers on 127.0.0.1 (5432 trust, 3306 root) the tests use.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import orjson
import sqlalchemy
from sqlalchemy import BigInteger, Column, Double, MetaData, Table, Text, text

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.readers.random_reader import RandomReader

URLS = {
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test",
}


def ozzy_case(url: str, n: int, work: Path) -> float:
    table = f"bench_odo_{uuid.uuid4().hex[:10]}"
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": n, "batch_size": 10_000}},
        "writer": {"name": "OdoWriter", "options": {"url": url, "table": table}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(work / "state")}},
    }
    started = time.perf_counter()
    BasicExporter(config).export()
    seconds = time.perf_counter() - started
    drop(url, table)
    return seconds


def loop_case(url: str, n: int) -> float:
    name = f"bench_loop_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(url)
    table = Table(
        name,
        MetaData(),
        Column("key", BigInteger),
        Column("country_code", Text),
        Column("state", Text),
        Column("city", Text),
        Column("value", Double),
    )
    started = time.perf_counter()
    table.create(engine)
    reader = RandomReader({"number_of_items": n, "batch_size": 10_000})
    reader.open(None)
    while not reader.is_finished():
        rows = [dict(item, city=orjson.dumps(item["city"]).decode()) for item in reader.get_next_batch()]
        with engine.begin() as connection:
            for start in range(0, len(rows), 1000):
                connection.execute(table.insert(), rows[start : start + 1000])
    seconds = time.perf_counter() - started
    engine.dispose()
    drop(url, name)
    return seconds


def drop(url: str, table: str) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql,mariadb")
    args = parser.parse_args()
    print(f"{'database':<11} {'case':<5} {'median s':>9} {'rows/s':>9} {'loop/ozzy':>9}")
    for database in args.databases.split(","):
        times: dict[str, list[float]] = {"ozzy": [], "loop": []}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as folder:
                work = Path(folder)
                url = URLS.get(database) or f"sqlite:///{work / 'bench.db'}"
                times["ozzy"].append(ozzy_case(url, args.n, work))
                url = URLS.get(database) or f"sqlite:///{work / 'loop.db'}"
                times["loop"].append(loop_case(url, args.n))
        medians = {case: statistics.median(values) for case, values in times.items()}
        for case, median in medians.items():
            ratio = medians["loop"] / median
            print(f"{database:<11} {case:<5} {median:>9.2f} {args.n / median:>9.0f} {ratio:>9.2f}")


if __name__ == "__main__":
    main()
