"""Configs that cannot work are refused, hostile YAML and data cannot exhaust the machine, values survive.

* Every numeric option has a declared range, checked by validation (``ozzy validate`` exits 2) and
  published by ``ozzy schema``; a YAML key given twice is an error naming both lines.
* YAML aliases may not expand a config past a limit (billion laughs); a data line longer than the
  deserializer's ``max_line_bytes`` is a located error (or a dead letter), and long lines are read
  in linear time.
* Integers beyond 64 bits are kept exact by every deserializer and formatter, or refused with a
  located error; never silently turned into floats.

Everything runs the real ``ozzy`` command on real files and reads the output back.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.core.options import merged_options
from airflow_provider_ozzy.engine.registry import all_modules
from tests.helpers import decompress, output_files, run_ozzy, write_config

HUGE = [123456789012345678901234567890, 2**64, -(2**63) - 1, 2**63, -(10**40)]


def fs_config(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "in")}}},
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "part-")}},
    }
    config.update(sections)
    return config


def write_input(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(gzip.compress(data, compresslevel=1) if name.endswith(".gz") else data)
    return path


def only_output(tmp_path: Path) -> bytes:
    files = output_files(tmp_path / "out")
    assert len(files) == 1, files
    return decompress(tmp_path / "out" / files[0])


def one_line_error(result: Any) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith(("ozzy:", "  - "))]
    assert lines, result.stderr
    return "\n".join(lines)


# -- 17.2: ranges of numeric options -------------------------------------------------------------------


def numeric_types(option_type: Any) -> bool:
    types = option_type if isinstance(option_type, tuple) else (option_type,)
    return any(each in (int, float, "int_list") for each in types)


def test_every_numeric_option_of_every_module_declares_its_range() -> None:
    from airflow_provider_ozzy.engine.config import EXPORTER_OPTIONS

    missing = []
    for kind, class_name, cls in all_modules():
        for name, spec in merged_options(cls).items():
            if numeric_types(spec.get("type")) and not ("minimum" in spec and "maximum" in spec):
                missing.append(f"{kind}.{class_name}.{name}")
    for name, spec in EXPORTER_OPTIONS.items():
        if numeric_types(spec.get("type")) and not ("minimum" in spec and "maximum" in spec):
            missing.append(f"exporter_options.{name}")
    assert not missing, missing


@pytest.mark.parametrize(
    ("section", "option", "value", "expected"),
    [
        ("reader", "batch_size", 0, "option 'batch_size' must be from 1 to"),
        ("reader", "batch_size", -5, "option 'batch_size' must be from 1 to"),
        ("writer", "compression_level", 99, "option 'compression_level'"),
        ("writer", "items_per_buffer_write", 0, "option 'items_per_buffer_write' must be"),
    ],
)
def test_out_of_range_numbers_are_refused_before_anything_runs(
    tmp_path: Path, section: str, option: str, value: int, expected: str
) -> None:
    write_input(tmp_path, "a.jl", b'{"a": 1}\n')
    config = fs_config(tmp_path)
    config[section]["options"][option] = value
    path = write_config(tmp_path / "job.yaml", config)
    for command in ("validate", "run"):
        result = run_ozzy(command, str(path), cwd=tmp_path, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        message = one_line_error(result)
        assert expected in message, message
        assert "job.yaml:" in message and f"{section} (" in message, message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("compression", "level", "ok"),
    [("gz", 9, True), ("gz", 10, False), ("bz2", 0, False), ("zstd", 22, True), ("zstd", 23, False)],
)
def test_compression_level_range_depends_on_the_format(
    tmp_path: Path, compression: str, level: int, ok: bool
) -> None:
    config = fs_config(tmp_path)
    config["writer"]["options"].update(compression=compression, compression_level=level)
    path = write_config(tmp_path / "job.yaml", config)
    result = run_ozzy("validate", str(path), cwd=tmp_path, timeout=60)
    assert result.returncode == (0 if ok else 2), result.stderr
    if not ok:
        message = one_line_error(result)
        assert "option 'compression_level' must be from" in message, message
        assert compression == "zstd" or f"with compression '{compression}'" in message, message


def test_exporter_options_ranges_are_checked(tmp_path: Path) -> None:
    config = fs_config(tmp_path, exporter_options={"thread_queue_size": -1})
    result = run_ozzy("validate", str(write_config(tmp_path / "job.yaml", config)), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert "option 'thread_queue_size' must be from" in one_line_error(result)


def test_schema_publishes_minimum_and_maximum(tmp_path: Path) -> None:
    result = run_ozzy("schema", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    readers = schema["$defs"]["readers"]["anyOf"]
    fs_reader = next(each for each in readers if "FSReader" in each["properties"]["name"]["anyOf"][0]["enum"])
    batch_size = fs_reader["properties"]["options"]["properties"]["batch_size"]
    assert batch_size["minimum"] == 1 and "maximum" in batch_size
    writers = schema["$defs"]["writers"]["anyOf"]
    fs_writer = next(each for each in writers if "FSWriter" in each["properties"]["name"]["anyOf"][0]["enum"])
    level = fs_writer["properties"]["options"]["properties"]["compression_level"]
    assert level["maximum"] == 22


DUPLICATE_TOP = """\
reader:
  name: FSReader
  options:
    input: {dir: in}
writer:
  name: FSWriter
  options:
    filebase: out/a-
writer:
  name: FSWriter
  options:
    filebase: out/b-
"""

DUPLICATE_NESTED = """\
reader:
  name: FSReader
  options:
    input: {dir: in}
    batch_size: 10
    batch_size: 20
writer:
  name: FSWriter
  options: {filebase: out/a-, compression: none}
"""


@pytest.mark.parametrize(
    ("text", "key", "first", "second"),
    [(DUPLICATE_TOP, "writer", 5, 9), (DUPLICATE_NESTED, "batch_size", 5, 6)],
    ids=["top-level", "nested"],
)
def test_a_key_given_twice_is_an_error_naming_both_lines(
    tmp_path: Path, text: str, key: str, first: int, second: int
) -> None:
    (tmp_path / "job.yaml").write_text(text)
    result = run_ozzy("validate", "job.yaml", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    message = one_line_error(result)
    assert f"job.yaml:{second}" in message and f"'{key}'" in message and f"line {first}" in message, message


def test_a_key_given_twice_in_json_is_an_error_too(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(
        '{"reader": {"name": "FSReader", "options": {"input": "in"}},\n'
        ' "writer": {"name": "FSWriter", "options": {"filebase": "a-"}},\n'
        ' "writer": {"name": "FSWriter", "options": {"filebase": "b-"}}}\n'
    )
    result = run_ozzy("validate", "job.json", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    message = one_line_error(result)
    assert "job.json:3" in message and "'writer'" in message and "line 2" in message, message


# -- 17.3: billion laughs and long lines ----------------------------------------------------------------


def laughs(depth: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, depth):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{','.join(['*' + previous] * 9)}]")
    return "\n".join(lines), chr(ord("a") + depth - 1)


def test_billion_laughs_in_a_transform_schema_is_refused_quickly(tmp_path: Path) -> None:
    anchors, last = laughs()
    text = (
        "x-anchors:\n"
        + "\n".join("  " + line for line in anchors.splitlines())
        + "\nreader: {name: FSReader, options: {input: in}}\n"
        + "writer: {name: FSWriter, options: {filebase: out/a-}}\n"
        + f"transform: {{name: FlatsonTransform, options: {{flatson_schema: {{properties: *{last}}}}}}}\n"
    )
    (tmp_path / "job.yaml").write_text(text)
    for command in ("validate", "run"):
        result = run_ozzy(command, "job.yaml", cwd=tmp_path, timeout=30)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        message = one_line_error(result)
        assert "job.yaml:" in message and "alias" in message, message


def test_billion_laughs_in_csv_fields_is_refused_quickly(tmp_path: Path) -> None:
    anchors, last = laughs()
    text = (
        anchors
        + "\nreader: {name: FSReader, options: {input: in}}\n"
        + "writer: {name: FSWriter, options: {filebase: out/a-}}\n"
        + f"exporter_options: {{formatter: {{name: CSVExportFormatter, options: {{fields: *{last}}}}}}}\n"
    )
    (tmp_path / "job.yaml").write_text(text)
    result = run_ozzy("run", "job.yaml", cwd=tmp_path, timeout=30)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "alias" in one_line_error(result)


def test_ordinary_aliases_still_work(tmp_path: Path) -> None:
    write_input(tmp_path, "a.jl", b'{"a": 1}\n')
    text = (
        "x-common: &opts {filebase: out/a-, compression: none}\n"
        "reader: {name: FSReader, options: {input: {dir: in}}}\n"
        "writer: {name: FSWriter, options: *opts}\n"
    )
    (tmp_path / "job.yaml").write_text(text)
    result = run_ozzy("validate", "job.yaml", cwd=tmp_path, timeout=60)
    # x-common is not a section: the alias itself is fine, the unknown section is the only error
    assert "alias" not in result.stderr and "x-common" in result.stderr


def long_line_config(tmp_path: Path, limit: int | None, **exporter: Any) -> dict[str, Any]:
    deserializer: dict[str, Any] = {"name": "JsonLinesDeserializer"}
    if limit is not None:
        deserializer["options"] = {"max_line_bytes": limit}
    config = fs_config(tmp_path, deserializer=deserializer)
    config["writer"]["options"]["compression"] = "none"
    if exporter:
        config["exporter_options"] = exporter
    return config


def long_record(size: int) -> bytes:
    return json.dumps({"big": "x" * size}).encode()


def test_a_line_longer_than_max_line_bytes_is_a_located_error(tmp_path: Path) -> None:
    write_input(tmp_path, "a.jl", b'{"n": 1}\n' + long_record(3_000_000) + b'\n{"n": 3}\n')
    path = write_config(tmp_path / "job.yaml", long_line_config(tmp_path, 1_000_000))
    result = run_ozzy("run", str(path), cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    message = one_line_error(result)
    assert "a.jl line 2" in message and "max_line_bytes" in message and "1000000" in message, message


def test_a_line_longer_than_max_line_bytes_goes_to_the_dead_letter_file(tmp_path: Path) -> None:
    write_input(tmp_path, "a.jl", b'{"n": 1}\n' + long_record(3_000_000) + b'\n{"n": 3}\n')
    config = long_line_config(tmp_path, 1_000_000, dead_letter_file=str(tmp_path / "dead.jl"))
    result = run_ozzy("run", str(write_config(tmp_path / "job.yaml", config)), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in only_output(tmp_path).splitlines()] == [{"n": 1}, {"n": 3}]
    dead = [json.loads(line) for line in (tmp_path / "dead.jl").read_text().splitlines()]
    assert len(dead) == 1 and dead[0]["line"] == 2 and "max_line_bytes" in dead[0]["error"], dead
    assert len(json.dumps(dead[0])) < 100_000  # the dead letter holds the start, not the whole line


def test_max_line_bytes_has_a_range(tmp_path: Path) -> None:
    path = write_config(tmp_path / "job.yaml", long_line_config(tmp_path, 0))
    result = run_ozzy("validate", str(path), cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "max_line_bytes" in one_line_error(result)


def test_a_long_csv_line_is_a_located_error(tmp_path: Path) -> None:
    write_input(tmp_path, "a.csv", b"a,b\n1,2\n3," + b"y" * 3_000_000 + b"\n5,6\n")
    config = fs_config(
        tmp_path, deserializer={"name": "CSVDeserializer", "options": {"max_line_bytes": 1_000_000}}
    )
    result = run_ozzy("run", str(write_config(tmp_path / "job.yaml", config)), cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    message = one_line_error(result)
    assert "a.csv line 3" in message and "max_line_bytes" in message, message


def test_a_40_mb_line_is_read_in_linear_time(tmp_path: Path) -> None:
    """Before: pending + chunk for every 256 KiB chunk (40 MB: ~4 s of copying; 200 MB: 109 s)."""
    write_input(tmp_path, "a.jl", long_record(40_000_000) + b"\n")
    config = long_line_config(tmp_path, None)
    path = write_config(tmp_path / "job.yaml", config)
    result = run_ozzy("run", str(path), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(only_output(tmp_path)) > 40_000_000


# -- 16.6: integers beyond 64 bits ---------------------------------------------------------------------


def huge_input(tmp_path: Path) -> list[dict[str, Any]]:
    items = [
        {"n": index, "value": value, "nested": {"list": [value, 1.5]}} for index, value in enumerate(HUGE)
    ]
    write_input(tmp_path, "a.jl", b"".join(json.dumps(item).encode() + b"\n" for item in items))
    return items


def export_huge_input(tmp_path: Path, **formatter: Any) -> tuple[list[dict[str, Any]], str]:
    """Export ``huge_input`` with JsonExportFormatter(``formatter``): the items and the output's text."""
    items = huge_input(tmp_path)
    config = fs_config(
        tmp_path, exporter_options={"formatter": {"name": "JsonExportFormatter", "options": formatter}}
    )
    result = run_ozzy("run", str(write_config(tmp_path / "job.yaml", config)), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    return items, only_output(tmp_path).decode()


@pytest.mark.parametrize("jsonlines", [True, False])
def test_huge_integers_survive_json_lines_and_json_arrays(tmp_path: Path, jsonlines: bool) -> None:
    items, text = export_huge_input(tmp_path, jsonlines=jsonlines)
    got = [json.loads(line) for line in text.splitlines()] if jsonlines else json.loads(text)
    assert got == items
    assert "123456789012345678901234567890" in text and "e+" not in text


def test_huge_integers_survive_pretty_printed_json(tmp_path: Path) -> None:
    items, text = export_huge_input(tmp_path, pretty_print=True)
    assert "123456789012345678901234567890" in text and "e+" not in text
    assert all(str(item["value"]) in text for item in items), text


def test_huge_integers_survive_csv(tmp_path: Path) -> None:
    items = huge_input(tmp_path)
    config = fs_config(
        tmp_path,
        exporter_options={
            "formatter": {"name": "CSVExportFormatter", "options": {"fields": ["n", "value", "nested"]}}
        },
    )
    result = run_ozzy("run", str(write_config(tmp_path / "job.yaml", config)), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(only_output(tmp_path).decode())))
    assert [int(row["value"]) for row in rows] == HUGE
    assert [json.loads(row["nested"]) for row in rows] == [item["nested"] for item in items]


def test_huge_integers_survive_xml(tmp_path: Path) -> None:
    huge_input(tmp_path)
    config = fs_config(tmp_path, exporter_options={"formatter": {"name": "XMLExportFormatter"}})
    result = run_ozzy("run", str(write_config(tmp_path / "job.yaml", config)), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    root = ElementTree.fromstring(only_output(tmp_path))
    assert [int(item.find("value").text) for item in root] == HUGE  # type: ignore[union-attr]


def test_huge_integers_in_parquet_are_a_located_error(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    huge_input(tmp_path)
    config = fs_config(tmp_path, exporter_options={"formatter": {"name": "ParquetExportFormatter"}})
    config["writer"]["options"]["compression"] = "none"
    result = run_ozzy("run", str(write_config(tmp_path / "job.yaml", config)), cwd=tmp_path, timeout=60)
    if result.returncode == 0:  # kept exact some other way (e.g. as text): read it back
        import pyarrow.parquet as pq

        table = pq.read_table(tmp_path / "out" / output_files(tmp_path / "out")[0])
        assert [int(each) for each in table.column("value").to_pylist()] == HUGE
        return
    assert result.returncode == 1, result.stderr
    message = one_line_error(result)
    # located in the output file (items do not carry their input line through transforms)
    assert "'nested'" in message or "'value'" in message, message
    assert "beyond 64 bits" in message and "item 1 of the output file" in message, message


def test_huge_integers_from_csv_input_stay_exact(tmp_path: Path) -> None:
    write_input(tmp_path, "a.csv", b"value\n" + b"".join(str(value).encode() + b"\n" for value in HUGE))
    config = fs_config(tmp_path, deserializer={"name": "CSVDeserializer"})
    result = run_ozzy("run", str(write_config(tmp_path / "job.yaml", config)), cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["value"] for line in only_output(tmp_path).splitlines()] == [
        str(v) for v in HUGE
    ]


def test_64_bit_integers_and_floats_are_unchanged(tmp_path: Path) -> None:
    items = [
        {"a": 2**63 - 1, "b": -(2**63), "c": 2**64 - 1, "d": 1e300, "e": 0.1, "f": 12345678901234567890.5}
    ]
    write_input(tmp_path, "a.jl", b"".join(json.dumps(item).encode() + b"\n" for item in items))
    result = run_ozzy(
        "run", str(write_config(tmp_path / "job.yaml", fs_config(tmp_path))), cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in only_output(tmp_path).splitlines()] == items
