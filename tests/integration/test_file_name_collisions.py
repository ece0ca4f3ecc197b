"""No two files of a job share a name (issue 16.4, issue 17.7), end to end on FS and S3.

Each case runs the real exporter from a gzip JSON-lines input into FSWriter (local folder) or
S3Writer (a moto server), then lists and reads back what is at the destination with independent
parsers (gzip + json, boto3). A case fails when a file overwrote another (items lost while the
stats say all were written), when a name escapes ``filebase``'s folder, when a path segment is
longer than a file system allows, or when a filebase that cannot give distinct names is accepted.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import (
    Destination,
    FSDestination,
    S3Destination,
    output_files,
    read_json_lines,
    write_json_lines_gz,
)
from tests.servers.moto_server import MotoServer

CONN = "ozzy_names_s3"
SEGMENT_BYTES = 255  # NAME_MAX of Linux file systems (ext4, xfs, tmpfs)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=["fs", "s3"])
def destination(request: pytest.FixtureRequest, work: Path) -> Iterator[Destination]:
    if request.param == "fs":
        yield FSDestination(work / "dest")
        return
    moto: MotoServer = request.getfixturevalue("moto_server")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", moto.connection_json())
    yield S3Destination(moto, "names", CONN, visible_only=True)


def config(
    items: list[dict[str, Any]], writer: dict[str, Any], keys: list[str] | None = None, name: str = "in"
) -> dict[str, Any]:
    """A job reading ``items`` (written under the folder ``name``), grouped by ``keys`` unless None.

    test_filebase_dir uses it too.
    """
    path = write_json_lines_gz(f"{name}/items.jl.gz", items)
    data: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": str(path), "batch_size": 3}},
        "writer": writer,
        "persistence": {"name": "PicklePersistence", "options": {"file_path": f".state-{name}"}},
    }
    if keys is not None:
        data["grouper"] = {"name": "FileKeyGrouper", "options": {"keys": keys}}
    return data


def export(config: dict[str, Any]) -> dict[str, Any]:
    stats = BasicExporter(config).export()
    assert stats["finished"] is True
    return stats


def items_of(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(data).decode("utf-8").splitlines() if line]


def check_everything_arrived(
    destination: Destination, items: list[dict[str, Any]], stats: dict[str, Any]
) -> dict[str, list[int]]:
    """Every item is in exactly one data file; the stats count what is at the destination."""
    data = {name: items_of(body) for name, body in destination.files().items() if name.endswith(".jl.gz")}
    found = sorted(item["id"] for content in data.values() for item in content)
    assert found == sorted(item["id"] for item in items), f"files: {sorted(data)}"
    assert stats["files_written"] == len(data), f"stats say {stats['files_written']} files: {sorted(data)}"
    assert stats["items_written"] == len(items)
    for name in data:
        for segment in name.split("/"):
            assert len(segment.encode("utf-8")) <= SEGMENT_BYTES, f"segment of {len(segment.encode())} bytes"
    return {name: [item["id"] for item in content] for name, content in data.items()}


PLACES = [
    {"id": 1, "country": "ES", "city": "Madrid"},
    {"id": 2, "country": "ES", "city": "Valencia"},
    {"id": 3, "country": "FR", "city": "Paris"},
    {"id": 4, "country": "ES", "city": "Madrid"},
    {"id": 5, "country": "FR", "city": "Paris"},
    {"id": 6, "country": "FR", "city": "Lyon"},
    {"id": 7, "country": "ES", "city": "Madrid"},
]


# -- names that did not change from file to file -----------------------------------------------------------


def test_group_prefix_without_file_number_gets_the_file_number(destination: Destination):
    """``{groups[0]}_items_`` has no file number: exporters then wrote every file of a group on one name."""
    writer = destination.writer("out/{groups[0]}_items_", items_per_buffer_write=2)
    stats = export(config(PLACES, writer, ["country"]))
    names = check_everything_arrived(destination, PLACES, stats)
    assert sorted(name.rsplit("/", 1)[-1] for name in names) == [
        "ES_items_0000.jl.gz",
        "ES_items_0001.jl.gz",
        "FR_items_0000.jl.gz",
        "FR_items_0001.jl.gz",
    ]


def test_group_missing_from_filebase_is_appended(destination: Destination):
    """``out/{groups[0]}/p_`` with two keys: Madrid and Valencia would have shared ES's files."""
    writer = destination.writer("out/{groups[0]}/p_", items_per_buffer_write=10)
    stats = export(config(PLACES, writer, ["country", "city"]))
    names = check_everything_arrived(destination, PLACES, stats)
    assert sorted(name.split("out/", 1)[1] for name in names) == [
        "ES/p_0000-Madrid.jl.gz",
        "ES/p_0000-Valencia.jl.gz",
        "FR/p_0000-Lyon.jl.gz",
        "FR/p_0000-Paris.jl.gz",
    ]


def test_appended_values_holding_the_separator_do_not_share_a_name(destination: Destination):
    """("x-y", "z") and ("x", "y-z") both read ``items_0000-x-y-z``."""
    items = [{"id": 1, "a": "x-y", "b": "z"}, {"id": 2, "a": "x", "b": "y-z"}]
    stats = export(config(items, destination.writer("out/items_"), ["a", "b"]))
    names = check_everything_arrived(destination, items, stats)
    assert len(names) == 2


def test_group_followed_by_file_number_does_not_share_a_name(destination: Destination):
    """``{groups[0]}{file_number}``: group "1" file 10 and group "11" file 0 both read ``110``."""
    items = [{"id": number, "g": "1"} for number in range(11)] + [{"id": 100, "g": "11"}]
    writer = destination.writer("out/g{groups[0]}{file_number}", items_per_buffer_write=1)
    stats = export(config(items, writer, ["g"]))
    names = check_everything_arrived(destination, items, stats)
    assert len(names) == 12


# -- placeholders that are not plain {groups[N]} / {file_number} -----------------------------------------


@pytest.mark.parametrize(
    "filebase",
    [
        "out/{groups[0][0]}/p_",
        "out/{groups[0]:.1}/p_",
        "out/.{groups[0]:.0}./p_",
        "out/{groups[0]!r}/p_",
        "out/{groups[0].upper}/p_",
        "out/{groups[-1]}/p_",
        "out/p_{file_number:.0e}",
        "out/p_{file_number:x<3}",
    ],
)
def test_placeholders_with_format_specs_or_indexing_are_refused(work: Path, filebase: str):
    """``{groups[0]:.1}`` put apple and avocado in one file; ``.{groups[0]:.0}.`` rendered ``..``."""
    items = [{"id": 1, "fruit": "apple"}, {"id": 2, "fruit": "avocado"}]
    with pytest.raises(ConfigurationError) as raised:
        BasicExporter(config(items, FSDestination(work / "dest").writer(filebase), ["fruit"]))
    message = str(raised.value)
    assert "filebase" in message and "placeholder" in message, message
    assert not (work / "dest").exists() and not (work / "out").exists()


def test_too_long_filebase_is_a_one_line_configuration_error(work: Path):
    writer = FSDestination(work / "dest").writer("out/" + "x" * 300 + "_")
    with pytest.raises(ConfigurationError) as raised:
        BasicExporter(config([{"id": 1}], writer, []))
    problems = [line for line in str(raised.value).splitlines() if "filebase" in line]
    assert len(problems) == 1 and "bytes" in problems[0], str(raised.value)


# -- group values that look like something else -----------------------------------------------------------


def test_group_value_named_like_the_md5_file(destination: Destination):
    """A group folder ``md5checksum.md5`` took the md5 file's place: every run failed at the end."""
    items = [{"id": 1, "g": "md5checksum.md5"}, {"id": 2, "g": "other"}]
    writer = destination.writer("out/{groups[0]}/p_", generate_md5=True)
    stats = export(config(items, writer, ["g"]))
    check_everything_arrived(destination, items, stats)
    files = destination.files()
    md5_names = [name for name in files if name.endswith("out/md5checksum.md5")]
    assert len(md5_names) == 1
    listed = dict(line.split(None, 1)[::-1] for line in files[md5_names[0]].decode().splitlines())
    data = {name: body for name, body in files.items() if name.endswith(".jl.gz")}
    assert len(listed) == len(data) == 2
    for name, body in data.items():
        assert any(listed_name.endswith(name) for listed_name in listed)
        assert hashlib.md5(body).hexdigest() in listed.values()


def test_value_forged_as_a_cleaned_name_gets_its_own_folder(destination: Destination, work: Path):
    """docs/design.md: two different values never share a folder, even one written to look cleaned."""
    first = export(
        config([{"id": 1, "g": "a/b"}], FSDestination(work / "probe").writer("{groups[0]}/p_"), ["g"])
    )
    assert first["files_written"] == 1
    (folder,) = {name.split("/")[0] for name in output_files(work / "probe")}
    assert folder != "a_b", "a/b must be cleaned and suffixed"
    items = [{"id": 1, "g": "a/b"}, {"id": 2, "g": folder}]
    stats = export(config(items, destination.writer("out/{groups[0]}/p_"), ["g"], name="in2"))
    names = check_everything_arrived(destination, items, stats)
    assert len({name.rsplit("/", 1)[0] for name in names}) == 2


def test_value_of_300_bytes_in_100_characters(destination: Destination):
    """100 CJK characters are 300 bytes: past a file system's 255 bytes per name."""
    long_value = "\u4e2d" * 100
    items = [{"id": 1, "g": long_value}, {"id": 2, "g": long_value[:99] + "\u6587"}, {"id": 3, "g": "short"}]
    writer = destination.writer("out/{groups[0]}/p_")
    stats = export(config(items, writer, ["g"]))
    names = check_everything_arrived(destination, items, stats)
    assert len({name.rsplit("/", 1)[0] for name in names}) == 3
    assert any(name.endswith("out/short/p_0000.jl.gz") for name in names)


def test_three_long_values_appended_to_a_name(destination: Destination):
    keys = ["a", "b", "c"]
    items = [{"id": number, **{key: f"{key}{number}" + "v" * 95 for key in keys}} for number in range(3)]
    stats = export(config(items, destination.writer("out/items_"), keys))
    names = check_everything_arrived(destination, items, stats)
    assert len(names) == 3
    assert all(name.split("/")[-1].startswith("items_0000-") for name in names)


def test_names_are_the_same_in_a_second_job(work: Path):
    """Deterministic: a resume (or a rerun) finds the same names for cleaned, long and ambiguous values."""
    items = [
        {"id": 1, "a": "\u4e2d" * 100, "b": "x"},
        {"id": 2, "a": "x-y", "b": "z"},
        {"id": 3, "a": "x", "b": "y-z"},
        {"id": 4, "a": "a/b", "b": "md5checksum.md5"},
    ]
    for name in ("first", "second"):
        export(
            config(items, FSDestination(work / name).writer("{groups[1]}/p_"), ["a", "b"], name=f"in-{name}")
        )
    assert output_files(work / "first") == output_files(work / "second")
    assert len(output_files(work / "first")) == 4
    assert all(os.sep not in name.split("/")[-1] for name in output_files(work / "first"))
    for path in output_files(work / "first"):
        assert read_json_lines(work / "first" / path)
