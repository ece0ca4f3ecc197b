"""FS -> FS round trips through the real exporter: every formatter and compression, grouping,
file splitting, limits, md5 files, sampling, every kind of stream input, and the real CLI.

Each test writes input files, runs ``BasicExporter(config).export()`` (or ``ozzy run``) in a
temporary working directory and reads the output back with independent parsers (json, csv,
xml.etree, gzip/bz2/zipfile/zstandard), checking the exact file names and the exact items.
"""

from __future__ import annotations

import bz2
import csv
import datetime
import functools
import gzip
import hashlib
import io
import json
import os
import xml.etree.ElementTree as ET
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import zstandard

from airflow_provider_ozzy.engine.schema import config_schema
from airflow_provider_ozzy.errors import InconsistentWriteError
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.writers.fs_writer import FSWriter
from tests.helpers import (
    decompress,
    exporters_options,
    grouped_file_names,
    output_files,
    read_json_lines,
    run_ozzy,
    write_config,
    write_json_lines_gz,
)

COMPRESSIONS = ["gz", "bz2", "zip", "zstd", "none"]
SUFFIXES = {"gz": ".gz", "bz2": ".bz2", "zip": ".zip", "zstd": ".zstd", "none": ""}

# Values chosen to break naive formatters: unicode, quotes, delimiters, newlines, numbers-as-text,
# empty containers, deep nesting, nulls, keys that are not XML names.
ITEMS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "Ana",
        "price": 9.5,
        "active": True,
        "code": "007",
        "tags": ["a", "b"],
        "meta": {"x": 1, "y": [1, 2.5, None]},
        "city": {"name": "Madrid", "zip": "28001"},
        "note": None,
        "my key": "spaced",
    },
    {
        "id": 2,
        "name": "Bj\u00f6rn \u00e9\u00e8 \u6771\u4eac \U0001f600",
        "price": -0.25,
        "active": False,
        "code": "",
        "tags": [],
        "meta": {},
        "city": {"name": "Valencia", "zip": "46001"},
        "note": "comma, \"double\" 'single' <tag> & semi;colon|pipe",
        "2nd": 2,
    },
    {
        "id": 3,
        "name": "multi\nline\ttab",
        "price": 0,
        "active": True,
        "code": "1e3",
        "tags": ["x"],
        "meta": {"deep": {"deeper": {"deepest": "yes"}}},
        "city": {"name": "Paris"},
        "note": "  padded  ",
    },
    {
        "id": 4,
        "name": "last",
        "price": 123456.789,
        "active": False,
        "code": "-5",
        "tags": ["\u00fc", "\u00df"],
        "meta": {"list": [{"a": 1}, {"b": [True, False]}]},
        "city": {"name": "Berlin", "zip": "10115"},
        "note": "x",
    },
]

CSV_FIELDS = ["id", "name", "price", "active", "code", "tags", "meta", "city.name", "note", "absent"]


# -- running exports ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def export(config: dict[str, Any]) -> dict[str, Any]:
    """Run ``config`` in-process (job state under ./.state); every config must also pass the schema."""
    config = dict(config)
    config.setdefault("persistence", {"name": "PicklePersistence", "options": {"file_path": ".state"}})
    _schema_validator().validate(config)
    stats = BasicExporter(config).export()
    assert stats["finished"] is True
    return stats


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run every export with ``tmp_path`` as the working directory, so names are relative."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def fs_config(
    reader_input: Any = "in/items.jl.gz",
    *,
    batch_size: int = 2,
    writer: dict[str, Any] | None = None,
    formatter: dict[str, Any] | None = None,
    **sections: Any,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": reader_input, "batch_size": batch_size}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_", **(writer or {})}},
        **sections,
    }
    if formatter is not None:
        config["exporter_options"] = {"formatter": formatter}
    return config


def numbered(count: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"n": number, **extra} for number in range(count)]


def all_output_items(folder: str = "out") -> list[dict[str, Any]]:
    return [item for name in output_files(folder) for item in read_json_lines(Path(folder) / name)]


# -- independent decoders ---------------------------------------------------------------------------


def _json_stream(text: str) -> list[Any]:
    """Several JSON documents one after the other (pretty-printed JSON lines)."""
    decoder = json.JSONDecoder()
    found, position = [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return found
        value, position = decoder.raw_decode(text, position)
        found.append(value)


def _keys_sorted_everywhere(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(_keys_sorted_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(_keys_sorted_everywhere(v) for v in value)
    return True


def _dig(item: dict[str, Any], field: str) -> Any:
    if field in item:
        return item[field]
    value: Any = item
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _csv_cell(value: Any) -> Any:
    """What one value must read back as, through csv with QUOTE_NONNUMERIC (numbers as floats)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, (int, float)):
        return float(value)
    return value


def _csv_rows(text: str, delimiter: str) -> list[list[Any]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=csv.QUOTE_NONNUMERIC))


def _xml_name(element: ET.Element) -> str:
    return element.get("name", element.tag) if element.tag == "key" else element.tag


def _xml_typed(element: ET.Element) -> Any:
    kind = element.get("type")
    text = element.text or ""
    if kind == "dict":
        return {_xml_name(child): _xml_typed(child) for child in element}
    if kind == "list":
        assert all(child.tag == "item" for child in element)
        return [_xml_typed(child) for child in element]
    if kind == "null":
        assert text == "" and len(element) == 0
        return None
    if kind == "bool":
        assert text in ("true", "false")
        return text == "true"
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    assert kind == "str", f"unexpected type attribute {kind!r}"
    return text


def _xml_untyped(element: ET.Element) -> Any:
    assert "type" not in element.attrib
    children = list(element)
    if not children:
        return element.text or ""
    if all(child.tag == "item" for child in children):
        return [_xml_untyped(child) for child in children]
    return {_xml_name(child): _xml_untyped(child) for child in children}


def _as_text(value: Any) -> Any:
    """The expected untyped XML reading of a value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return {key: _as_text(each) for key, each in value.items()} if value else ""
    if isinstance(value, list):
        return [_as_text(each) for each in value] if value else ""
    return str(value)


# -- formatter checks: (bytes of the file, input items) -> assert ----------------------------------------


def check_json_lines(data: bytes, items: list[dict[str, Any]]) -> None:
    text = data.decode("utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    lines = text.split("\n")[:-1]
    assert len(lines) == len(items)
    parsed = [json.loads(line) for line in lines]
    assert parsed == items
    assert [list(item) for item in parsed] == [list(item) for item in items]  # key order kept


def check_json_array(data: bytes, items: list[dict[str, Any]]) -> None:
    text = data.decode("utf-8")
    assert text.startswith("[") and text.endswith("\n]")
    parsed = json.loads(text)
    assert parsed == items
    assert [list(item) for item in parsed] == [list(item) for item in items]


def check_json_pretty_lines(data: bytes, items: list[dict[str, Any]]) -> None:
    text = data.decode("utf-8")
    assert '{\n  "' in text  # indented by 2
    parsed = _json_stream(text)
    assert parsed == items
    assert all(_keys_sorted_everywhere(item) for item in parsed)


def check_json_pretty_array(data: bytes, items: list[dict[str, Any]]) -> None:
    text = data.decode("utf-8")
    assert text.startswith("[") and '\n  "' in text
    parsed = json.loads(text)
    assert parsed == items
    assert all(_keys_sorted_everywhere(item) for item in parsed)


def csv_check(fields: list[str], titles: bool = True, delimiter: str = ",") -> Any:
    def check(data: bytes, items: list[dict[str, Any]]) -> None:
        rows = _csv_rows(data.decode("utf-8"), delimiter)
        if titles:
            assert rows[0] == fields
            rows = rows[1:]
        assert rows == [[_csv_cell(_dig(item, field)) for field in fields] for item in items]

    return check


def check_xml_default(data: bytes, items: list[dict[str, Any]]) -> None:
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<root>\n')
    assert data.endswith(b"\n</root>")
    root = ET.fromstring(data)
    assert root.tag == "root"
    assert [element.tag for element in root] == ["item"] * len(items)
    parsed = [{_xml_name(child): _xml_typed(child) for child in element} for element in root]
    assert parsed == items
    assert [list(item) for item in parsed] == [list(item) for item in items]


def check_xml_untyped(data: bytes, items: list[dict[str, Any]]) -> None:
    root = ET.fromstring(data)
    parsed = [{_xml_name(child): _xml_untyped(child) for child in element} for element in root]
    assert parsed == [{key: _as_text(value) for key, value in item.items()} for item in items]


def check_xml_custom(data: bytes, items: list[dict[str, Any]]) -> None:
    root = ET.fromstring(data)
    assert root.tag == "records"
    assert [element.tag for element in root] == ["record"] * len(items)
    for element, item in zip(root, items, strict=True):
        names = [_xml_name(child) for child in element]
        assert names[:3] == ["note", "id", "city"]
        assert names[3:] == [key for key in item if key not in ("note", "id", "city")]
        assert {name: _xml_typed(child) for name, child in zip(names, element, strict=True)} == item


SCHEMA = {"type": "object", "properties": {"price": {}, "name": {}, "id": {}, "code": {}}}


def _formatter(name: str, extension: str, check: Any, case: str, **options: Any) -> Any:
    """One FORMATTERS case: the formatter section (``options`` only when some are given)."""
    section: dict[str, Any] = {"name": name, "options": options} if options else {"name": name}
    return pytest.param(section, extension, check, id=case)


JSON, CSV, XML = "JsonExportFormatter", "CSVExportFormatter", "XMLExportFormatter"
FORMATTERS = [
    _formatter(JSON, "jl", check_json_lines, "json-lines"),
    _formatter(JSON, "json", check_json_array, "json-array", jsonlines=False),
    _formatter(JSON, "jl", check_json_pretty_lines, "json-pretty-lines", pretty_print=True),
    _formatter(
        JSON, "json", check_json_pretty_array, "json-pretty-array", pretty_print=True, jsonlines=False
    ),
    _formatter(CSV, "csv", csv_check(CSV_FIELDS), "csv-fields", fields=CSV_FIELDS),
    _formatter(CSV, "csv", csv_check(["code", "id", "name", "price"]), "csv-schema", schema=SCHEMA),
    _formatter(
        CSV, "csv", csv_check(CSV_FIELDS, titles=False), "csv-no-titles", fields=CSV_FIELDS, show_titles=False
    ),
    _formatter(
        CSV, "csv", csv_check(CSV_FIELDS, delimiter=";"), "csv-semicolon", fields=CSV_FIELDS, delimiter=";"
    ),
    _formatter(
        CSV, "csv", csv_check(CSV_FIELDS, delimiter="\t"), "csv-tab", fields=CSV_FIELDS, delimiter="\t"
    ),
    _formatter(XML, "xml", check_xml_default, "xml-default"),
    _formatter(XML, "xml", check_xml_untyped, "xml-untyped", attr_type=False),
    _formatter(
        XML,
        "xml",
        check_xml_custom,
        "xml-custom",
        fields_order=["note", "id", "city"],
        item_name="record",
        root_name="records",
    ),
]


# -- every formatter x every compression ---------------------------------------------------------------


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize(("formatter", "extension", "check"), FORMATTERS)
def test_formatter_and_compression_round_trip(work, formatter, extension, check, compression):
    write_json_lines_gz("in/items.jl.gz", ITEMS)
    stats = export(fs_config(writer={"compression": compression}, formatter=formatter))

    name = f"items_0000.{extension}{SUFFIXES[compression]}"
    assert output_files("out") == [name]
    path = work / "out" / name
    raw = path.read_bytes()
    if compression == "gz":
        assert raw[:2] == b"\x1f\x8b"
    elif compression == "bz2":
        assert raw[:3] == b"BZh"
    elif compression == "zstd":
        assert raw[:4] == b"\x28\xb5\x2f\xfd"
    elif compression == "zip":
        with zipfile.ZipFile(path) as archive:
            assert len(archive.infolist()) == 1
    check(decompress(path), ITEMS)
    assert stats["items_read"] == stats["items_written"] == len(ITEMS)
    assert stats["files_written"] == 1
    assert stats["bytes_written"] == len(raw)


def test_compressed_outputs_hold_the_same_bytes(work):
    """Whatever the compression, the decompressed file is the same formatted text."""
    write_json_lines_gz("in/items.jl.gz", ITEMS)
    contents = set()
    for compression in COMPRESSIONS:
        export(fs_config(writer={"filebase": f"out/{compression}/items_", "compression": compression}))
        contents.add(decompress(work / "out" / compression / f"items_0000.jl{SUFFIXES[compression]}"))
    assert len(contents) == 1
    check_json_lines(contents.pop(), ITEMS)


def test_zip_member_is_named_after_the_file(work):
    """exporters named the single zip member like the file without '.zip'."""
    write_json_lines_gz("in/items.jl.gz", numbered(5))
    export(fs_config(writer={"compression": "zip", "items_per_buffer_write": 3}))
    assert output_files("out") == ["items_0000.jl.zip", "items_0001.jl.zip"]
    for number, expected in ((0, [0, 1, 2]), (1, [3, 4])):
        with zipfile.ZipFile(work / "out" / f"items_{number:04d}.jl.zip") as archive:
            assert archive.namelist() == [f"items_{number:04d}.jl"]
            assert archive.testzip() is None
        assert [
            item["n"] for item in read_json_lines(work / "out" / f"items_{number:04d}.jl.zip")
        ] == expected


def test_zip_member_names_continue_after_a_resume(work):
    write_json_lines_gz("in/items.jl.gz", numbered(10))
    config = fs_config(batch_size=2, writer={"compression": "zip", "items_per_buffer_write": 3})
    config["persistence"] = {"name": "PicklePersistence", "options": {"file_path": ".state"}}
    exporter = BasicExporter(
        config, progress=lambda update: update["items_read"] >= 4 and exporter.request_stop()
    )
    assert exporter.export()["finished"] is False
    assert output_files("out") == ["items_0000.jl.zip"]  # items 3.. are buffered, not committed
    resumed = BasicExporter.from_persistence_uri(exporter.persistence.uri)
    assert resumed.export()["finished"] is True
    files = output_files("out")
    assert files == [f"items_{number:04d}.jl.zip" for number in range(4)]
    for name in files:
        with zipfile.ZipFile(work / "out" / name) as archive:
            assert archive.namelist() == [name.removesuffix(".zip")]
    assert [item for name in files for item in read_json_lines(work / "out" / name)] == numbered(10)


@pytest.mark.parametrize("level", [1, 9])
def test_compression_level_gives_valid_output(work, level):
    write_json_lines_gz("in/items.jl.gz", ITEMS * 20)
    export(fs_config(writer={"compression": "gz", "compression_level": level}))
    assert read_json_lines(work / "out/items_0000.jl.gz") == ITEMS * 20


def test_csv_extra_fields_ignored_and_missing_fields_empty(work):
    items = [{"a": 1, "b": "x", "extra": "dropped"}, {"b": "only b"}, {"a": 3, "c": {"d": "nested"}}]
    write_json_lines_gz("in/items.jl.gz", items)
    export(
        fs_config(
            writer={"compression": "none"},
            formatter={"name": "CSVExportFormatter", "options": {"fields": ["a", "b", "c.d"]}},
        )
    )
    text = (work / "out/items_0000.csv").read_text(encoding="utf-8")
    assert text == '"a","b","c.d"\n1,"x",""\n"","only b",""\n3,"","nested"\n'


def test_xml_replaces_characters_xml_cannot_carry(work):
    items = [{"text": "bell\x07 nul\x00 ok\u00e9", "k": "<&>"}]
    write_json_lines_gz("in/items.jl.gz", items)
    export(fs_config(writer={"compression": "none"}, formatter={"name": "XMLExportFormatter"}))
    root = ET.fromstring((work / "out/items_0000.xml").read_bytes())
    assert _xml_typed(root[0][0]) == "bell\ufffd nul\ufffd ok\u00e9"
    assert _xml_typed(root[0][1]) == "<&>"


# -- grouping --------------------------------------------------------------------------------------------

PLACES = [
    {"id": 1, "country": "ES", "city": {"name": "Madrid"}},
    {"id": 2, "country": "ES", "city": {"name": "Valencia"}},
    {"id": 3, "country": "FR", "city": {"name": "Paris"}},
    {"id": 4, "country": "ES", "city": {"name": "Madrid"}},
    {"id": 5, "country": "FR", "city": {"name": "Paris"}},
    {"id": 6, "country": "FR", "city": {"name": "Paris"}},
    {"id": 7, "country": "ES", "city": {"name": "Madrid"}},
]


def grouped_config(keys: list[str], filebase: str, batch_size: int = 3, **writer: Any) -> dict[str, Any]:
    return fs_config(
        batch_size=batch_size,
        writer={"filebase": filebase, "items_per_buffer_write": 2, **writer},
        grouper={"name": "FileKeyGrouper", "options": {"keys": keys}},
    )


def ids(path: str | Path) -> list[int]:
    return [item["id"] for item in read_json_lines(path)]


def test_grouped_files_by_nested_key(work):
    write_json_lines_gz("in/items.jl.gz", PLACES)
    stats = export(grouped_config(["country", "city.name"], "out/{groups[0]}/{groups[1]}/file"))
    assert output_files("out") == grouped_file_names({"ES/Madrid": 2, "ES/Valencia": 1, "FR/Paris": 2})
    assert ids("out/ES/Madrid/file0000.jl.gz") == [1, 4]
    assert ids("out/ES/Madrid/file0001.jl.gz") == [7]
    assert ids("out/ES/Valencia/file0000.jl.gz") == [2]
    assert ids("out/FR/Paris/file0000.jl.gz") == [3, 5]
    assert ids("out/FR/Paris/file0001.jl.gz") == [6]
    assert read_json_lines("out/ES/Madrid/file0000.jl.gz") == [PLACES[0], PLACES[3]]
    assert stats["files_written"] == 5 and stats["items_written"] == 7


def test_group_appended_to_prefix_without_groups_placeholder(work):
    write_json_lines_gz("in/items.jl.gz", PLACES)
    export(grouped_config(["country"], "out/items_"))
    assert output_files("out") == [
        "items_0000-ES.jl.gz",
        "items_0000-FR.jl.gz",
        "items_0001-ES.jl.gz",
        "items_0001-FR.jl.gz",
    ]
    assert ids("out/items_0000-ES.jl.gz") == [1, 2]
    assert ids("out/items_0001-ES.jl.gz") == [4, 7]
    assert ids("out/items_0000-FR.jl.gz") == [3, 5]
    assert ids("out/items_0001-FR.jl.gz") == [6]


def test_two_keys_appended_to_prefix(work):
    write_json_lines_gz("in/items.jl.gz", PLACES[:3])
    export(grouped_config(["country", "city.name"], "out/items_"))
    assert output_files("out") == [
        "items_0000-ES-Madrid.jl.gz",
        "items_0000-ES-Valencia.jl.gz",
        "items_0000-FR-Paris.jl.gz",
    ]


def test_missing_and_null_group_values_are_unknown(work):
    items = [
        {"id": 1, "country": "ES", "city": {"name": "Madrid"}},
        {"id": 2, "city": {"name": "Lyon"}},
        {"id": 3, "country": None},
        {"id": 4, "country": "ES", "city": "not a dict"},
        {"id": 5, "country": "ES", "city": {"name": None}},
    ]
    write_json_lines_gz("in/items.jl.gz", items)
    export(
        grouped_config(
            ["country", "city.name"], "out/{groups[0]}/{groups[1]}/file", items_per_buffer_write=10
        )
    )
    assert output_files("out") == grouped_file_names(
        {"ES/Madrid": 1, "ES/unknown": 1, "unknown/Lyon": 1, "unknown/unknown": 1}
    )
    assert ids("out/ES/unknown/file0000.jl.gz") == [4, 5]
    assert ids("out/unknown/unknown/file0000.jl.gz") == [3]


UNSAFE_VALUES = [
    "../x",
    "../../etc",
    "..",
    ".",
    "",
    "a/b",
    "a\\b",
    "a:b",
    "a?b",
    "/abs",
    "x\x00y",
    "x\ny",
    "tab\there",
    ".hidden",
    " lead",
    "C:\\windows",
    "~",
    "ok",
]


def _assert_confined(root: Path, files: list[str]) -> None:
    out = (root / "out").resolve()
    for name in files:
        resolved = (root / "out" / name).resolve()
        assert out in resolved.parents, f"{name} escapes the output folder"


@pytest.mark.parametrize(
    "filebase",
    ["out/{groups[0]}/file", "out/items_", "out/g-{groups[0]}-{file_number}"],
    ids=["dir", "suffix", "prefix"],
)
def test_unsafe_group_values_stay_inside_and_never_collide(work, filebase):
    items = [{"id": index, "country": value} for index, value in enumerate(UNSAFE_VALUES)]
    write_json_lines_gz("in/items.jl.gz", items)
    export(grouped_config(["country"], filebase, items_per_buffer_write=100))

    # nothing was written anywhere but under out/ (in/ and .state/ are the test's and the job's)
    everything = output_files(work)
    assert [name for name in everything if not name.startswith(("out/", "in/", ".state/"))] == []
    files = output_files("out")
    _assert_confined(work, files)
    # one file per distinct value, each holding exactly that value's item
    assert len(files) == len(UNSAFE_VALUES)
    found = {}
    for name in files:
        content = read_json_lines(work / "out" / name)
        assert len(content) == 1
        found[content[0]["country"]] = name
    assert sorted(found) == sorted(UNSAFE_VALUES)
    assert found["ok"] in ("ok/file0000.jl.gz", "items_0000-ok.jl.gz", "g-ok-0.jl.gz")


def test_unsafe_group_names_are_deterministic(work):
    items = [{"id": 1, "country": "a/b"}, {"id": 2, "country": "../up"}]
    write_json_lines_gz("in/items.jl.gz", items)
    export(grouped_config(["country"], "first/{groups[0]}/file"))
    export(grouped_config(["country"], "second/{groups[0]}/file"))
    assert output_files("first") == output_files("second")


def test_group_values_of_different_types_do_not_overwrite_each_other(work):
    """5 and "5" (or true and "true") name the same folder: their items must all survive."""
    items = [
        {"id": 1, "country": 5},
        {"id": 2, "country": "5"},
        {"id": 3, "country": True},
        {"id": 4, "country": "true"},
        {"id": 5, "country": 5},
    ]
    write_json_lines_gz("in/items.jl.gz", items)
    export(grouped_config(["country"], "out/{groups[0]}/file", batch_size=5, items_per_buffer_write=10))
    files = output_files("out")
    got = sorted(item["id"] for name in files for item in read_json_lines(work / "out" / name))
    assert got == [1, 2, 3, 4, 5]


def test_file_number_format_and_start_file_count(work):
    write_json_lines_gz("in/items.jl.gz", PLACES)
    export(grouped_config(["country"], "out/{groups[0]}/part-{file_number:03d}", start_file_count=7))
    assert output_files("out") == [
        "ES/part-007.jl.gz",
        "ES/part-008.jl.gz",
        "FR/part-007.jl.gz",
        "FR/part-008.jl.gz",
    ]
    assert ids("out/ES/part-008.jl.gz") == [4, 7]


def test_start_file_count_without_groups(work):
    write_json_lines_gz("in/items.jl.gz", numbered(5))
    export(fs_config(writer={"start_file_count": 3, "items_per_buffer_write": 2}))
    assert output_files("out") == ["items_0003.jl.gz", "items_0004.jl.gz", "items_0005.jl.gz"]


def test_strftime_in_filebase(work):
    write_json_lines_gz("in/items.jl.gz", numbered(2))
    before = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    export(fs_config(writer={"filebase": "out/%Y-%m-%d/dump_%Y_"}))
    after = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    expected = {f"{day}/dump_{day[:4]}_0000.jl.gz" for day in (before, after)}
    files = output_files("out")
    assert len(files) == 1 and files[0] in expected


# -- file splitting and limits -----------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3, 10])
def test_items_per_buffer_write_splits_files(work, batch_size):
    write_json_lines_gz("in/items.jl.gz", numbered(10))
    export(fs_config(batch_size=batch_size, writer={"items_per_buffer_write": 3}))
    files = output_files("out")
    assert files == ["items_0000.jl.gz", "items_0001.jl.gz", "items_0002.jl.gz", "items_0003.jl.gz"]
    counts = [[item["n"] for item in read_json_lines(work / "out" / name)] for name in files]
    assert counts == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


@pytest.mark.parametrize(
    ("size", "items_per_file", "expected"),
    [
        (30, 100, [3, 3, 3, 1]),  # 11 + 12 + 12 >= 30 after the third item
        (23, 100, [2, 2, 2, 2, 2]),  # 11 + 12 == 23 reaches the limit exactly
        (5, 100, [1] * 10),  # a single item is larger than the limit
        (30, 2, [2, 2, 2, 2, 2]),  # the item count is reached first
        (10_000, 4, [4, 4, 2]),
    ],
)
@pytest.mark.parametrize("compression", ["gz", "none"])
def test_size_per_buffer_write_splits_files(work, size, items_per_file, expected, compression):
    # every item formats to exactly 11 bytes: {"n":"003"}, joined by "\n"
    items = [{"n": f"{number:03d}"} for number in range(10)]
    write_json_lines_gz("in/items.jl.gz", items)
    export(
        fs_config(
            batch_size=4,
            writer={
                "size_per_buffer_write": size,
                "items_per_buffer_write": items_per_file,
                "compression": compression,
            },
        )
    )
    files = output_files("out")
    assert files == [f"items_{number:04d}.jl{SUFFIXES[compression]}" for number in range(len(expected))]
    contents = [read_json_lines(work / "out" / name) for name in files]
    assert [len(content) for content in contents] == expected
    assert [item for content in contents for item in content] == items


def test_items_limit_with_fs_reader(work):
    items = numbered(17)
    write_json_lines_gz("in/items.jl.gz", items)
    stats = export(fs_config(batch_size=3, writer={"items_limit": 5}))
    assert output_files("out") == ["items_0000.jl.gz"]
    assert read_json_lines("out/items_0000.jl.gz") == items[:5]
    assert stats["items_written"] == 5


def test_items_limit_with_random_reader(work):
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 17, "batch_size": 3}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_", "items_limit": 5}},
    }
    stats = export(config)
    assert [item["key"] for item in read_json_lines("out/items_0000.jl.gz")] == [0, 1, 2, 3, 4]
    assert stats["items_written"] == 5 and stats["items_accepted"] == 5


def test_items_limit_with_groups_and_splitting(work):
    write_json_lines_gz("in/items.jl.gz", PLACES)
    stats = export(grouped_config(["country"], "out/{groups[0]}/file", items_limit=5))
    assert sorted(item["id"] for item in all_output_items()) == [1, 2, 3, 4, 5]
    assert stats["items_written"] == 5


def test_items_limit_larger_than_input(work):
    write_json_lines_gz("in/items.jl.gz", numbered(4))
    export(fs_config(writer={"items_limit": 100}))
    assert read_json_lines("out/items_0000.jl.gz") == numbered(4)


# -- consistency checks and md5 files ----------------------------------------------------------------------


def test_check_consistency_passes_on_a_normal_run(work):
    write_json_lines_gz("in/items.jl.gz", PLACES)
    stats = export(grouped_config(["country"], "out/{groups[0]}/file", check_consistency=True))
    assert stats["files_written"] == 4
    assert sorted(item["id"] for item in all_output_items()) == list(range(1, 8))


@pytest.mark.parametrize("damage", ["truncate", "change", "delete"])
def test_check_consistency_detects_damaged_files(tmp_path, damage):
    writer = FSWriter(
        {"filebase": str(tmp_path / "out/items_"), "check_consistency": True, "items_per_buffer_write": 2}
    )
    try:
        writer.open(JsonExportFormatter(), None)
        writer.write_batch({(): numbered(3)}, 0)
        writer.flush()
        target = tmp_path / "out/items_0000.jl.gz"
        assert target.exists() and (tmp_path / "out/items_0001.jl.gz").exists()
        if damage == "truncate":
            target.write_bytes(target.read_bytes()[:-3])
        elif damage == "change":
            data = bytearray(target.read_bytes())
            data[-5] ^= 0xFF
            target.write_bytes(bytes(data))
        else:
            target.unlink()
        with pytest.raises(InconsistentWriteError, match="items_0000.jl.gz") as raised:
            writer.finish_writing()
        assert "items_0001" not in str(raised.value)
    finally:
        writer.close()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _read_md5_file(path: Path) -> dict[str, str]:
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(None, 1)
        entries[name.strip()] = digest
    return entries


def test_generate_md5_lists_every_file(work):
    write_json_lines_gz("in/items.jl.gz", numbered(7))
    export(fs_config(writer={"generate_md5": True, "items_per_buffer_write": 3}))
    data_files = ["items_0000.jl.gz", "items_0001.jl.gz", "items_0002.jl.gz"]
    assert output_files("out") == sorted([*data_files, "md5checksum.md5"])
    entries = _read_md5_file(work / "out/md5checksum.md5")
    assert sorted(entries) == [f"out/{name}" for name in data_files]
    for name, digest in entries.items():
        assert digest == _md5(work / name)


def test_generate_md5_with_groups(work):
    write_json_lines_gz("in/items.jl.gz", PLACES)
    export(grouped_config(["country", "city.name"], "out/{groups[0]}/{groups[1]}/file", generate_md5=True))
    files = output_files("out")
    assert "md5checksum.md5" in files
    data_files = [name for name in files if name != "md5checksum.md5"]
    assert len(data_files) == 5
    entries = _read_md5_file(work / "out/md5checksum.md5")
    assert sorted(entries) == sorted(f"out/{name}" for name in data_files)
    assert all(digest == _md5(work / name) for name, digest in entries.items())


# -- reservoir sampling ------------------------------------------------------------------------------------


def sampling_config(sample_size: int, **options: Any) -> dict[str, Any]:
    return {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 100, "batch_size": 7}},
        "writer": {
            "name": "FSWriter",
            "options": {
                "filebase": "out/sample_",
                "items_per_buffer_write": 3,
                "write_buffer": "ReservoirSamplingWriteBuffer",
                "write_buffer_options": {"sample_size": sample_size, **options},
            },
        },
    }


def test_reservoir_sampling_writes_exactly_sample_size_distinct_items(work):
    export(sampling_config(10))
    assert output_files("out") == ["sample_0000.jl.gz"]
    sample = read_json_lines("out/sample_0000.jl.gz")
    assert len(sample) == 10
    keys = [item["key"] for item in sample]
    assert len(set(keys)) == 10 and all(0 <= key < 100 for key in keys)
    # the sampled items are real input items, unchanged
    config = sampling_config(10)
    config["writer"] = {"name": "FSWriter", "options": {"filebase": "all/items_"}}
    export(config)
    every = {item["key"]: item for item in read_json_lines("all/items_0000.jl.gz")}
    assert all(every[item["key"]] == item for item in sample)


def test_reservoir_sampling_keeps_everything_below_sample_size(work):
    config = sampling_config(500)
    export(config)
    assert [item["key"] for item in read_json_lines("out/sample_0000.jl.gz")] == list(range(100))


def test_reservoir_sampling_with_seed_is_reproducible(work):
    first, second = sampling_config(10, seed=42), sampling_config(10, seed=42)
    second["writer"]["options"]["filebase"] = "again/sample_"
    export(first)
    export(second)
    assert read_json_lines("out/sample_0000.jl.gz") == read_json_lines("again/sample_0000.jl.gz")


def test_reservoir_sampling_per_group(work):
    config = sampling_config(4)
    config["grouper"] = {"name": "FileKeyGrouper", "options": {"keys": ["country_code"]}}
    config["writer"]["options"]["filebase"] = "out/{groups[0]}/sample_"
    export(config)
    files = output_files("out")
    assert len(files) == 5  # RandomReader uses five countries
    for name in files:
        sample = read_json_lines(work / "out" / name)
        assert len(sample) == 4 and len({item["key"] for item in sample}) == 4
        assert {item["country_code"] for item in sample} == {name.split("/")[0]}


# -- stream input ------------------------------------------------------------------------------------------


def jl_bytes(items: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def write_bytes(path: str, data: bytes) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(data)


def read_back() -> list[Any]:
    return [item["n"] for item in read_json_lines("out/items_0000.jl.gz")]


def test_directory_read_in_sorted_path_order(work):
    write_bytes("in/b.jl", jl_bytes(numbered(2, file="b")))
    write_json_lines_gz("in/a.jl.gz", numbered(3, file="a"))
    write_bytes("in/sub/c.jl.bz2", bz2.compress(jl_bytes(numbered(1, file="sub/c"))))
    write_bytes("in/B.jl", jl_bytes(numbered(1, file="B")))
    export(fs_config({"dir": "in"}, batch_size=2))
    assert [item["file"] for item in read_json_lines("out/items_0000.jl.gz")] == [
        "B",
        "a",
        "a",
        "a",
        "b",
        "b",
        "sub/c",
    ]


def test_directory_pattern_is_searched_in_the_full_path(work):
    write_json_lines_gz("in/keep/1.jl.gz", numbered(1, file="keep/1"))
    write_json_lines_gz("in/other/2.jl.gz", numbered(1, file="other/2"))
    write_bytes("in/keep/3.jl", jl_bytes(numbered(1, file="keep/3")))
    export(fs_config({"dir": "in", "pattern": r"keep/.*\.gz$"}))
    assert [item["file"] for item in read_json_lines("out/items_0000.jl.gz")] == ["keep/1"]


@pytest.mark.parametrize("include", [False, True])
def test_dot_files_skipped_unless_included(work, include):
    write_bytes("in/a.jl", jl_bytes(numbered(1, file="a")))
    write_bytes("in/.hidden.jl", jl_bytes(numbered(1, file=".hidden")))
    write_bytes("in/.git/x.jl", jl_bytes(numbered(1, file=".git/x")))
    entry: dict[str, Any] = {"dir": "in"}
    if include:
        entry["include_dot_files"] = True
    export(fs_config(entry))
    got = [item["file"] for item in read_json_lines("out/items_0000.jl.gz")]
    assert got == ([".git/x", ".hidden", "a"] if include else ["a"])


def test_dir_pointer(work):
    write_json_lines_gz("data/2024/part1.jl.gz", numbered(2))
    write_json_lines_gz("data/2024/part2.jl.gz", numbered(2, second=True))
    (work / "pointer.txt").write_text(str(work / "data/2024") + "\n")
    export(fs_config({"dir_pointer": "pointer.txt"}))
    assert read_json_lines("out/items_0000.jl.gz") == numbered(2) + numbered(2, second=True)


def test_a_list_of_inputs_is_read_in_one_global_path_order_each_path_once(work):
    """exporters sorted every input path together and read a path listed twice once."""
    write_json_lines_gz("z/last.jl.gz", numbered(1, src="z"))
    write_json_lines_gz("in/a.jl.gz", numbered(1, src="in/a"))
    write_json_lines_gz("in/b.jl.gz", numbered(1, src="in/b"))
    write_json_lines_gz("single.jl.gz", numbered(1, src="single"))
    export(fs_config(["z/last.jl.gz", {"dir": "in"}, {"file": "single.jl.gz"}, "in/b.jl.gz"]))
    assert [item["src"] for item in read_json_lines("out/items_0000.jl.gz")] == [
        "in/a",
        "in/b",
        "single",
        "z",
    ]


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


INPUT_ENCODINGS = {
    "gzip": ("in.jl.gz", lambda data: gzip.compress(data)),
    "gzip-members": (
        "in.jl.gz",
        lambda data: gzip.compress(data[:10]) + gzip.compress(data[10:40]) + gzip.compress(data[40:]),
    ),
    "bz2": ("in.jl.bz2", lambda data: bz2.compress(data)),
    "bz2-streams": ("in.jl.bz2", lambda data: bz2.compress(data[:25]) + bz2.compress(data[25:])),
    "zstd": ("in.jl.zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
    "zstd-frames": (
        "in.jl.zst",
        lambda data: (
            zstandard.ZstdCompressor().compress(data[:33]) + zstandard.ZstdCompressor().compress(data[33:])
        ),
    ),
    "zip": ("in.jl.zip", lambda data: _zip_bytes({"items.jl": data})),
    "zip-members": (
        "in.zip",
        lambda data: _zip_bytes(
            {"one.jl": data[: data.index(b"\n") + 1], "two.jl": data[data.index(b"\n") + 1 :]}
        ),
    ),
    "plain": ("in.jl", lambda data: data),
    "plain-no-final-newline": ("in.jl", lambda data: data.rstrip(b"\n")),
}


@pytest.mark.parametrize("encoding", list(INPUT_ENCODINGS))
def test_compressed_inputs_are_detected(work, encoding):
    items = numbered(9, text="x" * 7)
    name, encode = INPUT_ENCODINGS[encoding]
    write_bytes(f"in/{name}", encode(jl_bytes(items)))
    export(fs_config({"dir": "in"}, batch_size=4))
    assert read_json_lines("out/items_0000.jl.gz") == items


@pytest.mark.parametrize(
    ("decompressor", "name", "encode"),
    [
        ("ZLibDecompressor", "in.data", lambda data: gzip.compress(data[:20]) + gzip.compress(data[20:])),
        ("ZLibDecompressor", "in.jl.z", zlib.compress),  # raw zlib, as exporters' default read it
        ("GzipDecompressor", "in.data", gzip.compress),
        ("Bz2Decompressor", "in.data", bz2.compress),
        ("ZstdDecompressor", "in.data", lambda data: zstandard.ZstdCompressor().compress(data)),
        ("ZipDecompressor", "in.data", lambda data: _zip_bytes({"x": data})),
        ("NoDecompressor", "in.jl.gz", lambda data: data),  # the name lies; the configured decompressor wins
    ],
)
def test_configured_decompressor(work, decompressor, name, encode):
    items = numbered(6)
    write_bytes(f"in/{name}", encode(jl_bytes(items)))
    export(fs_config({"dir": "in"}, decompressor={"name": decompressor}))
    assert read_json_lines("out/items_0000.jl.gz") == items


def test_gzip_members_larger_than_a_read_chunk(work):
    items = [
        {"n": number, "digest": hashlib.sha256(str(number).encode()).hexdigest()} for number in range(30000)
    ]
    data = jl_bytes(items)
    half = data.index(b"\n", len(data) // 2) + 1
    write_bytes("in/big.jl.gz", gzip.compress(data[:half], 1) + gzip.compress(data[half:], 1))
    assert os.path.getsize("in/big.jl.gz") > 1 << 20  # several read chunks per member
    stats = export(fs_config({"dir": "in"}, batch_size=10000, writer={"compression": "none"}))
    assert stats["items_read"] == 30000
    assert read_json_lines("out/items_0000.jl") == items


def test_csv_input(work):
    text = 'id,name,city\n1,Ana,"Madrid, ES"\n2,"Bo ""B""",\n3,"multi\nline",Paris\n'
    write_bytes("in/people.csv.gz", gzip.compress(text.encode("utf-8")))
    export(fs_config({"dir": "in"}, deserializer={"name": "CSVDeserializer"}))
    assert read_json_lines("out/items_0000.jl.gz") == [
        {"id": "1", "name": "Ana", "city": "Madrid, ES"},
        {"id": "2", "name": 'Bo "B"', "city": ""},
        {"id": "3", "name": "multi\nline", "city": "Paris"},
    ]


def test_csv_input_with_delimiter_and_encoding(work):
    text = "id;name\n1;Jos\u00e9\n2;Zo\u00eb\n"
    write_bytes("in/people.csv", text.encode("latin-1"))
    export(
        fs_config(
            {"dir": "in"},
            deserializer={"name": "CSVDeserializer", "options": {"delimiter": ";", "encoding": "latin-1"}},
            formatter={"name": "CSVExportFormatter", "options": {"fields": ["name", "id"]}},
            writer={"compression": "none"},
        )
    )
    assert (work / "out/items_0000.csv").read_text(
        encoding="utf-8"
    ) == '"name","id"\n"Jos\u00e9","1"\n"Zo\u00eb","2"\n'


def test_empty_directory_writes_nothing(work):
    (work / "in").mkdir()
    stats = export(fs_config({"dir": "in"}))
    assert not (work / "out").exists()
    assert stats["items_read"] == 0 and stats["files_written"] == 0


# -- the real command line ---------------------------------------------------------------------------------


def _stats_line(stdout: str) -> dict[str, Any]:
    return json.loads(stdout.strip().splitlines()[-1])


def test_cli_random_reader_to_console(tmp_path):
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 7, "batch_size": 3, "seed": 5}},
        "writer": {"name": "ConsoleWriter"},
    }
    path = write_config(tmp_path / "console.yaml", config)
    result = run_ozzy("run", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    items = [json.loads(line) for line in lines[:-1]]
    assert [item["key"] for item in items] == list(range(7))
    assert all(set(item) == {"key", "country_code", "state", "city", "value"} for item in items)
    assert _stats_line(result.stdout)["items_written"] == 7
    # the same seed gives the same items in-process
    from airflow_provider_ozzy.readers.random_reader import RandomReader

    reader = RandomReader({"number_of_items": 7, "seed": 5})
    reader.open(None)
    assert items == reader.get_next_batch()


def _console_keys(formatter: str, body: str) -> list[int]:
    if formatter == "json-array":
        return [item["key"] for item in json.loads(body)]
    if formatter == "csv":
        rows = list(csv.reader(io.StringIO(body + "\n", newline="")))
        assert rows[0] == ["key", "state"] and all(len(row) == 2 for row in rows)
        return [int(row[0]) for row in rows[1:]]
    root = ET.fromstring(body)
    return [int(element.find("key").text) for element in root]


@pytest.mark.parametrize(
    ("formatter", "section"),
    [
        ("json-array", {"name": "JsonExportFormatter", "options": {"jsonlines": False}}),
        ("csv", {"name": "CSVExportFormatter", "options": {"fields": ["key", "state"]}}),
        ("xml", {"name": "XMLExportFormatter"}),
    ],
)
def test_cli_console_output_is_parseable(tmp_path, formatter, section):
    """The formatted items, then the stats line on a line of its own."""
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 5, "batch_size": 2}},
        "writer": {"name": "ConsoleWriter"},
        "exporter_options": {"formatter": section},
    }
    path = write_config(tmp_path / "console.json", config)
    result = run_ozzy("run", str(path), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("}\n")
    body, _, stats = result.stdout.rstrip("\n").rpartition("\n")
    assert not body.endswith("\n")  # no blank line between the items and the stats
    assert _console_keys(formatter, body) == [0, 1, 2, 3, 4]
    assert json.loads(stats)["finished"] is True


def test_cli_fs_to_fs_yaml(tmp_path):
    write_json_lines_gz(tmp_path / "in/a.jl.gz", ITEMS)
    config = fs_config({"dir": "in"}, writer={"items_per_buffer_write": 3, "compression": "bz2"})
    path = write_config(tmp_path / "job.yaml", config)
    result = run_ozzy("run", str(path), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert output_files(tmp_path / "out") == ["items_0000.jl.bz2", "items_0001.jl.bz2"]
    got = read_json_lines(tmp_path / "out/items_0000.jl.bz2") + read_json_lines(
        tmp_path / "out/items_0001.jl.bz2"
    )
    assert got == ITEMS
    stats = _stats_line(result.stdout)
    assert stats["items_written"] == 4 and stats["files_written"] == 2
    assert stats["resume_uri"].startswith("pickle:")


def test_cli_runs_an_exporters_0_6_18_config_unchanged(tmp_path):
    write_json_lines_gz(tmp_path / "input/dump_1.jl.gz", PLACES[:4])
    write_json_lines_gz(tmp_path / "input/dump_2.jl.gz", PLACES[4:])
    write_json_lines_gz(tmp_path / "input/ignored.txt.gz", [{"id": 99, "country": "XX"}])
    config = {
        "reader": {
            "name": "exporters.readers.fs_reader.FSReader",
            "options": {"input": {"dir": "input", "pattern": "dump_.*\\.jl\\.gz$"}, "batch_size": 3},
        },
        "decompressor": {"name": "exporters.decompressors.ZLibDecompressor", "options": {}},
        "deserializer": {"name": "exporters.deserializers.JsonLinesDeserializer", "options": {}},
        "filter": {"name": "exporters.filters.no_filter.NoFilter", "options": {}},
        "transform": {"name": "exporters.transform.no_transform.NoTransform", "options": {}},
        "filter_after": {"name": "exporters.filters.no_filter.NoFilter"},
        "grouper": {
            "name": "exporters.groupers.file_key_grouper.FileKeyGrouper",
            "options": {"keys": ["country", "city.name"]},
        },
        "writer": {
            "name": "exporters.writers.fs_writer.FSWriter",
            "options": {
                "filebase": "output/{groups[0]}/{groups[1]}/file",
                "items_per_buffer_write": 2,
                "compression": "gz",
                "generate_md5": False,
            },
        },
        "persistence": {
            "name": "exporters.persistence.pickle_persistence.PicklePersistence",
            "options": {"file_path": "state/"},
        },
        "stats_manager": {
            "name": "exporters.stats_managers.basic_stats_manager.BasicStatsManager",
            "options": {},
        },
        "exporter_options": {**exporters_options(jsonlines=True), "prevent_bypass": False},
    }
    path = write_config(tmp_path / "exporters.json", config)
    _schema_validator().validate(config)
    result = run_ozzy("run", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert output_files(tmp_path / "output") == grouped_file_names(
        {"ES/Madrid": 2, "ES/Valencia": 1, "FR/Paris": 2}
    )
    assert ids(tmp_path / "output/FR/Paris/file0000.jl.gz") == [3, 5]
    assert ids(tmp_path / "output/ES/Madrid/file0001.jl.gz") == [7]
    assert len([n for n in os.listdir(tmp_path / "state") if not n.startswith(".")]) == 1  # .ozzy-locks
    assert _stats_line(result.stdout)["items_written"] == 7
