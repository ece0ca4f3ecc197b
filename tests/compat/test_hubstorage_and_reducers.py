"""exporters tests/test_readers_hs.py, test_writers_hubstorage.py, test_writers_reducer_hubstorage.py
(``scrapycloud_server``, the Scrapy Cloud collections API), test_writers_reducer.py,
test_writers_aggregation.py and test_writers_odo.py (PostgreSQL, MariaDB, SQLite), through ``ozzy``.

exporters mocked the collection scanner and the hubstorage client, replayed a VCR cassette, or
called the writers directly; here every case is a config run by the CLI against the local servers,
and what was stored is read back with plain HTTP requests, SQL and files. The Scrapy Cloud modules
take exporters' ``apikey`` option plus Ozzy's ``endpoint`` (the local server instead of
storage.scrapinghub.com).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy
from sqlalchemy import inspect, text

from tests.compat.conftest import EXPORTERS_DATA, RunOzzy, console, fs_input
from tests.helpers import key_coverage_report
from tests.servers.scrapycloud_server import APIKEY, ScrapyCloudServer

PROJECT = "10804"  # exporters' project id in these tests
BATCH = [
    {"name": "item1", "country_code": "es"},
    {"name": "item2", "country_code": "uk"},
    {"name": "item3", "something": "else"},
]  # the batch of test_writers_hubstorage.py, test_writers_reducer*.py


@pytest.fixture
def server(scrapycloud_server: ScrapyCloudServer, work: Path) -> ScrapyCloudServer:
    scrapycloud_server.reset()
    return scrapycloud_server


def stored(server: ScrapyCloudServer, collection: str, key: str) -> Any:
    """One value of a collection, fetched as hubstorage's ``collection.get(key)`` does."""
    answer = requests.get(
        f"{server.url}collections/{PROJECT}/s/{collection}/{key}", auth=(APIKEY, ""), timeout=10
    )
    answer.raise_for_status()
    return json.loads(answer.text)


def hs_reader(server: ScrapyCloudServer, project_id: int | str = PROJECT, **options: Any) -> dict[str, Any]:
    return {
        "name": "exporters.readers.hubstorage_reader.HubstorageReader",
        "options": {
            "apikey": APIKEY,
            "endpoint": server.url,
            "project_id": project_id,
            "collection_name": "collection",
            **options,
        },
    }


# the job state of ``pickle:state/job``, which the resume cases read and edit
PICKLE_JOB: dict[str, Any] = {
    "persistence": {
        "name": "exporters.persistence.pickle_persistence.PicklePersistence",
        "options": {"file_path": "state"},
    },
    "exporter_options": {"persistence_state_id": "job"},
}


# -- test_readers_hs.py ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("position", "project_id"),
    [("resumekey", PROJECT), ({"last_key": "resumekey"}, int(PROJECT))],
    ids=["test_set_last_position_legacy", "test_set_last_position"],
)
def test_hubstorage_reader_resumes_after_the_last_key(
    run_ozzy: RunOzzy, server: ScrapyCloudServer, work: Path, position: Any, project_id: Any
) -> None:
    """exporters: test_readers_hs.py::HubstorageReaderTest::test_set_last_position_legacy and
    ::test_set_last_position: a position given as exporters' plain string ``'resumekey'`` (with
    ``project_id`` a string) or as ``{"last_key": "resumekey"}`` (an integer ``project_id``) makes
    the scan start after that key (``set_startafter('resumekey')``).

    The job first stops after its first batch (its map fails on item ``n == 3``); its committed
    reader position is then replaced by exporters' form and ``ozzy resume`` continues the job."""
    keys = ["a1", "a2", "a3", "resumekey", "v1", "v2"]
    server.seed("collection", [{"_key": key, "n": n} for n, key in enumerate(keys)], project=PROJECT)
    config = {
        "reader": hs_reader(server, project_id, batch_size=2),
        "transform": {
            "name": "exporters.transform.pythonmap.PythonmapTransform",
            "options": {"map": "{'_key': item['_key'], 'n': item['n'] // (item['n'] - 2)}"},
        },
        "writer": console(),
        **PICKLE_JOB,
    }
    first = run_ozzy(config)
    assert first.code == 1, first.err
    assert "ZeroDivisionError" in first.err
    state_file = work / "state" / "job"
    state = json.loads(state_file.read_text())
    assert state["state"]["reader"]["last_key"] == "a2"  # committed after the first batch
    state["state"]["reader"] = position
    state_file.write_text(json.dumps(state))
    server.requests.clear()

    resumed = run_ozzy("resume", "pickle:state/job")
    assert resumed.code == 0, resumed.err
    assert [item["_key"] for item in resumed.printed_items] == ["v1", "v2"]
    scans = server.calls("GET", "/s/collection")
    assert scans[0].params["startafter"] == ["resumekey"]
    final = json.loads(state_file.read_text())["state"]["reader"]
    assert final["last_key"] == "v2" and final["scan_finished"] is True


def test_hubstorage_reader_updates_last_position_after_each_batch(
    run_ozzy: RunOzzy, server: ScrapyCloudServer, work: Path
) -> None:
    """exporters: test_readers_hs.py::HubstorageReaderTest::test_update_last_position_after_getting_batch:
    after the batch ``value1, value2`` the position's ``last_key`` is ``value2``, after the next one
    ``value4``. Seen from outside: each batch's scan starts after the previous batch's last key, and
    the committed state ends at ``value4``."""
    server.seed("collection", [{"_key": f"value{n}"} for n in range(1, 5)], project=PROJECT)
    config = {
        "reader": hs_reader(server, batch_size=2),
        "writer": console(),
        **PICKLE_JOB,
    }
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.printed_items == [{"_key": f"value{n}"} for n in range(1, 5)]
    assert result.stats["items_read"] == 4
    scans = server.calls("GET", "/s/collection")
    assert [scan.params.get("startafter") for scan in scans] == [None, ["value2"], ["value4"]]
    assert json.loads((work / "state" / "job").read_text())["state"]["reader"]["last_key"] == "value4"


# -- test_writers_hubstorage.py ------------------------------------------------------------------------
def test_hubstorage_writer_pushes_items_under_key_field(
    run_ozzy: RunOzzy, server: ScrapyCloudServer, work: Path
) -> None:
    """exporters: test_writers_hubstorage.py::HubstorageWriterTest::test_should_push_items_to_hubstorage:
    every item is written as ``dict(item, _key=item['name'])`` (the key field stays in the value),
    in order, and ``items_count`` is 3. exporters' ``size_per_buffer_write`` is accepted (nothing
    is buffered: each batch is stored before its commit)."""
    config = {
        "reader": fs_input(work, BATCH),
        "writer": {
            "name": "exporters.writers.hubstorage_writer.HubstorageWriter",
            "options": {
                "project_id": PROJECT,
                "collection_name": "test_collection",
                "key_field": "name",
                "apikey": APIKEY,
                "endpoint": server.url,
                "size_per_buffer_write": 2,
            },
        },
    }
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["items_written"] == 3
    expected = [dict(item, _key=item["name"]) for item in BATCH]
    assert [value for post in server.calls("POST", "/s/test_collection") for value in post.values] == expected
    assert server.items("test_collection", project=PROJECT) == expected
    assert stored(server, "test_collection", "item3") == {"name": "item3", "something": "else"}
    assert APIKEY not in result.out + result.err


# -- test_writers_reducer_hubstorage.py (VCR cassette reducer_hubstorage.yaml) ---------------------------
HS_REDUCE_CODE = """
def reduce_function(item, accumulator=None):
    accumulator = 0 if accumulator is None else accumulator
    return accumulator + len(item)
        """


def test_hubstorage_reduce_writer_pushes_the_accumulator(
    run_ozzy: RunOzzy, server: ScrapyCloudServer, work: Path
) -> None:
    """exporters: test_writers_reducer_hubstorage.py::HubstorageReduceWriterTest::
    test_should_reduce_and_push_accumulator_to_hubstorage: after the batch the reduced result is 6
    and ``{"_key": "0004", "_finished": false, "value": 6}`` is posted to collection
    ``test_collection`` of project 10804 (the cassette's first request); ``finish_writing`` posts it
    again with ``_finished: true`` and ``collection.get("0004")`` answers
    ``{"_finished": true, "value": 6}`` (the cassette's last answer). The result also reaches
    ``ozzy run``'s stats (``result``)."""
    config = {
        "reader": fs_input(work, BATCH),
        "writer": {
            "name": "exporters.writers.hs_reduce_writer.HubstorageReduceWriter",
            "options": {
                "code": HS_REDUCE_CODE,
                "collection_url": f"https://dash.scrapinghub.com/p/{PROJECT}/collections/s/test_collection",
                "key": "0004",
                "apikey": APIKEY,
                "endpoint": server.url,
            },
        },
    }
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["result"] == {"value": 6, "items_reduced": 3}
    posts = server.calls("POST", f"/collections/{PROJECT}/s/test_collection")
    assert [post.values for post in posts] == [
        [{"_key": "0004", "_finished": False, "value": 6}],
        [{"_key": "0004", "_finished": True, "value": 6}],
    ]
    assert stored(server, "test_collection", "0004") == {"_finished": True, "value": 6}


# -- test_writers_reducer.py ---------------------------------------------------------------------------
COUNTER_CODE = """
def reduce_function(item, accumulator=None):
    from collections import Counter
    accumulator = accumulator or Counter()
    for key in item:
        accumulator[key] += 1
    return accumulator
"""


def test_reduce_writer_refuses_import_in_code(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters: test_writers_reducer.py::ReduceWriterTest::test_should_reduce_items, its code as
    written. Departure (docs/design.md, "Scrapy Cloud collections and reduce writers", "Python
    expressions: a real sandbox"): exporters ran the code with ``exec``; Ozzy's sandbox has no
    ``import`` statement (modules come from the ``imports`` option), so the config is refused
    before anything runs: ``validate`` and ``run`` exit 2 naming the writer and option ``code``."""
    config = {
        "reader": fs_input(work, BATCH + BATCH),
        "writer": {"name": "exporters.writers.reduce_writer.ReduceWriter", "options": {"code": COUNTER_CODE}},
    }
    result = run_ozzy(config)
    assert result.code == 2, result.err
    assert "ReduceWriter" in result.err and "option 'code'" in result.err and "import" in result.err
    (work / "c.json").write_text(json.dumps(config))
    validated = run_ozzy("validate", "c.json")
    assert validated.code == 2 and "option 'code'" in validated.err


def test_reduce_writer_reduces_items(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters: test_writers_reducer.py::ReduceWriterTest::test_should_reduce_items: the batch
    written twice folds to ``{'country_code': 4, 'name': 6, 'something': 2}``. The import comes from
    the ``imports`` option (see test_reduce_writer_refuses_import_in_code); the Counter reaches
    the stats as a JSON object."""
    code = COUNTER_CODE.replace("from collections import Counter", "Counter = collections.Counter")
    reader = fs_input(work, BATCH + BATCH)
    reader["options"]["batch_size"] = 3  # two batches of the same three items
    config = {
        "reader": reader,
        "writer": {
            "name": "exporters.writers.reduce_writer.ReduceWriter",
            "options": {"code": code, "imports": {"collections": "collections"}},
        },
    }
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["result"] == {
        "value": {"country_code": 4, "name": 6, "something": 2},
        "items_reduced": 6,
    }
    assert result.stats["items_written"] == 6
    assert 'result after 6 items: {"name": 6, "country_code": 4, "something": 2}' in result.err


# -- test_writers_aggregation.py -----------------------------------------------------------------------
def test_aggregation_writer_write_aggregated(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters: test_writers_aggregation.py::AggregationStatsWriterTest::test_write_aggregated:
    birthday in 3 of 4 items (75 %), last_login in 1 (25 %), name in 4 (100 %).

    Departure (docs/design.md, "SQL writer (OdoWriter) and AggregationWriter"): exporters only
    logged ``{key: {'occurrences', 'coverage'}}``; Ozzy logs a table and returns the report
    ``{"items", "keys": {key: {"count", "percentage"}}}`` in the stats and in ``path``."""
    data = [
        {"name": "Roberto", "birthday": "12/05/1987"},
        {"name": "Claudia", "birthday": "21/12/1985"},
        {"name": "Bob", "birthday": "21/12/1985"},
        {"name": "Claude", "last_login": "21/12/1985"},
    ]
    config = {
        "reader": fs_input(work, data),
        "writer": {
            "name": "exporters.writers.aggregation_stats_writer.AggregationStatsWriter",
            "options": {"path": "out/report.json"},
        },
    }
    result = run_ozzy(config)
    assert result.code == 0, result.err
    expected = key_coverage_report(4, {"birthday": (3, 75.0), "last_login": (1, 25.0), "name": (4, 100.0)})
    assert result.stats["result"] == expected
    assert json.loads((work / "out" / "report.json").read_text()) == expected
    table = [" ".join(line.split()) for line in result.err.splitlines()]
    assert {"birthday 3 75.00%", "last_login 1 25.00%", "name 4 100.00%"} <= set(table)
    # and the same without a report file (exporters' config had no options)
    plain = run_ozzy(
        {
            "reader": config["reader"],
            "writer": {"name": "exporters.writers.aggregation_stats_writer.AggregationStatsWriter"},
        }
    )
    assert plain.code == 0, plain.err
    assert plain.stats["result"] == expected


# -- test_writers_odo.py (a contrib test exporters skipped unless TEST_CONTRIB) ----------------------------
ODO_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema",
    "required": ["item"],
    "type": "object",
    "properties": {"item": {"type": "string"}},
}


def odo_reader() -> dict[str, Any]:
    """exporters' tests/data/test_data.jl.gz: ``{"item": "value1"}`` .. ``value3``."""
    path = EXPORTERS_DATA / "test_data.jl.gz"
    return {"name": "exporters.readers.fs_reader.FSReader", "options": {"input": str(path)}}


def test_odo_writer_csv_destination_is_refused(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters: test_writers_odo.py::OdoWriterTest::test_write_csv, its config as written:
    ``odo_uri`` a CSV file path. Departure (docs/design.md, "SQL writer (OdoWriter) and
    AggregationWriter"): odo is gone and OdoWriter writes to SQL databases only, so the config is
    refused (exit 2, naming option 'odo_uri') and no file appears. The CSV exporters' test expected
    (``item``, ``value1``..``value3``) is FSWriter with the CSV formatter's job, checked here too."""
    target = work / "out" / "test.csv"
    config = {
        "reader": odo_reader(),
        "writer": {
            "name": "exporters.contrib.writers.odo_writer.ODOWriter",
            "options": {"odo_uri": str(target), "schema": ODO_SCHEMA},
        },
    }
    result = run_ozzy(config)
    assert result.code == 2, result.err
    assert "OdoWriter" in result.err and "option 'odo_uri'" in result.err
    assert not target.exists()

    as_csv = run_ozzy(
        {
            "reader": odo_reader(),
            "writer": {
                "name": "exporters.writers.fs_writer.FSWriter",
                "options": {"filebase": "out/test", "compression": "none"},
            },
            "exporter_options": {
                "formatter": {
                    "name": "exporters.export_formatter.csv_export_formatter.CSVExportFormatter",
                    "options": {"show_titles": True, "fields": ["item"]},
                }
            },
        }
    )
    assert as_csv.code == 0, as_csv.err
    written = list((work / "out").iterdir())
    assert len(written) == 1
    # the same rows; exporters' CSVExportFormatter (and Ozzy's) quote strings, pandas did not
    assert list(csv.reader(io.StringIO(written[0].read_text()))) == [
        ["item"],
        ["value1"],
        ["value2"],
        ["value3"],
    ]


@pytest.fixture(params=["postgresql", "mariadb", "sqlite"])
def odo_target(request: pytest.FixtureRequest, work: Path) -> Iterator[tuple[str, str, sqlalchemy.Engine]]:
    """(odo_uri, table, engine) of a fresh table in each database."""
    table = f"ozzy_compat_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        url = f"sqlite:///{work / 'odo.db'}"
        uri = url
    else:
        server = request.getfixturevalue(f"{request.param}_server")
        url = server.url
        scheme = "postgresql" if request.param == "postgresql" else "mysql"  # odo's schemes: no driver
        uri = f"{scheme}://{server.user}@{server.host}:{server.port}/{server.database}"
    engine = sqlalchemy.create_engine(url)
    yield f"{uri}::{table}", table, engine
    with engine.begin() as connection:
        for name in (table, f"{table}_ozzy_files"):  # the table and OdoWriter's ledger of files
            connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


def test_odo_writer_write_into_database(
    run_ozzy: RunOzzy, odo_target: tuple[str, str, sqlalchemy.Engine]
) -> None:
    """exporters: test_writers_odo.py::OdoWriterTest::test_write_csv, into a real database instead
    of a CSV file: the same items (tests/data/test_data.jl.gz), the same JSON Schema and module path,
    ``odo_uri`` in odo's ``dialect://user@host/db::table`` form; the table holds a column ``item``
    with ``value1``..``value3`` (plus Ozzy's ``_ozzy_file_id``, the file's id in the ledger table
    beside it: docs/design.md, "SQL writer (OdoWriter)")."""
    uri, table, engine = odo_target
    config = {
        "reader": odo_reader(),
        "writer": {
            "name": "exporters.contrib.writers.odo_writer.ODOWriter",
            "options": {"odo_uri": uri, "schema": ODO_SCHEMA},
        },
    }
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["items_written"] == 3
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT item FROM {table} ORDER BY item")).all()
    assert [row[0] for row in rows] == ["value1", "value2", "value3"]
    columns = {column["name"] for column in inspect(engine).get_columns(table)}
    assert columns == {"item", "_ozzy_file_id"}
