"""Filters, transforms and groupers through full FS -> FS exports, read back from the files.

Input files are written as gzip JSON lines, the real exporter (or the real ``ozzy`` command) runs,
and the output files are read back with independent parsers (gzip + json, csv). Items are nested,
miss keys, hold non-string values and unicode. Group values that try to leave ``filebase``
(``../../x``, absolute paths, NUL bytes) must stay inside it without colliding. The last tests
``kill -9`` real ``ozzy`` processes running a DupeFilter and a PythonExpGrouper and check the
resumed output is exactly the uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.crash_harness import CrashHarness, check_exact_output
from tests.helpers import (
    decompress,
    final_stats,
    output_files,
    read_json_lines,
    run_ozzy,
    write_config,
    write_input_files,
    write_json_lines_gz,
)

ITEMS: list[dict[str, Any]] = [
    {
        "_key": "a",
        "id": 1,
        "name": "Ana",
        "country": "ES",
        "price": 10,
        "address": {"city": "Málaga", "geo": {"lat": 36.7}},
        "tags": ["x"],
    },
    {
        "_key": "b",
        "id": 2,
        "name": "Björn 東京",
        "country": "SE",
        "price": 99.5,
        "address": {"city": "Göteborg"},
        "tags": [],
    },
    {"_key": "a", "id": 3, "name": "dup of 1", "country": "ES", "price": 10, "address": {"city": "Málaga"}},
    {"_key": 7, "id": 4, "name": None, "country": None, "price": "12", "tags": ["y", "z"]},
    {"_key": "7", "id": 5, "name": "text key 7", "price": True, "address": None},
    {"id": 6, "name": "no key", "country": "ES", "price": 0, "address": {"city": "Madrid", "geo": {}}},
    {"_key": 7, "id": 7, "name": "dup of 4", "country": "FR", "price": -3},
]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    write_json_lines_gz(tmp_path / "in/items.jl.gz", ITEMS)
    return tmp_path


def export(writer: dict[str, Any] | None = None, batch_size: int = 3, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": "in/items.jl.gz", "batch_size": batch_size}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_", **(writer or {})}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": ".state"}},
        **sections,
    }
    stats = BasicExporter(config).export()
    assert stats["finished"] is True
    return stats


def everything(folder: str = "out") -> dict[str, list[dict[str, Any]]]:
    return {name: read_json_lines(Path(folder) / name) for name in output_files(folder)}


def test_key_value_filter_jq_pythonexp_filter_file_key_grouper(work: Path) -> None:
    stats = export(
        filter_before={
            "name": "exporters.filters.key_value_filter.KeyValueFilter",
            "options": {
                "keys": [
                    {"name": "address.city", "value": ["Málaga", "Madrid", "Göteborg"], "operator": "in"}
                ]
            },
        },
        transform={
            "name": "exporters.transform.jq_transform.JQTransform",
            "options": {"jq_filter": "{id, name, country, city: .address.city, lat: .address.geo.lat}"},
        },
        filter_after={
            "name": "PythonexpFilter",
            "options": {"python_expression": "item['lat'] is None or item['lat'] > 0"},
        },
        grouper={"name": "FileKeyGrouper", "options": {"keys": ["country", "city"]}},
        writer={"filebase": "out/{groups[0]}/{groups[1]}/part_"},
    )
    assert everything() == {
        "ES/Madrid/part_0000.jl.gz": [
            {"id": 6, "name": "no key", "country": "ES", "city": "Madrid", "lat": None}
        ],
        "ES/Málaga/part_0000.jl.gz": [
            {"id": 1, "name": "Ana", "country": "ES", "city": "Málaga", "lat": 36.7},
            {"id": 3, "name": "dup of 1", "country": "ES", "city": "Málaga", "lat": None},
        ],
        "SE/Göteborg/part_0000.jl.gz": [
            {"id": 2, "name": "Björn 東京", "country": "SE", "city": "Göteborg", "lat": None}
        ],
    }
    assert stats["items_filtered"] == 3 and stats["items_written"] == 4


def test_regex_filter_pythonmap_plain_dicts_and_python_exp_grouper_with_non_strings(work: Path) -> None:
    export(
        filter_before={
            "name": "KeyValueRegexFilter",
            "options": {"keys": [{"name": "price", "value": r"-?\d"}]},
        },
        transform={
            "name": "exporters.transform.pythonmap.PythonMapTransform",
            "options": {
                "map": "{'id': item['id'], 'label': (item['name'] or '?').upper(), 'price': item['price']}"
            },
        },
        grouper={
            "name": "PythonExpGrouper",
            "options": {
                "python_expressions": [
                    "isinstance(item['price'], str)",
                    "item['price'] if item['price'] != 10 else None",
                ]
            },
        },
        writer={"filebase": "out/{groups[0]}/{groups[1]}/part_"},
    )
    assert everything() == {
        "false/0/part_0000.jl.gz": [{"id": 6, "label": "NO KEY", "price": 0}],
        "false/-3/part_0000.jl.gz": [{"id": 7, "label": "DUP OF 4", "price": -3}],
        "false/99.5/part_0000.jl.gz": [{"id": 2, "label": "BJÖRN 東京", "price": 99.5}],
        "false/unknown/part_0000.jl.gz": [
            {"id": 1, "label": "ANA", "price": 10},
            {"id": 3, "label": "DUP OF 1", "price": 10},
        ],
        "true/12/part_0000.jl.gz": [{"id": 4, "label": "?", "price": "12"}],
    }  # True (item 5) is not a number: the regex filter sees "true"


def test_pythonexp_transform_and_dupe_filter(work: Path) -> None:
    stats = export(
        transform={
            "name": "PythonexpTransform",
            "options": {
                "python_expressions": [
                    "item.update({'n': len(item.get('tags') or [])})",
                    "item.pop('address', None)",
                ]
            },
        },
        filter_after={"name": "DupeFilter"},
    )
    assert [(item["id"], item["n"], "address" in item) for item in everything()["items_0000.jl.gz"]] == [
        (1, 1, False),
        (2, 0, False),
        (4, 2, False),
        (5, 0, False),  # "7" is not 7
        (6, 0, False),  # no key: kept
    ]
    assert stats["items_filtered"] == 2
    assert os.listdir(work / "tmp") == []  # the temporary store of seen keys is gone


def test_flatson_transform_makes_nested_items_csv_friendly(work: Path) -> None:
    fields = ["id", "name", "address.city", "address.geo.lat", "tags"]
    export(
        transform={"name": "FlatsonTransform"},
        exporter_options={"formatter": {"name": "CSVExportFormatter", "options": {"fields": fields}}},
        writer={"compression": "none"},
    )
    rows = list(
        csv.reader(io.StringIO((work / "out/items_0000.csv").read_text(encoding="utf-8"), newline=""))
    )
    assert rows[0] == fields
    assert rows[1] == ["1", "Ana", "Málaga", "36.7", '["x"]']
    assert rows[2] == ["2", "Björn 東京", "Göteborg", "", "[]"]
    assert rows[4] == ["4", "", "", "", '["y","z"]']
    assert len(rows) == len(ITEMS) + 1


TRAVERSALS = [
    "../../x",
    "/etc/passwd",
    "a\x00b",
    "..",
    ".",
    "",
    " ",
    "a/b",
    "a?b",
    "C:\\win",
    "line\nbreak",
    "x" * 300,
    ".hidden",
    "ok",
]


@pytest.mark.parametrize("grouper", ["FileKeyGrouper", "PythonExpGrouper"])
def test_group_values_never_leave_filebase_nor_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grouper: str
) -> None:
    monkeypatch.chdir(tmp_path)
    items = [{"id": number, "g": value} for number, value in enumerate(TRAVERSALS)]
    write_json_lines_gz("in/items.jl.gz", items)
    options = {"keys": ["g"]} if grouper == "FileKeyGrouper" else {"python_expressions": ["item['g']"]}
    export(
        grouper={"name": grouper, "options": options},
        writer={"filebase": "deep/out/{groups[0]}/part_"},
        batch_size=4,
    )
    outside = [
        name for name in output_files(tmp_path) if not name.startswith(("deep/out/", "in/", ".state/"))
    ]
    assert outside == []
    files = output_files("deep/out")
    assert len(files) == len(TRAVERSALS)  # one folder per value: no two values share one
    found = {}
    for name in files:
        folder, file_name = name.split("/")
        assert file_name == "part_0000.jl.gz"
        assert (
            folder not in (".", "..") and "\x00" not in folder and "\n" not in folder and len(folder) <= 100
        )
        (item,) = read_json_lines(Path("deep/out") / name)
        found[item["g"]] = folder
    assert sorted(found) == sorted(TRAVERSALS)
    assert found["ok"] == "ok" and found["a/b"] != found["a?b"]
    again = tmp_path / "again"
    again.mkdir()
    write_json_lines_gz(again / "in/items.jl.gz", items)
    monkeypatch.chdir(again)
    export(
        grouper={"name": grouper, "options": options},
        writer={"filebase": "deep/out/{groups[0]}/part_"},
        batch_size=4,
    )
    assert output_files("deep/out") == files  # deterministic names: a resume finds its files again


def test_cli_runs_processing_modules_and_validate_reports_all_problems(tmp_path: Path) -> None:
    write_json_lines_gz(tmp_path / "in/items.jl.gz", ITEMS)
    config = {
        "reader": {"name": "FSReader", "options": {"input": "in/items.jl.gz"}},
        "filter_before": {"name": "DupeFilter", "options": {"store_path": "seen.sqlite"}},
        "transform": {"name": "JqTransform", "options": {"jq_filter": "{id, city: .address.city}"}},
        "grouper": {
            "name": "PythonExpGrouper",
            "options": {"python_expressions": ["item['city'] or 'none'"]},
        },
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/{groups[0]}/items_", "compression": "none"},
        },
    }
    write_config(tmp_path / "config.yaml", config)
    result = run_ozzy("run", "config.yaml", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {
        name: decompress(tmp_path / "out" / name).decode().splitlines()
        for name in output_files(tmp_path / "out")
    }
    assert lines == {
        "Göteborg/items_0000.jl": ['{"id":2,"city":"Göteborg"}'],
        "Madrid/items_0000.jl": ['{"id":6,"city":"Madrid"}'],
        "Málaga/items_0000.jl": ['{"id":1,"city":"Málaga"}'],
        "none/items_0000.jl": ['{"id":4,"city":null}', '{"id":5,"city":null}'],
    }
    config["transform"]["options"]["jq_filter"] = "{id"
    config["grouper"]["options"]["python_expressions"] = ["item.__class__"]
    config["filter_before"] = {
        "name": "PythonexpFilter",
        "options": {"python_expression": "1", "imports": {"s": "subprocess"}},
    }
    write_config(tmp_path / "bad.yaml", config)
    result = run_ozzy("validate", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "bad.yaml:" in output and "3 errors" in output
    assert "transform (JqTransform): option 'jq_filter'" in output
    assert "grouper (PythonExpGrouper): option 'python_expressions'" in output
    assert "filter_before (PythonexpFilter): option 'imports'" in output


# -- kill -9 and resume -----------------------------------------------------------------------------

CRASH_ITEMS = 6000
CRASH_FILES = 3
PER_FILE = 120


def crash_item(number: int) -> dict[str, Any]:
    rng = random.Random(number)
    return {
        "id": number,
        "_key": f"k{(number * 7919) % 4500}",  # 1500 repeats, spread over the input
        "kind": rng.choice(["alpha", "beta", "gamma"]),
        "price": round(rng.random() * 100, 2),
        "info": {"city": rng.choice(["Málaga", "東京", None])},
    }


@pytest.fixture(scope="module")
def crash_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("processing-crash-input")
    items = [crash_item(number) for number in range(CRASH_ITEMS)]
    return write_input_files(folder, items, CRASH_FILES), items


def _group_of(item: dict[str, Any], grouped_by: str) -> str:
    if grouped_by == "dupes":
        return item["kind"]
    return f"{item['id'] % 3}/{str(item['price'] > 50).lower()}"


def _scenario(input_dir: Path, grouped_by: str) -> dict[str, Any]:
    filebase = "out/{groups[0]}/part_" if grouped_by == "dupes" else "out/{groups[0]}/{groups[1]}/part_"
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(input_dir)}, "batch_size": 50}},
        "writer": {"name": "FSWriter", "options": {"filebase": filebase, "items_per_buffer_write": PER_FILE}},
    }
    if grouped_by == "dupes":
        config["filter_before"] = {"name": "DupeFilter"}
        config["grouper"] = {"name": "FileKeyGrouper", "options": {"keys": ["kind"]}}
    else:  # int and bool group values
        config["grouper"] = {
            "name": "PythonExpGrouper",
            "options": {"python_expressions": ["item['id'] % 3", "item['price'] > 50"]},
        }
    return config


@pytest.mark.parametrize(("grouped_by", "seed"), [("dupes", 41), ("dupes", 42), ("expression", 43)])
def test_kill_9_and_resume_gives_exact_output(
    grouped_by: str, seed: int, tmp_path: Path, crash_input: tuple[Path, list[dict[str, Any]]]
) -> None:
    input_dir, items = crash_input
    if grouped_by == "dupes":
        seen: set[str] = set()
        kept = []
        for item in items:
            if item["_key"] not in seen:
                seen.add(item["_key"])
                kept.append(item)
    else:
        kept = items
    expected: dict[str, list[int]] = {}
    for item in kept:
        expected.setdefault(f"{_group_of(item, grouped_by)}/part_.jl.gz", []).append(item["id"])
    total_files = sum(-(-len(ids) // PER_FILE) for ids in expected.values())
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    harness = CrashHarness(tmp_path / "job", _scenario(input_dir, grouped_by), env={"TMPDIR": str(temporary)})
    plan = harness.random_plan(random.Random(seed), total_files, CRASH_ITEMS // 50, interruptions=2)
    report = harness.run(plan, seed=seed, label=f"processing-{grouped_by}")
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert report.interruptions >= 1, "no kill landed inside the run" + context
    problems = check_exact_output(
        harness.output,
        expected,
        lambda path: [item["id"] for item in read_json_lines(path)],
        items_per_file=PER_FILE,
    )
    assert not problems, "\n  ".join(problems) + context
    state = harness.committed_state()
    assert state and state["finished"], context
    if grouped_by == "dupes":
        assert state["modules"]["filter_before"]["batches"] >= CRASH_ITEMS // 50
        assert [name for name in os.listdir(temporary) if name.startswith("ozzy-dupes-")] == [], context
    stats = final_stats(report)
    assert stats["items_written"] == len(kept), context
    print(report.describe())
