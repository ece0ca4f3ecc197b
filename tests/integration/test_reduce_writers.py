"""ReduceWriter and HubstorageReduceWriter over 100,000 items: exact results, also after ``kill -9``.

The fold's accumulator is committed with the reader position after every batch, so a resume goes on
from the last commit: the crash test kills a real ``ozzy`` twice and the sum and count must still be
exact (a double-counted or lost batch changes them). HubstorageReduceWriter's collection is served
by ``scrapycloud_server``.
"""

from __future__ import annotations

import collections
import json
import random
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.crash_harness import CrashHarness, Trigger
from tests.helpers import write_json_lines_gz
from tests.servers.scrapycloud_server import APIKEY, PROJECT, ScrapyCloudServer

ITEMS = 100_000
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]

SUM_CODE = """
def reduce_function(item, accumulator=None):
    acc = accumulator if accumulator is not None else {'count': 0, 'sum': 0, 'districts': 0}
    acc['count'] += 1
    acc['sum'] += item['key']
    acc['districts'] += item['city']['district']
    return acc
"""

WORD_COUNT_CODE = """
def reduce_function(item, accumulator=None):
    counts = accumulator if accumulator is not None else collections.Counter()
    counts.update(word.lower() for word in item['text'].split())
    return counts
"""


def random_items(number: int) -> list[dict[str, Any]]:
    from airflow_provider_ozzy.readers.random_reader import RandomReader

    reader = RandomReader({"number_of_items": number, "batch_size": number})
    reader.open(None)
    return reader.get_next_batch()


def expected_sums(number: int) -> dict[str, int]:
    items = random_items(number)
    return {
        "count": number,
        "sum": sum(item["key"] for item in items),
        "districts": sum(item["city"]["district"] for item in items),
    }


def export(config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    config = dict(
        config, persistence={"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}}
    )
    return BasicExporter(config).export()


def test_numeric_sum_over_100000_items_is_exact(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="airflow_provider_ozzy.writer")
    stats = export(
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": ITEMS, "batch_size": 5000}},
            "writer": {"name": "ReduceWriter", "options": {"code": SUM_CODE}},
        },
        tmp_path,
    )
    assert stats["result"] == {"value": expected_sums(ITEMS), "items_reduced": ITEMS}
    assert stats["items_written"] == ITEMS and stats["files_written"] == 0
    expected = expected_sums(ITEMS)
    logged = [record.getMessage() for record in caplog.records if "result after" in record.getMessage()]
    assert logged == [f"writer ReduceWriter: result after {ITEMS} items: {json.dumps(expected)}"]


def test_word_count_over_100000_items_is_exact(tmp_path: Path) -> None:
    rng = random.Random(3)
    items = [
        {"id": n, "text": " ".join(rng.choice(WORDS).title() for _ in range(rng.randint(0, 6)))}
        for n in range(ITEMS)
    ]
    write_json_lines_gz(tmp_path / "in" / "part-0.jl.gz", items[:60_000])
    write_json_lines_gz(tmp_path / "in" / "part-1.jl.gz", items[60_000:])
    expected = collections.Counter(word.lower() for item in items for word in item["text"].split())
    stats = export(
        {
            "reader": {
                "name": "FSReader",
                "options": {"input": {"dir": str(tmp_path / "in")}, "batch_size": 5000},
            },
            "writer": {
                "name": "ReduceWriter",
                "options": {"code": WORD_COUNT_CODE, "imports": {"collections": "collections"}},
            },
        },
        tmp_path,
    )
    assert stats["result"] == {"value": dict(expected), "items_reduced": ITEMS}
    assert sum(expected.values()) > 200_000


def test_kill_9_then_resume_keeps_the_sum_exact(tmp_path: Path) -> None:
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": ITEMS, "batch_size": 500}},
        "writer": {"name": "ReduceWriter", "options": {"code": SUM_CODE}},
    }
    harness = CrashHarness(tmp_path / "job", config, timeout=300)
    report = harness.run([Trigger("commits", 15), Trigger("commits", 25)])
    assert report.interruptions == 2, report.describe()
    state = harness.committed_state()
    assert state is not None and state["finished"]
    assert state["stats"]["result"] == {"value": expected_sums(ITEMS), "items_reduced": ITEMS}, (
        report.describe()
    )
    # the resumes did not start over: fewer than 3 x 100,000 items were read in all
    assert state["stats"]["items_read_this_run"] < ITEMS


@pytest.fixture()
def server(scrapycloud_server: ScrapyCloudServer) -> ScrapyCloudServer:
    scrapycloud_server.reset()
    return scrapycloud_server


def test_hubstorage_reduce_writer_stores_the_accumulator_after_each_batch(
    server: ScrapyCloudServer, tmp_path: Path
) -> None:
    stats = export(
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": 20_000, "batch_size": 2000}},
            "writer": {
                "name": "HubstorageReduceWriter",
                "options": {
                    "code": SUM_CODE,
                    "collection_url": f"https://app.zyte.com/p/{PROJECT}/collections/s/reduced",
                    "key": "totals",
                    "apikey": APIKEY,
                    "endpoint": server.url,
                },
            },
        },
        tmp_path,
    )
    expected = expected_sums(20_000)
    assert stats["result"]["value"] == expected
    assert server.items("reduced") == [dict(expected, _key="totals", _finished=True)]
    stored = [call.values[0] for call in server.calls("POST", "/s/reduced")]
    assert [value["_finished"] for value in stored] == [False] * 10 + [True]
    assert [value["count"] for value in stored] == [2000 * n for n in range(1, 11)] + [20_000]

    # a non-mapping accumulator is stored as {"value": ...}; project_id + collection_name work too
    export(
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": 100, "batch_size": 30}},
            "writer": {
                "name": "HubstorageReduceWriter",
                "options": {
                    "code": "def reduce_function(item, accumulator=None):\n    return (accumulator or 0) + 1\n",
                    "project_id": PROJECT,
                    "collection_name": "reduced",
                    "key": "count",
                    "apikey": APIKEY,
                    "endpoint": server.url,
                },
            },
        },
        tmp_path,
    )
    assert server.items("reduced")[0] == {"value": 100, "_key": "count", "_finished": True}


def test_hubstorage_reduce_writer_options(server: ScrapyCloudServer) -> None:
    from airflow_provider_ozzy.errors import ConfigurationError
    from airflow_provider_ozzy.writers.hubstorage_reduce_writer import HubstorageReduceWriter

    base = {"code": SUM_CODE, "key": "k", "apikey": APIKEY}
    with pytest.raises(ConfigurationError, match="must end in /p/<project>/collections/s/<name>"):
        HubstorageReduceWriter({**base, "collection_url": "https://app.zyte.com/p/x/collections"})
    with pytest.raises(
        ConfigurationError,
        match="give option 'collection_url', or options 'project_id' and 'collection_name'",
    ):
        HubstorageReduceWriter({**base, "collection_url": "https://x/p/1/collections/s/c", "project_id": 1})
