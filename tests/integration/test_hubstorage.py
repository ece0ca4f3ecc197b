"""HubstorageReader and HubstorageWriter against the Scrapy Cloud collections API (``scrapycloud_server``).

The real ``scrapinghub`` client talks HTTP to the local server, which keeps collections in key order
and checks the API key. Crash tests ``kill -9`` real ``ozzy`` processes (``tests/crash_harness.py``)
and check each item arrives exactly once, and that the resume asked the service for the keys after
the committed one (``startafter``) instead of starting over.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.errors import ConfigurationError, OzzyError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.crash_harness import CrashHarness, Trigger, check_exact_output
from tests.helpers import read_json_lines, run_ozzy, write_config, write_json_lines_gz
from tests.servers.scrapycloud_server import APIKEY, PROJECT, ScrapyCloudServer

PREFIXES = ["alpha-", "beta-", "gamma-"]


@pytest.fixture()
def server(scrapycloud_server: ScrapyCloudServer) -> ScrapyCloudServer:
    scrapycloud_server.reset()
    return scrapycloud_server


def seed_items(server: ScrapyCloudServer, per_prefix: int, name: str = "items") -> list[dict[str, Any]]:
    items = [
        {"_key": f"{prefix}{number:06d}", "n": number, "prefix": prefix, "text": "x" * (number % 17)}
        for prefix in PREFIXES
        for number in range(per_prefix)
    ]
    random.Random(7).shuffle(items)  # written in any order, read back in key order
    for start in range(0, len(items), 500):
        server.seed(name, items[start : start + 500])
    return sorted(items, key=lambda item: item["_key"])


def reader(server: ScrapyCloudServer, **options: Any) -> dict[str, Any]:
    base = {"apikey": APIKEY, "endpoint": server.url, "project_id": PROJECT, "collection_name": "items"}
    return {"name": "HubstorageReader", "options": {**base, **options}}


def export(config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    config = dict(
        config, persistence={"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}}
    )
    return BasicExporter(config).export()


def fs_writer(out: Path, per_file: int = 250) -> dict[str, Any]:
    return {
        "name": "FSWriter",
        "options": {"filebase": f"{out}/items_", "items_per_buffer_write": per_file, "compression": "none"},
    }


def read_output(out: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(out.iterdir()):
        found.extend(read_json_lines(path))
    return found


# -- reading ----------------------------------------------------------------------------------------
def test_reader_prefixes_and_exclusions_in_key_order(server: ScrapyCloudServer, tmp_path: Path) -> None:
    expected = seed_items(server, 120)
    stats = export(
        {
            "reader": reader(
                server, batch_size=50, prefixes=["alpha-", "gamma-"], exclude_prefixes=["gamma-00003"]
            ),
            "writer": fs_writer(tmp_path / "out"),
        },
        tmp_path,
    )
    wanted = [
        item
        for item in expected
        if item["_key"].startswith(("alpha-", "gamma-")) and not item["_key"].startswith("gamma-00003")
    ]
    assert len(wanted) == 230
    assert read_output(tmp_path / "out") == wanted
    assert stats["items_read"] == 230
    gets = server.calls("GET", "/s/items")
    assert all(call.params.get("prefix") == ["alpha-", "gamma-"] for call in gets)
    assert all(call.params["meta"] == ["_key", "_ts"] for call in gets)


def test_reader_count_time_range_and_secondary_collections(server: ScrapyCloudServer, tmp_path: Path) -> None:
    server.seed("items", [{"_key": f"k{n:03d}", "n": n, "_ts": 1_000_000 + n} for n in range(100)])
    server.seed(
        "prices", [{"_key": f"k{n:03d}", "price": n * 10, "_ts": 5_000_000} for n in range(0, 100, 10)]
    )
    server.seed("stock", [{"_key": f"k{n:03d}", "stock": n, "_ts": 500} for n in range(0, 100, 20)])
    server.seed("stock", [{"_key": "zzz-only-here", "stock": 1}])
    export(
        {
            "reader": reader(
                server,
                batch_size=7,
                startts=1_000_010,
                endts=1_000_080,
                secondary_collections=["prices", "stock", "missing"],
            ),
            "writer": fs_writer(tmp_path / "out"),
        },
        tmp_path,
    )
    found = read_output(tmp_path / "out")
    # endts applies to the merged _ts: items merged with 'prices' (ts 5,000,000) are dropped
    assert [item["n"] for item in found] == [n for n in range(10, 80) if n % 10]
    assert found[0] == {"n": 11, "_key": "k011"}
    assert all("price" not in item for item in found)

    export(
        {
            "reader": reader(server, batch_size=7, count=25, secondary_collections=["prices", "stock"]),
            "writer": fs_writer(tmp_path / "out2"),
        },
        tmp_path,
    )
    found = read_output(tmp_path / "out2")
    assert [item["n"] for item in found] == list(range(25))
    assert found[0] == {"n": 0, "price": 0, "stock": 0, "_key": "k000"}
    assert found[20] == {"n": 20, "price": 200, "stock": 20, "_key": "k020"}
    assert found[10] == {"n": 10, "price": 100, "_key": "k010"}


def test_reader_resumes_after_the_last_key(server: ScrapyCloudServer, tmp_path: Path) -> None:
    """Position {"last_key": ...} (and exporters' plain string) starts after that key."""
    from airflow_provider_ozzy.readers.hubstorage_reader import HubstorageReader

    seed_items(server, 30)
    for position in ({"last_key": "beta-000010"}, "beta-000010"):
        module = HubstorageReader(reader(server, batch_size=1000)["options"])
        module.open(position)  # type: ignore[arg-type]
        batch = module.get_next_batch()
        assert batch[0]["_key"] == "beta-000011" and batch[-1]["_key"] == "gamma-000029"
        assert len(batch) == 19 + 30 and module.is_finished()
        position = module.get_last_position()
        assert position["last_key"] == "gamma-000029" and position["scan_finished"] is True


def test_incremental_runs_read_every_item_written_since_wherever_its_key_sorts(
    server: ScrapyCloudServer, tmp_path: Path
) -> None:
    """A collection is read in key order: new keys sorting before the last key read, items written
    during a run behind its cursor and items written again are each read by the next run, once."""
    seed_items(server, 20)
    config = {
        "reader": reader(server, batch_size=7),
        "writer": fs_writer(tmp_path / "out", per_file=10),
        "exporter_options": {"persistence_state_id": "collection", "incremental": True},
    }
    expected = [(item["_key"], item["n"]) for item in server.items("items")]
    assert export(config, tmp_path)["finished"]
    server.seed("items", [{"_key": "aaa-000001", "n": -1}, {"_key": "zzz-000001", "n": -2}])
    server.seed("items", [{"_key": "beta-000003", "n": 1003}])  # written again: a new version
    expected += [("aaa-000001", -1), ("zzz-000001", -2), ("beta-000003", 1003)]
    assert export(config, tmp_path)["items_read_this_run"] == 3
    assert export(config, tmp_path)["items_read_this_run"] == 0  # nothing new
    written = [(item["_key"], item["n"]) for item in read_output(tmp_path / "out")]
    assert sorted(written) == sorted(expected)


def test_reader_retries_server_errors(server: ScrapyCloudServer, tmp_path: Path) -> None:
    expected = seed_items(server, 20)
    server.fail_next(2, status=503)
    export({"reader": reader(server, batch_size=25), "writer": fs_writer(tmp_path / "out")}, tmp_path)
    assert read_output(tmp_path / "out") == expected


def test_reader_with_an_airflow_connection(
    server: ScrapyCloudServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = seed_items(server, 10)
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_SC", server.connection_json())
    options = {"scrapy_cloud_conn_id": "ozzy_sc", "project_id": PROJECT, "collection_name": "items"}
    export(
        {"reader": {"name": "HubstorageReader", "options": options}, "writer": fs_writer(tmp_path / "out")},
        tmp_path,
    )
    assert read_output(tmp_path / "out") == expected

    monkeypatch.setenv("AIRFLOW_CONN_OZZY_SC_BAD", server.connection_json(apikey="not-the-key-123"))
    options["scrapy_cloud_conn_id"] = "ozzy_sc_bad"
    with pytest.raises(OzzyError) as raised:
        export(
            {
                "reader": {"name": "HubstorageReader", "options": options},
                "writer": fs_writer(tmp_path / "o3"),
            },
            tmp_path,
        )
    assert "connection 'ozzy_sc_bad'" in str(raised.value) and "not-the-key-123" not in str(raised.value)


def test_wrong_apikey_fails_naming_the_collection_never_the_key(
    server: ScrapyCloudServer, tmp_path: Path
) -> None:
    seed_items(server, 5)
    secret = "wrong-key-7f3a9c1e"
    for name, section in (
        (
            "reader",
            {
                "reader": {**reader(server), "options": {**reader(server)["options"], "apikey": secret}},
                "writer": fs_writer(tmp_path / "out"),
            },
        ),
        (
            "writer",
            {
                "reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
                "writer": {
                    "name": "HubstorageWriter",
                    "options": {
                        "apikey": secret,
                        "endpoint": server.url,
                        "project_id": PROJECT,
                        "collection_name": "dest",
                        "key_field": "key",
                    },
                },
            },
        ),
    ):
        config = write_config(tmp_path / f"{name}.json", section)
        result = run_ozzy("run", str(config), cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        output = result.stdout + result.stderr
        target = "collection 'items'" if name == "reader" else "collection 'dest'"
        assert target in output and f"project {PROJECT}" in output and "401" in output, output
        assert "option 'apikey'" in output
        assert secret not in output
    assert not server.exists("dest")


def test_missing_collection_and_bad_options(server: ScrapyCloudServer, tmp_path: Path) -> None:
    with pytest.raises(OzzyError, match="collection 'nothing' of project 1234 does not exist"):
        export(
            {"reader": reader(server, collection_name="nothing"), "writer": fs_writer(tmp_path / "out")},
            tmp_path,
        )
    with pytest.raises(ConfigurationError) as raised:
        BasicExporter(
            {
                "reader": {
                    "name": "HubstorageReader",
                    "options": {
                        "project_id": "p1",
                        "collection_name": "a-b",
                        "startts": "soon",
                        "apikey": None,
                    },
                },
                "writer": fs_writer(tmp_path / "out"),
            }
        )
    message = str(raised.value)
    for expected in (
        "option 'project_id'",
        "option 'collection_name'",
        "option 'startts'",
        "option 'scrapy_cloud_conn_id'",
    ):
        assert expected in message, message


def wrong_keys(harness: CrashHarness, wanted: list[str], items_per_file: int) -> list[str]:
    """The problems ``check_exact_output`` finds with the wanted ``_key``s, ``items_per_file`` a file."""
    return check_exact_output(
        harness.output,
        {"items_.jl": wanted},
        lambda path: [item["_key"] for item in read_json_lines(path)],
        items_per_file=items_per_file,
    )


def test_reader_crash_resume_continues_after_the_committed_key(
    server: ScrapyCloudServer, tmp_path: Path
) -> None:
    """kill -9 in the middle; the resume's first read starts after the committed key; output exact."""
    expected = seed_items(server, 1500)
    wanted = [item["_key"] for item in expected if item["_key"].startswith(("alpha-", "gamma-"))]
    config = {
        "reader": reader(server, batch_size=100, prefixes=["alpha-", "gamma-"]),
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/items_", "items_per_buffer_write": 250, "compression": "none"},
        },
    }
    harness = CrashHarness(tmp_path / "job", config, timeout=180)
    first = harness.attempt(Trigger("files", 3))
    assert first.interrupted, first.describe()
    committed = harness.committed_state()
    assert committed is not None
    last_key = committed["reader"]["last_key"]
    assert last_key in wanted and last_key != wanted[-1]
    before = len(server.requests)
    second = harness.attempt(None)
    assert second.returncode == 0, second.log.read_text()
    resumed_gets = [
        call for call in server.requests[before:] if call.method == "GET" and "/s/items" in call.path
    ]
    assert resumed_gets[0].params["startafter"] == [last_key]
    problems = wrong_keys(harness, wanted, 250)
    assert not problems, "\n".join(problems)


def test_reader_killed_at_three_points_in_one_job(server: ScrapyCloudServer, tmp_path: Path) -> None:
    expected = seed_items(server, 600)
    wanted = [item["_key"] for item in expected if item["_key"].startswith(("alpha-", "gamma-"))]
    config = {
        "reader": reader(
            server, batch_size=50, prefixes=["alpha-", "gamma-"], exclude_prefixes=["gamma-0001"]
        ),
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/items_", "items_per_buffer_write": 110, "compression": "none"},
        },
    }
    wanted = [key for key in wanted if not key.startswith("gamma-0001")]
    harness = CrashHarness(tmp_path / "job", config, timeout=180)
    # points counted in commits and files, not time, so they land however fast the machine is
    report = harness.run([Trigger("commits", 1), Trigger("files", 1), Trigger("commits", 1)])
    assert report.interruptions >= 2, report.describe()
    problems = wrong_keys(harness, wanted, 110)
    assert not problems, report.describe() + "\n" + "\n".join(problems)


@pytest.mark.slow
def test_reader_crash_stress_20_random_points(server: ScrapyCloudServer, tmp_path: Path) -> None:
    expected = seed_items(server, 2000)
    wanted = [item["_key"] for item in expected if not item["_key"].startswith("beta-")]
    config = {
        "reader": reader(server, batch_size=100, exclude_prefixes=["beta-"]),
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/items_", "items_per_buffer_write": 230, "compression": "none"},
        },
    }
    for seed in range(20):
        rng = random.Random(seed)
        harness = CrashHarness(tmp_path / f"job{seed}", config, timeout=180)
        report = harness.run(
            harness.random_plan(rng, len(wanted) // 230 + 1, len(wanted) // 100 + 1, 1), seed=seed
        )
        problems = wrong_keys(harness, wanted, 230)
        assert not problems, report.describe() + "\n" + "\n".join(problems)


# -- writing ----------------------------------------------------------------------------------------
def hs_writer(server: ScrapyCloudServer, **options: Any) -> dict[str, Any]:
    base = {
        "apikey": APIKEY,
        "endpoint": server.url,
        "project_id": PROJECT,
        "collection_name": "dest",
        "key_field": "id",
    }
    return {"name": "HubstorageWriter", "options": {**base, **options}}


def input_files(folder: Path, files: int, per_file: int) -> list[dict[str, Any]]:
    items = []
    for number in range(files):
        chunk = [
            {
                "id": f"item-{number}-{index:05d}",
                "value": index * number,
                "nested": {"tags": ["a"] * (index % 3)},
            }
            for index in range(per_file)
        ]
        write_json_lines_gz(folder / f"part-{number}.jl.gz", chunk)
        items.extend(chunk)
    return items


def test_fs_to_hubstorage_round_trip(server: ScrapyCloudServer, tmp_path: Path) -> None:
    items = input_files(tmp_path / "in", 3, 700)
    stats = export(
        {
            "reader": {
                "name": "FSReader",
                "options": {"input": {"dir": str(tmp_path / "in")}, "batch_size": 400},
            },
            "writer": hs_writer(server, items_per_request=300),
        },
        tmp_path,
    )
    assert stats["items_written"] == 2100
    stored = server.items("dest")
    assert stored == sorted((dict(item, _key=item["id"]) for item in items), key=lambda item: item["_key"])
    posts = server.calls("POST", "/s/dest")
    assert len(posts) >= 2100 // 300  # requests of at most 300 items

    # and back: HubstorageReader reads what HubstorageWriter wrote
    export(
        {
            "reader": reader(server, collection_name="dest", batch_size=500),
            "writer": fs_writer(tmp_path / "back"),
        },
        tmp_path,
    )
    assert read_output(tmp_path / "back") == stored


def test_writer_refuses_items_without_a_key(server: ScrapyCloudServer, tmp_path: Path) -> None:
    with pytest.raises(OzzyError, match=r"item 3 has no usable key in field 'id'"):
        export(
            {
                "reader": {"name": "RandomReader", "options": {"number_of_items": 5}},
                "transform": {
                    "name": "PythonmapTransform",
                    "options": {"map": "{'id': item['key'] if item['key'] != 2 else None}"},
                },
                "writer": hs_writer(server),
            },
            tmp_path,
        )


def test_writer_kill_9_then_resume_leaves_each_key_once(server: ScrapyCloudServer, tmp_path: Path) -> None:
    items = input_files(tmp_path / "job" / "in", 4, 1500)
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}, "batch_size": 200}},
        "writer": hs_writer(server, items_per_request=50),
    }
    harness = CrashHarness(
        tmp_path / "job", config, timeout=180, count_written=lambda since: len(server.items("dest"))
    )
    report = harness.run([Trigger("files", 1500), Trigger("commits", 3)])
    assert report.interruptions >= 1, report.describe()
    stored = server.items("dest")
    assert [item["_key"] for item in stored] == sorted(item["id"] for item in items)
    assert stored == sorted((dict(item, _key=item["id"]) for item in items), key=lambda item: item["_key"])
    state = harness.committed_state()
    assert state is not None and state["finished"] and state["stats"]["items_written"] == len(items)
    assert json.dumps(state).count(APIKEY) == 0
