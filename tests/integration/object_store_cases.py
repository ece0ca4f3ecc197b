"""Data and checks shared by the GCS and Azure round-trip tests (test_gcs.py, test_azure.py).

Outputs are read back with independent parsers (json, csv, xml.etree, gzip/bz2/zstandard/zipfile),
never with Ozzy's own readers, and file names are computed here from the grouping rules, so a test
fails when a writer names, cuts or encodes files differently from the pipeline's contract.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import write_json_lines_gz

COUNTRIES = ["es", "uk", "us"]
ITEMS: list[dict[str, Any]] = [
    {
        "id": number,
        "country": COUNTRIES[number % 3],
        "name": f'item {number} \u00e9 "q", x',
        "v": number * 1.5,
    }
    for number in range(40)
]
SUFFIXES = {"gz": ".gz", "bz2": ".bz2", "zip": ".zip", "zstd": ".zstd", "none": ""}

FORMATS = [
    pytest.param({"name": "JsonExportFormatter"}, "gz", "jl", id="jsonlines-gz"),
    pytest.param(
        {"name": "CSVExportFormatter", "options": {"fields": ["id", "name"]}}, "none", "csv", id="csv-none"
    ),
    pytest.param({"name": "XMLExportFormatter"}, "zstd", "xml", id="xml-zstd"),
    pytest.param(
        {"name": "JsonExportFormatter", "options": {"jsonlines": False}}, "zip", "json", id="json-zip"
    ),
]


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("items.jl", data)
    return out.getvalue()


COMPRESSED_INPUTS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": ("items.jl.gz", gzip.compress),
    "gzip-members": ("items.jl.gz", lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:])),
    "bz2": ("items.jl.bz2", bz2.compress),
    "zstd": ("items.jl.zst", lambda data: zstandard.ZstdCompressor().compress(data)),
    "zip": ("items.jl.zip", _zip),
    "plain": ("items.jl", lambda data: data),
}


def jl(items: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def export(config: dict[str, Any]) -> dict[str, Any]:
    """Run ``config`` in-process (job state under ./.state)."""
    config = dict(config)
    config.setdefault("persistence", {"name": "PicklePersistence", "options": {"file_path": ".state"}})
    stats = BasicExporter(config).export()
    assert stats["finished"] is True
    return stats


def fs_input(folder: Path, items: list[dict[str, Any]], batch_size: int = 7) -> dict[str, Any]:
    """An FSReader section reading ``items`` from a gzip JSON-lines file under ``folder``."""
    path = write_json_lines_gz(folder / "input" / "items.jl.gz", items)
    return {"name": "FSReader", "options": {"input": str(path), "batch_size": batch_size}}


def expected_objects(
    base: str, extension: str, compression: str, per_file: int, prefix: str = "part_"
) -> dict[str, list[int]]:
    """Object name -> ids it must hold, for ITEMS grouped by country under ``base{country}/{prefix}``."""
    found: dict[str, list[int]] = {}
    for country in COUNTRIES:
        ids = [item["id"] for item in ITEMS if item["country"] == country]
        for number, start in enumerate(range(0, len(ids), per_file)):
            name = f"{base}{country}/{prefix}{number:04d}.{extension}{SUFFIXES[compression]}"
            found[name] = ids[start : start + per_file]
    return found


def decompress(data: bytes, name: str) -> bytes:
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".bz2"):
        return bz2.decompress(data)
    if name.endswith(".zstd"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.namelist()
            # one member, named as the file without ".zip"
            assert members == [name.rsplit("/", 1)[-1].removesuffix(".zip")], f"{name}: members {members}"
            return archive.read(members[0])
    return data


def parse_output(data: bytes, name: str, extension: str) -> list[int]:
    """The ids in one output object."""
    text = decompress(data, name).decode("utf-8")
    if extension == "jl":
        return [json.loads(line)["id"] for line in text.splitlines()]
    if extension == "json":
        return [item["id"] for item in json.loads(text)]
    if extension == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["id", "name"], f"{name}: title row {rows[0]}"
        names = {item["id"]: item["name"] for item in ITEMS}
        assert all(names[int(row[0])] == row[1] for row in rows[1:]), f"{name}: names changed"
        return [int(row[0]) for row in rows[1:]]
    return [int(element.findtext("id") or "") for element in ElementTree.fromstring(text).findall("item")]
