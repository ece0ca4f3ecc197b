"""What the object-store tests share: data, independent parsers, and one ``Store`` per service.

``test_object_stores.py`` runs the cases the stores have in common once, parametrized over S3 (moto),
GCS (fake-gcs-server) and Azure Blob (Azurite) through ``Store``; ``test_s3.py``, ``test_gcs.py`` and
``test_azure.py`` keep what only one store does, and use the same ``Store`` to put and read objects.
Outputs are read back with independent parsers (json, csv, xml.etree, gzip/bz2/zstandard/zipfile),
never with Ozzy's own readers, and file names are computed here from the grouping rules, so a test
fails when a writer names, cuts or encodes files differently from the pipeline's contract.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import json
import re
import uuid
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import zstandard

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.readers.azure_blob_reader import AzureBlobReader
from airflow_provider_ozzy.readers.gstorage_reader import GStorageReader
from airflow_provider_ozzy.readers.s3_reader import S3Reader
from airflow_provider_ozzy.writers.azure_blob_writer import AzureBlobWriter
from airflow_provider_ozzy.writers.gstorage_writer import GStorageWriter
from airflow_provider_ozzy.writers.s3_writer import S3Writer
from tests.crash_harness import CrashHarness, Trigger, check_exact_output
from tests.helpers import write_json_lines_gz
from tests.integration.test_crash_resume import Scenario, final_stats, make_item
from tests.servers.azurite_server import AzuriteServer
from tests.servers.gcs_server import GCSServer
from tests.servers.moto_server import MotoServer

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
    pytest.param(
        {"name": "JsonExportFormatter", "options": {"jsonlines": False}}, "bz2", "json", id="json-bz2"
    ),
]


def zipped(data: bytes) -> bytes:
    """``data`` as the one member of a zip archive."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("items.jl", data)
    return out.getvalue()


# every compression a reader detects, with the name ending it goes by (zstd with its checksum, so
# damage is caught); the property tests use them too
INPUT_FORMATS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip": (".jl.gz", gzip.compress),
    "bz2": (".jl.bz2", bz2.compress),
    "zstd": (".jl.zst", lambda data: zstandard.ZstdCompressor(write_checksum=True).compress(data)),
    "zip": (".jl.zip", zipped),
    "none": (".jl", lambda data: data),
}
COMPRESSED_INPUTS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "gzip-members": ("items.jl.gz", lambda data: gzip.compress(data[:100]) + gzip.compress(data[100:])),
    **{
        "plain" if kind == "none" else kind: (f"items{suffix}", encode)
        for kind, (suffix, encode) in INPUT_FORMATS.items()
    },
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


# -- the stores ---------------------------------------------------------------------------------------------


def use_gcs(gcs_server: GCSServer, monkeypatch: pytest.MonkeyPatch, conn_id: str | None = None) -> GCSServer:
    """Point the Google client at the emulator (``STORAGE_EMULATOR_HOST``), and define ``conn_id`` to it."""
    for name, value in gcs_server.env().items():
        monkeypatch.setenv(name, value)
    if conn_id:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", gcs_server.connection_json())
    return gcs_server


def new_gcs_bucket(gcs_server: GCSServer, prefix: str = "ozzy") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    gcs_server.client().create_bucket(name)
    return name


def new_container(azurite_server: AzuriteServer) -> str:
    name = f"ozzy-{uuid.uuid4().hex[:12]}"
    azurite_server.client().create_container(name)
    return name


class Store:
    """One bucket (or container) of one service: put and read objects directly, and Ozzy's sections for it."""

    kind: ClassVar[str]
    reader_name: ClassVar[str]
    writer_name: ClassVar[str]
    reader_class: ClassVar[type[Any]]
    writer_class: ClassVar[type[Any]]
    conn_option: ClassVar[str]
    conn_id: ClassVar[str]
    noun: ClassVar[str] = "bucket"  # how messages name the bucket
    bucket_option: ClassVar[str] = "bucket"

    def __init__(self, server: Any, bucket: str) -> None:
        self.server = server
        self.bucket = bucket

    def put(self, objects: dict[str, bytes]) -> None:
        raise NotImplementedError

    def names(self, prefix: str = "") -> list[str]:
        raise NotImplementedError

    def content(self, name: str) -> bytes:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError

    def url(self) -> str:
        """The bucket as a writer may name it (a URL where the service has one)."""
        return self.bucket

    @classmethod
    def reader_for(cls, bucket: str, /, **options: Any) -> dict[str, Any]:
        """A reader section for ``bucket``, through the connection ``conn_id``."""
        return {
            "name": cls.reader_name,
            "options": {cls.bucket_option: bucket, cls.conn_option: cls.conn_id, **options},
        }

    @classmethod
    def writer_for(cls, bucket: str, filebase: str, /, **options: Any) -> dict[str, Any]:
        """A writer section for ``bucket``, through the connection ``conn_id``."""
        return cls.reader_for(bucket, filebase=filebase, **options) | {"name": cls.writer_name}

    def options(self, **options: Any) -> dict[str, Any]:
        """The reader's or writer's options for this bucket (a class is built from them)."""
        return dict(self.reader_for(self.bucket, **options)["options"])

    def reader(self, **options: Any) -> dict[str, Any]:
        return self.reader_for(self.bucket, **options)

    def writer(self, filebase: str, /, **options: Any) -> dict[str, Any]:
        return self.writer_for(self.bucket, filebase, **options)

    def where(self, name: str) -> str:
        """How Ozzy's messages name the object ``name``."""
        return f"{self.url().rstrip('/')}/{name}"

    def replaced(self, name: str) -> str:
        """The reader's message (a regex) for ``name`` replaced after it was listed."""
        raise NotImplementedError

    def check_object(self, name: str, data: bytes, ids: list[int]) -> None:
        """What else a written object carries (S3: its metadata)."""


class S3Store(Store):
    kind = "s3"
    reader_name, writer_name, reader_class, writer_class = "S3Reader", "S3Writer", S3Reader, S3Writer
    conn_option, conn_id = "aws_conn_id", "ozzy_s3_store"

    def __init__(self, server: MotoServer, bucket: str) -> None:
        super().__init__(server, bucket)
        self.client = server.client("s3")

    def put(self, objects: dict[str, bytes]) -> None:
        for name, data in objects.items():
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data)

    def names(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))

    def content(self, name: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        return data

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=name)

    def url(self) -> str:
        return f"s3://{self.bucket}/"

    def replaced(self, name: str) -> str:
        return rf"s3://{self.bucket}/{re.escape(name)} changed since it was listed"

    def check_object(self, name: str, data: bytes, ids: list[int]) -> None:
        head = self.client.head_object(Bucket=self.bucket, Key=name)
        assert head["Metadata"] == {"total": str(len(ids)), "md5": hashlib.md5(data).hexdigest()}, name


class GCSStore(Store):
    kind = "gcs"
    reader_name, writer_name = "GStorageReader", "GStorageWriter"
    reader_class, writer_class = GStorageReader, GStorageWriter
    conn_option, conn_id = "gcp_conn_id", "ozzy_gcs"

    def put(self, objects: dict[str, bytes]) -> None:
        target = self.server.client().bucket(self.bucket)
        for name, data in objects.items():
            target.blob(name).upload_from_string(data)

    def names(self, prefix: str = "") -> list[str]:
        return sorted(
            blob.name for blob in self.server.client().list_blobs(self.bucket, prefix=prefix or None)
        )

    def content(self, name: str) -> bytes:
        data: bytes = self.server.client().bucket(self.bucket).blob(name).download_as_bytes()
        return data

    def delete(self, name: str) -> None:
        self.server.client().bucket(self.bucket).blob(name).delete()

    def url(self) -> str:
        return f"gs://{self.bucket}"

    def replaced(self, name: str) -> str:
        return rf"gs://{self.bucket}/{re.escape(name)} was replaced since it was listed"


class AzureStore(Store):
    kind = "azure"
    reader_name, writer_name = "AzureBlobReader", "AzureBlobWriter"
    reader_class, writer_class = AzureBlobReader, AzureBlobWriter
    conn_option, conn_id = "wasb_conn_id", "ozzy_wasb"
    noun = bucket_option = "container"

    def put(self, objects: dict[str, bytes]) -> None:
        client = self.server.client().get_container_client(self.bucket)
        for name, data in objects.items():
            client.upload_blob(name, data, overwrite=True)

    def names(self, prefix: str = "") -> list[str]:
        client = self.server.client().get_container_client(self.bucket)
        return sorted(item.name for item in client.list_blobs(name_starts_with=prefix or None))

    def content(self, name: str) -> bytes:
        data: bytes = self.server.client().get_blob_client(self.bucket, name).download_blob().readall()
        return data

    def delete(self, name: str) -> None:
        self.server.client().get_blob_client(self.bucket, name).delete_blob()

    def where(self, name: str) -> str:
        return f"{self.bucket}/{name}"

    def replaced(self, name: str) -> str:
        return rf"container '{self.bucket}', {re.escape(name)} changed since it was listed"


def open_store(kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A new bucket of ``kind`` on its session server, with the Airflow connection ``Store.conn_id`` to it."""
    if kind == "s3":
        moto: MotoServer = request.getfixturevalue("moto_server")
        monkeypatch.setenv(f"AIRFLOW_CONN_{S3Store.conn_id.upper()}", moto.connection_json())
        return S3Store(moto, moto.create_bucket())
    if kind == "gcs":
        gcs = use_gcs(request.getfixturevalue("gcs_server"), monkeypatch, GCSStore.conn_id)
        return GCSStore(gcs, new_gcs_bucket(gcs))
    azurite: AzuriteServer = request.getfixturevalue("azurite_server")
    monkeypatch.setenv(f"AIRFLOW_CONN_{AzureStore.conn_id.upper()}", azurite.connection_json())
    return AzureStore(azurite, new_container(azurite))


def check_kill_9_and_resume(
    folder: Path,
    store: Store,
    env: dict[str, str],
    count_written: Callable[[int], int],
    second_kill: int,
    **writer_options: Any,
) -> None:
    """``ozzy run`` of 6,000 grouped items into ``store``, killed twice (after a quarter of the files,
    then after 1/``second_kill`` of them) and resumed: the bucket holds exactly the input."""
    items = [make_item(number) for number in range(6000)]
    for index in range(3):
        write_json_lines_gz(
            folder / "input" / f"part-{index}.jl.gz", items[index * 2000 : (index + 1) * 2000]
        )
    scenario = Scenario(f"{store.kind}-grouped", group_key="country")
    config = scenario.config(folder / "input")
    config["writer"] = {
        "name": store.writer_name,
        "options": {
            **config["writer"]["options"],
            store.bucket_option: store.bucket,
            "check_consistency": True,
            **writer_options,
        },
    }
    harness = CrashHarness(folder / "job", config, env=env, count_written=count_written)
    total = scenario.total_files(items)
    triggers = [Trigger("files", total // 4), Trigger("files", total // second_kill)]
    report = harness.run(triggers, label=f"{store.kind}-writer")
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert report.interruptions == 2, "a kill did not land inside the run" + context

    for name in store.names("out/"):
        path = harness.output / name.removeprefix("out/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.content(name))
    problems = check_exact_output(
        harness.output, scenario.expected(items), scenario.parse, layout=scenario.layout(items)
    )
    assert not problems, "\n  ".join(["the bucket does not hold exactly the input:", *problems]) + context
    stats = final_stats(report)
    assert (stats["items_written"], stats["files_written"]) == (len(items), total), context


def gcs_credentials_resource(
    folder: Path, package: str, account: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """exporters' EXPORTERS_GSTORAGE_CREDS_RESOURCE: ``account`` as ``package:account.json``, a package
    resource on ``sys.path`` (importable, as exporters' ``pkg_resources`` lookup wants it)."""
    (folder / "site" / package).mkdir(parents=True)
    (folder / "site" / package / "__init__.py").write_text("")
    (folder / "site" / package / "account.json").write_text(json.dumps(account))
    monkeypatch.syspath_prepend(str(folder / "site"))
    monkeypatch.setenv("EXPORTERS_GSTORAGE_CREDS_RESOURCE", f"{package}:account.json")


def check_bypass_resumes_object_by_object(
    harness: CrashHarness,
    kill_after: int,
    bypass: str,
    expected: dict[str, bytes],
    stored: Callable[[], dict[str, bytes]],
) -> None:
    """A bypass run killed after ``kill_after`` copies, then resumed: ``stored()`` ends as
    ``expected``, and the resume copied exactly the objects the interrupted run had not recorded as done."""
    first = harness.attempt(Trigger("files", kill_after))
    context = f"\n{first.describe()}\n{first.log.read_text()[-3000:]}"
    assert first.interrupted, "the kill did not land inside the run" + context
    saved = (harness.committed_state() or {})["bypass"]["state"]
    done_before = saved["done_below"] + len(saved["done_above"])
    second = harness.attempt(None)
    context += f"\n{second.describe()}\n{second.log.read_text()[-3000:]}"
    assert second.returncode == 0, context
    assert stored() == expected, context
    lines = second.log.read_text().splitlines()
    stats = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
    assert stats["bypass"] == bypass and stats["files_written"] == len(expected), context
    assert 0 < done_before < len(expected), context
    assert stats["objects_copied_this_run"] == len(expected) - done_before, context
