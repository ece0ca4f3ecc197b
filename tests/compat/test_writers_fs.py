"""exporters tests/test_writers.py (FSWriter, FilebaseBaseWriter, ConsoleWriter, reservoir sampling,
md5, consistency) and tests/test_formatters.py, through FSWriter's files."""

from __future__ import annotations

import bz2
import csv
import datetime
import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from xml.dom.minidom import parseString

import pytest

from tests.compat.conftest import RunOzzy, console, files_under, fs_input, items_of, random_reader
from tests.helpers import grouped_file_names

PEOPLE = [{"name": "Roberto", "birthday": "12/05/1987"}, {"name": "Claudia", "birthday": "21/12/1985"}]
KEYS = [{"key1": f"value1{n}", "key2": f"value2{n}"} for n in (1, 2, 3)]
CSV_BATCH = [
    {"key1": "value1", "key2": value} for value in ("valu'e2", 'valu"e2', "valu|e2", "value2", "value2")
]


def fs_writer(filebase: str, **options: Any) -> dict[str, Any]:
    return {"name": "exporters.writers.fs_writer.FSWriter", "options": {"filebase": filebase, **options}}


@pytest.mark.parametrize(
    ("compression", "name", "unpack"),
    [
        (None, "exporter_test0000.jl.gz", gzip.decompress),  # FSWriterTest.test_get_file_number
        ("gz", "exporter_test0000.jl.gz", gzip.decompress),  # test_compression_gzip_format
        ("bz2", "exporter_test0000.jl.bz2", bz2.decompress),  # test_compression_bz2_format
        ("none", "exporter_test0000.jl", lambda data: data),  # test_no_compression
        (
            "zip",  # test_compression_zip_format: one member named like the file without .zip
            "exporter_test0000.jl.zip",
            lambda data: zipfile.ZipFile(io.BytesIO(data)).read("exporter_test0000.jl"),
        ),
    ],
)
def test_fs_writer_compression(
    run_ozzy: RunOzzy, work: Path, compression: str | None, name: str, unpack: Any
) -> None:
    options = {} if compression is None else {"compression": compression}
    result = run_ozzy({"reader": fs_input(work, PEOPLE), "writer": fs_writer("out/exporter_test", **options)})
    assert result.code == 0, result.err
    assert files_under(work / "out") == [name]
    assert [json.loads(line) for line in unpack((work / "out" / name).read_bytes()).splitlines()] == PEOPLE
    assert result.stats["files_written"] == 1


def test_invalid_compression_format(run_ozzy: RunOzzy, work: Path) -> None:
    """FSWriterTest.test_invalid_compression_format."""
    result = run_ozzy({"reader": fs_input(work, PEOPLE), "writer": fs_writer("out/x", compression="unknown")})
    assert result.code == 2
    assert "compression" in result.err
    assert not (work / "out").exists()


def test_file_number_with_date(run_ozzy: RunOzzy, work: Path) -> None:
    """FSWriterTest.test_get_file_number_with_date: strftime in folder and name, start_file_count."""
    filebase = "out/%Y%m%d/{file_number}_exporter_test_%m%d%y"
    result = run_ozzy({"reader": fs_input(work, PEOPLE), "writer": fs_writer(filebase, start_file_count=1)})
    assert result.code == 0, result.err
    now = datetime.datetime.now()
    assert f"out/{now:%Y%m%d}/1_exporter_test_{now:%m%d%y}.jl.gz" in files_under(work)


def test_create_filebase_name_with_groups_and_date(run_ozzy: RunOzzy, work: Path) -> None:
    """FilebaseBaseWriterTest.test_create_filebase_name / FilebaseTest: strftime and groups in folders."""
    items = [{"a": "g1", "b": "g2"}]
    result = run_ozzy(
        {
            "reader": fs_input(work, items),
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["a", "b"]}},
            "writer": fs_writer("out/%m/%Y-some_folder_{groups[0]}/{groups[1]}_{file_number}_"),
        }
    )
    assert result.code == 0, result.err
    now = datetime.datetime.now()
    assert files_under(work / "out") == [f"{now:%m}/{now:%Y}-some_folder_g1/g2_0_.jl.gz"]


def test_file_number_in_a_folder_is_a_configuration_error(run_ozzy: RunOzzy, work: Path) -> None:
    """FilebaseBaseWriterTest.test_wrong_file_number_in_filebase: exporters raised KeyError at the
    first flush; Ozzy refuses the config before reading (exit 2)."""
    result = run_ozzy(
        {
            "reader": fs_input(work, [{"a": "g1", "b": "g2"}]),
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["a", "b"]}},
            "writer": fs_writer("out/%m/%Y-some_folder_{file_number}/{groups[1]}_"),
        }
    )
    assert result.code == 2
    assert "file_number" in result.err
    assert not (work / "out").exists()


@pytest.mark.parametrize(("compression", "suffix"), [("gz", ".jl.gz"), ("none", ".jl"), ("bz2", ".jl.bz2")])
def test_filebase_ending_in_slash(run_ozzy: RunOzzy, work: Path, compression: str, suffix: str) -> None:
    """FilebaseBaseWriterTest.test_get_file_number_not_implemented (``filebase: /tmp/``) and the
    docs' ``"filebase": "/tmp/output/"``: files are ``<dir>/0000.<ext>``."""
    result = run_ozzy(
        {"reader": fs_input(work, PEOPLE), "writer": fs_writer("out/", compression=compression)}
    )
    assert result.code == 0, result.err
    assert files_under(work / "out") == [f"0000{suffix}"]


def test_writer_with_grouped_data(run_ozzy: RunOzzy, work: Path) -> None:
    """FSWriterTest.test_writer_with_grouped_data: two items per file, a folder per group."""
    batch = [
        {"city": "Madrid", "country": "ES", "monument": "Royal Palace"},
        {"city": "Valencia", "country": "ES", "monument": "Torres de Serranos"},
        {"city": "Paris", "country": "FR", "monument": "Eiffel Tour"},
        {"city": "Paris", "country": "FR", "monument": "Champ de Mars"},
        {"city": "Paris", "country": "FR", "monument": "Arc de Triomphe"},
    ]
    result = run_ozzy(
        {
            "reader": fs_input(work, batch),
            "grouper": {
                "name": "exporters.groupers.python_exp_grouper.PythonExpGrouper",
                "options": {"python_expressions": ["item['country']", "item['city']"]},
            },
            "writer": fs_writer("out/{groups[0]}/{groups[1]}/file", items_per_buffer_write=2),
        }
    )
    assert result.code == 0, result.err
    assert files_under(work / "out") == grouped_file_names({"ES/Madrid": 1, "ES/Valencia": 1, "FR/Paris": 2})
    assert (
        items_of(work / "out/FR/Paris/file0000.jl.gz") + items_of(work / "out/FR/Paris/file0001.jl.gz")
        == batch[2:]
    )


def test_md5_generation(run_ozzy: RunOzzy, work: Path) -> None:
    """FSWriterTest.test_writer_md5_generation and CustomWriterTest.test_md5sum_file: an
    ``md5checksum.md5`` next to the files. Departure (docs/design.md, "Departures from exporters'
    output": ``md5checksum.md5`` lines): ``<md5>  <path>`` with two spaces, as md5sum writes."""
    result = run_ozzy(
        {"reader": fs_input(work, PEOPLE), "writer": fs_writer("out/exporter_test", generate_md5=True)}
    )
    assert result.code == 0, result.err
    assert files_under(work / "out") == ["exporter_test0000.jl.gz", "md5checksum.md5"]
    import hashlib

    digest = hashlib.md5((work / "out/exporter_test0000.jl.gz").read_bytes()).hexdigest()
    [line] = (work / "out/md5checksum.md5").read_text().splitlines()
    assert line.startswith(f"{digest}  ")
    assert line.endswith("exporter_test0000.jl.gz")


def test_check_consistency_passes(run_ozzy: RunOzzy, work: Path) -> None:
    """FSWriterTest.test_check_writer_consistency (the passing half; the other half edits files
    between flush and finish, which no config can do)."""
    result = run_ozzy(
        {"reader": fs_input(work, PEOPLE), "writer": fs_writer("out/exporter_test", check_consistency=True)}
    )
    assert result.code == 0, result.err
    assert items_of(work / "out/exporter_test0000.jl.gz") == PEOPLE


def test_write_buffer_items_per_file(run_ozzy: RunOzzy, work: Path) -> None:
    """CustomWriterTest.test_write_buffer_removes_files: items_per_buffer_write 1 gives 3 files and
    leaves no temporary file behind."""
    result = run_ozzy(
        {"reader": fs_input(work, KEYS), "writer": fs_writer("out/part_", items_per_buffer_write=1)}
    )
    assert result.code == 0, result.err
    assert files_under(work / "out") == ["part_0000.jl.gz", "part_0001.jl.gz", "part_0002.jl.gz"]
    assert [items_of(work / "out" / name)[0] for name in files_under(work / "out")] == KEYS


@pytest.mark.parametrize("run", [0, 1])
def test_reservoir_sampling(run_ozzy: RunOzzy, work: Path, run: int) -> None:
    """ReservoirSamplingWriterTest.test_sample_writer: 10 distinct items of 100."""
    items = [{"key1": f"value1{n}", "key2": f"value2{n}"} for n in range(100)]
    result = run_ozzy(
        {
            "reader": fs_input(work, items),
            "writer": fs_writer(
                "out/sample_",
                write_buffer="exporters.write_buffers.reservoir_sampling_buffer.ReservoirSamplingWriteBuffer",
                write_buffer_options={"sample_size": 10},
            ),
        }
    )
    assert result.code == 0, result.err
    sample = items_of(work / "out/sample_0000.jl.gz")
    assert len(sample) == 10
    assert len({json.dumps(item) for item in sample}) == 10
    assert all(item in items for item in sample)


def test_console_writer_counts_items(run_ozzy: RunOzzy, work: Path) -> None:
    """ConsoleWriterTest.test_write_console: 10 items printed and counted."""
    result = run_ozzy({"reader": random_reader(10, 10), "writer": console()})
    assert result.code == 0, result.err
    assert len(result.printed_items) == 10
    assert result.stats["items_written"] == 10


# -- formatters (tests/test_formatters.py, CustomWriterTest.*_formatter) ------------------------------


def formatted(
    run_ozzy: RunOzzy, work: Path, items: list[dict[str, Any]], formatter: dict[str, Any], **writer: Any
) -> tuple[str, str]:
    result = run_ozzy(
        {
            "reader": fs_input(work, items),
            "writer": fs_writer("out/f_", compression="none", **writer),
            "exporter_options": {"formatter": formatter},
        }
    )
    assert result.code == 0, result.err
    [name] = files_under(work / "out")
    return name, (work / "out" / name).read_text()


def test_json_formatter_default(run_ozzy: RunOzzy, work: Path) -> None:
    """JsonFormatterTest.test_format / CustomWriterTest.test_custom_writer: JSON lines, ``.jl``.
    Departure (docs/design.md, "Departures from exporters' output": JSON lines): compared by parsed values."""
    name, text = formatted(
        run_ozzy, work, KEYS, {"name": "exporters.export_formatter.json_export_formatter.JsonExportFormatter"}
    )
    assert name == "f_0000.jl"
    assert [json.loads(line) for line in text.splitlines()] == KEYS


def test_json_lines_are_compact_utf8(run_ozzy: RunOzzy, work: Path) -> None:
    """Departure (docs/design.md, "Departures from exporters' output": JSON lines): exporters wrote ``json.dumps`` (``", "``, ``\\u00f1``); Ozzy writes
    compact JSON with raw UTF-8."""
    _, text = formatted(run_ozzy, work, [{"país": "España", "n": 1}], {"name": "JsonExportFormatter"})
    assert text == '{"país":"España","n":1}\n'


def test_json_formatter_array(run_ozzy: RunOzzy, work: Path) -> None:
    """CustomWriterTest.test_custom_writer_with_json_file_formatter: ``jsonlines: false`` writes one
    JSON array, ``.json``."""
    name, text = formatted(
        run_ozzy,
        work,
        KEYS,
        {
            "name": "exporters.export_formatter.json_export_formatter.JsonExportFormatter",
            "options": {"jsonlines": False},
        },
    )
    assert name == "f_0000.json"
    assert json.loads(text) == KEYS


def test_csv_formatter_without_options_is_a_configuration_error(run_ozzy: RunOzzy, work: Path) -> None:
    """CSVFormatterTest.test_create_without_options_raises_errors: fields or schema required."""
    result = run_ozzy(
        {
            "reader": fs_input(work, KEYS),
            "writer": fs_writer("out/f_"),
            "exporter_options": {"formatter": {"name": "CSVExportFormatter"}},
        }
    )
    assert result.code == 2
    assert "fields" in result.err
    assert not (work / "out").exists()


@pytest.mark.parametrize(
    ("case", "options", "read"),
    [
        ("test_format_batch_and_load_file", {"fields": ["key1", "key2"]}, lambda f: list(csv.DictReader(f))),
        (
            "test_format_batch_no_show_titles",
            {"show_titles": False, "fields": ["key1", "key2"]},
            lambda f: list(csv.DictReader(f, fieldnames=["key1", "key2"])),
        ),
        (
            "test_format_batch_with_custom_delimiter",
            {"fields": ["key1", "key2"], "delimiter": "|", "show_titles": True},
            lambda f: list(csv.DictReader(f, delimiter="|")),
        ),
        (
            "test_format_from_schema",
            {
                "show_titles": True,
                "schema": {
                    "$schema": "http://json-schema.org/draft-04/schema",
                    "properties": {"key1": {"type": "string"}, "key2": {"type": "string"}},
                    "required": ["key1"],
                    "type": "object",
                },
            },
            lambda f: list(csv.DictReader(f)),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_csv_formatter(run_ozzy: RunOzzy, work: Path, case: str, options: dict[str, Any], read: Any) -> None:
    """CSVFormatterTest.*: the file reads back as the items (quotes, ``|`` and ``'`` survive)."""
    name, text = formatted(
        run_ozzy,
        work,
        CSV_BATCH,
        {"name": "exporters.export_formatter.csv_export_formatter.CSVExportFormatter", "options": options},
    )
    assert name == "f_0000.csv"
    assert read(io.StringIO(text)) == CSV_BATCH
    header = text.splitlines()[0]
    if options.get("show_titles", True):
        assert header.replace('"', "") == options.get("delimiter", ",").join(["key1", "key2"])
    else:
        assert "key1" not in header


def test_csv_formatter_in_a_writer(run_ozzy: RunOzzy, work: Path) -> None:
    """CustomWriterTest.test_custom_writer_with_csv_formatter: no titles, rows only."""
    _, text = formatted(
        run_ozzy,
        work,
        KEYS,
        {"name": "CSVExportFormatter", "options": {"show_titles": False, "fields": ["key1", "key2"]}},
    )
    assert list(csv.reader(io.StringIO(text))) == [
        ["value11", "value21"],
        ["value12", "value22"],
        ["value13", "value23"],
    ]


def test_xml_formatter_default(run_ozzy: RunOzzy, work: Path) -> None:
    """CustomWriterTest.test_custom_writer_with_xml_formatter: header, ``<root>``, one ``<item>`` a
    line with ``type`` attributes, ``.xml``."""
    name, text = formatted(
        run_ozzy, work, KEYS, {"name": "exporters.export_formatter.xml_export_formatter.XMLExportFormatter"}
    )
    assert name == "f_0000.xml"
    lines = text.splitlines()
    assert lines[0] == '<?xml version="1.0" encoding="UTF-8"?>'
    assert lines[1] == "<root>"
    assert lines[-1] == "</root>"
    items = [parseString(line).getElementsByTagName("item")[0] for line in lines[2:-1]]
    assert [
        {key: item.getElementsByTagName(key)[0].firstChild.nodeValue for key in ("key1", "key2")}
        for item in items
    ] == KEYS
    assert items[0].getElementsByTagName("key1")[0].getAttribute("type") == "str"


def test_xml_formatter_with_options(run_ozzy: RunOzzy, work: Path) -> None:
    """CustomWriterTest.test_custom_writer_with_xml_formatter_with_options."""
    options = {
        "attr_type": False,
        "fields_order": ["key1", "key2"],
        "item_name": "XmlItem",
        "root_name": "RootItem",
    }
    _, text = formatted(run_ozzy, work, KEYS, {"name": "XMLExportFormatter", "options": options})
    lines = text.splitlines()
    assert lines[:2] == ['<?xml version="1.0" encoding="UTF-8"?>', "<RootItem>"]
    assert lines[-1] == "</RootItem>"
    for line in lines[2:-1]:
        node = parseString(line).getElementsByTagName("XmlItem")[0]
        assert [child.localName for child in node.childNodes] == ["key1", "key2"]
        assert not node.getElementsByTagName("key1")[0].getAttribute("type")


def test_xml_booleans(run_ozzy: RunOzzy, work: Path) -> None:
    """Departure (docs/design.md, "Departures from exporters' output": XML booleans): ``true``/``false`` with ``type="bool"``."""
    _, text = formatted(run_ozzy, work, [{"ok": True}], {"name": "XMLExportFormatter"})
    node = parseString(text.splitlines()[2]).getElementsByTagName("ok")[0]
    assert node.firstChild.nodeValue == "true"
    assert node.getAttribute("type") == "bool"
