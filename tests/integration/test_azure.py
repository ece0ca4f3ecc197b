"""Azure over the wire: AzureBlobReader and AzureBlobWriter against Azurite, AzureFileWriter against
``tests/servers/azure_files_server.py`` (the File REST API the ``azure-storage-file-share`` SDK uses;
no emulator of Azure Files exists).

Credentials come from Airflow connections (``AIRFLOW_CONN_OZZY_WASB``, ``AIRFLOW_CONN_OZZY_FILES``)
with connection strings, resolved by ``WasbHook`` and ``AzureFileShareHook``; both servers check
SharedKey signatures, so a wrong key is refused as Azure would refuse it. Outputs are read back
with the SDK and independent parsers. The round trips Azure Blob shares with S3 and GCS are in
``test_object_stores.py``.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import re
import time
import uuid
from typing import Any

import pytest

from airflow_provider_ozzy.errors import ConfigurationError, InconsistentWriteError, ReaderError, WriterError
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.readers.azure_blob_reader import AzureBlobReader
from airflow_provider_ozzy.writers.azure_file_writer import AzureFileWriter
from tests.crash_harness import CrashHarness
from tests.integration.object_store_cases import (
    FORMATS,
    ITEMS,
    AzureStore,
    GCSStore,
    check_bypass_resumes_object_by_object,
    expected_objects,
    export,
    fs_input,
    jl,
    new_container,
    new_gcs_bucket,
    parse_output,
    use_gcs,
)
from tests.servers.azure_files_server import ACCOUNT, KEY, AzureFilesServer
from tests.servers.azurite_server import AzuriteServer
from tests.servers.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer

WASB = AzureStore.conn_id  # AIRFLOW_CONN_OZZY_WASB: Azurite
S3 = "ozzy_s3_source"  # AIRFLOW_CONN_OZZY_S3_SOURCE: moto
FILES = "ozzy_files"  # AIRFLOW_CONN_OZZY_FILES: the Azure Files server
WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3Jvbmc="
TODAY = datetime.datetime.now(datetime.UTC).date()


# -- fixtures and helpers -------------------------------------------------------------------------------


@pytest.fixture
def blob(azurite_server: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> AzuriteServer:
    monkeypatch.setenv(f"AIRFLOW_CONN_{WASB.upper()}", azurite_server.connection_json())
    return azurite_server


@pytest.fixture
def container(blob: AzuriteServer) -> str:
    return new_container(blob)


@pytest.fixture
def files(azure_files_server: AzureFilesServer, monkeypatch: pytest.MonkeyPatch) -> AzureFilesServer:
    azure_files_server.reset()
    monkeypatch.setenv(f"AIRFLOW_CONN_{FILES.upper()}", azure_files_server.connection_json())
    return azure_files_server


blob_writer, blob_reader = AzureStore.writer_for, AzureStore.reader_for


def file_writer(share: str, filebase: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "AzureFileWriter",
        "options": {"share": share, "filebase": filebase, "azure_fileshare_conn_id": FILES, **options},
    }


def fs_writer(filebase: str = "out/items_") -> dict[str, Any]:
    return {"name": "FSWriter", "options": {"filebase": filebase, "compression": "none"}}


# -- Azure Blob: round trips -----------------------------------------------------------------------------


def test_azure_blob_writer_creates_the_container_and_names_blobs_by_start_time_by_default(
    work, blob, monkeypatch
):
    """An exporters config (no filebase, legacy account variables) runs; names are deterministic."""
    container = f"new-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("EXPORTERS_AZUREWRITER_NAME", ACCOUNT)
    monkeypatch.setenv("EXPORTERS_AZUREWRITER_KEY", KEY)
    section = {
        "name": "exporters.writers.azure_blob_writer.AzureBlobWriter",
        "options": {"container": container, "account_url": blob.endpoint, "items_per_buffer_write": 30},
    }
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    export({"reader": fs_input(work, ITEMS), "writer": section})
    found = AzureStore(blob, container).names()
    assert len(found) == 2 and all(re.fullmatch(r"\d{8}T\d{6}_000[01]\.jl\.gz", name) for name in found), (
        found
    )
    started = datetime.datetime.strptime(found[0][:15], "%Y%m%dT%H%M%S").replace(tzinfo=datetime.UTC)
    assert before <= started <= datetime.datetime.now(datetime.UTC)
    assert found[1] == found[0].replace("_0000", "_0001")
    got = [
        json.loads(line)
        for name in found
        for line in gzip.decompress(AzureStore(blob, container).content(name)).splitlines()
    ]
    assert got == ITEMS


# -- Azure Blob: permanent errors --------------------------------------------------------------------------


def test_missing_container_fails_fast_naming_container_and_connection(work, blob):
    import airflow.providers.microsoft.azure.hooks.wasb  # noqa: F401 - the first import is slow: not timed

    started = time.monotonic()
    with pytest.raises(ReaderError) as caught:
        export({"reader": blob_reader("no-such-container", prefix="x/"), "writer": fs_writer()})
    assert time.monotonic() - started < 5, "a permanent error was retried"
    assert (
        str(caught.value)
        == f"AzureBlobReader: container 'no-such-container' does not exist with connection '{WASB}'"
    )


def test_a_wrong_account_key_fails_fast_without_showing_the_key(work, blob, container, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_WASB_BAD", blob.connection_json(key=WRONG_KEY))
    sections = [
        blob_writer(container, "out/p_", wasb_conn_id="ozzy_wasb_bad"),
        {
            "name": "AzureBlobWriter",
            "options": {
                "container": container,
                "account_name": ACCOUNT,
                "account_key": WRONG_KEY,
                "account_url": blob.endpoint,
            },
        },
    ]
    for section in sections:
        with pytest.raises(WriterError) as caught:
            export({"reader": fs_input(work, ITEMS), "writer": section})
        message = str(caught.value)
        assert f"access to container '{container}'" in message and "refused" in message, message
        assert ("connection 'ozzy_wasb_bad'" in message) or (f"account '{ACCOUNT}'" in message), message
        assert WRONG_KEY not in message and WRONG_KEY[:20] not in message
    assert AzureStore(blob, container).names() == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"container": "Bad_Name"}, "must be 3-63 lowercase letters"),
        ({"container": "a--b"}, "must be 3-63 lowercase letters"),
        ({"container": "ok-name", "account_name": "x"}, "give both account_name and account_key"),
        ({"container": "ok-name", "prefix": "a", "prefix_pointer": "p"}, "cannot be used together"),
    ],
)
def test_azure_blob_reader_options_are_checked_without_network(options, message):
    with pytest.raises(ConfigurationError, match=message):
        AzureBlobReader(options)


# -- Azure Files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("formatter", "compression", "extension"), FORMATS)
def test_fs_to_azure_files_with_groups_formats_and_compression(
    work, files, formatter, compression, extension
):
    config = {
        "reader": fs_input(work, ITEMS),
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        "writer": file_writer(
            "exports", "daily/%Y/{groups[0]}/part_", items_per_buffer_write=6, compression=compression
        ),
        "exporter_options": {"formatter": formatter},
    }
    stats = export(config)
    expected = expected_objects(f"daily/{TODAY:%Y}/", extension, compression, per_file=6)
    stored = files.files("exports")
    assert sorted(stored) == sorted(expected)  # no partial files left behind
    for name, ids in expected.items():
        assert parse_output(stored[name], name, extension) == ids, name
    assert (stats["items_written"], stats["files_written"]) == (len(ITEMS), len(expected))
    operations = {operation for _, operation in files.requests}
    assert {"share:", "directory:", "file:", "file:range", "file:rename"} <= operations


def test_azure_files_md5_list_and_exporters_options(work, files, monkeypatch):
    """exporters' account variables, a large file in several ranges, and generate_md5."""
    monkeypatch.setenv("EXPORTERS_AZUREWRITER_NAME", ACCOUNT)
    monkeypatch.setenv("EXPORTERS_AZUREWRITER_KEY", KEY)
    big = [{"id": n, "blob": hashlib.sha256(str(n).encode()).hexdigest() * 4} for n in range(40_000)]
    section = {
        "name": "exporters.writers.azure_file_writer.AzureFileWriter",
        "options": {
            "share": "legacy",
            "filebase": "out/data_",
            "account_url": files.endpoint,
            "compression": "none",
            "generate_md5": True,
            "check_consistency": True,
        },
    }
    export({"reader": fs_input(work, big, batch_size=10_000), "writer": section})
    stored = files.files("legacy")
    assert sorted(stored) == ["out/data_0000.jl", "out/md5checksum.md5"]
    data = stored["out/data_0000.jl"]
    assert len(data) > 4 * 1024 * 1024  # more than one 4 MiB range
    assert [json.loads(line) for line in data.splitlines()] == big
    assert stored["out/md5checksum.md5"].decode() == f"{hashlib.md5(data).hexdigest()}  out/data_0000.jl\n"
    assert sum(1 for method, operation in files.requests if operation == "file:range") >= 2


def test_azure_files_check_consistency_reads_the_content_back(work, files):
    writer = AzureFileWriter(
        {
            "share": "checked",
            "azure_fileshare_conn_id": FILES,
            "filebase": "a/b/p_",
            "items_per_buffer_write": 10,
            "check_consistency": True,
        }
    )
    writer.open(JsonExportFormatter(), None)
    writer.write_batch({(): ITEMS}, 0)
    writer.flush()
    writer.finish_writing()  # untouched: passes
    original = files.files("checked")["a/b/p_0000.jl.gz"]
    files.put("checked", "a/b/p_0000.jl.gz", original[:-1] + bytes([original[-1] ^ 1]))  # same size
    with files.lock:
        del files.shares["checked"].entries["a/b/p_0002.jl.gz"]
    with pytest.raises(InconsistentWriteError) as caught:
        writer.finish_writing()
    writer.close()
    message = str(caught.value)
    assert "2 file(s)" in message, message
    assert "checked/a/b/p_0000.jl.gz has md5" in message
    assert "checked/a/b/p_0002.jl.gz is not present at the destination" in message


def test_azure_files_wrong_key_fails_fast_naming_share_and_connection(work, files, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_FILES_BAD", files.connection_json(key=WRONG_KEY))
    import airflow.providers.microsoft.azure.hooks.fileshare  # noqa: F401 - the first import is slow: not timed

    started = time.monotonic()
    with pytest.raises(WriterError) as caught:
        export(
            {
                "reader": fs_input(work, ITEMS),
                "writer": file_writer("share-one", "p_", azure_fileshare_conn_id="ozzy_files_bad"),
            }
        )
    assert time.monotonic() - started < 5, "a permanent error was retried"
    message = str(caught.value)
    assert message.startswith(
        "AzureFileWriter: access to share 'share-one' refused (AuthenticationFailed)"
    ), message
    assert "connection 'ozzy_files_bad'" in message and WRONG_KEY not in message
    assert len(files.requests) == 1 and files.shares == {}


def test_azure_files_missing_parent_share_or_connection_is_named(work, files):
    with pytest.raises(
        WriterError,
        match=r"connection 'nowhere' \(option 'azure_fileshare_conn_id'\) is not defined; share 'share-two'",
    ):
        export(
            {
                "reader": fs_input(work, ITEMS),
                "writer": file_writer("share-two", "p_", azure_fileshare_conn_id="nowhere"),
            }
        )


# -- bypasses ------------------------------------------------------------------------------------------------


def source_objects(count: int, items_each: int = 30) -> dict[str, bytes]:
    return {
        f"src/part-{index:03d}.jl.gz": gzip.compress(
            jl([{"o": index, "n": n, "t": "y" * index} for n in range(items_each)])
        )
        for index in range(count)
    }


@pytest.fixture
def s3_source(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> tuple[str, dict[str, bytes]]:
    """A moto bucket with 6 gzip JSON-lines objects, and the connection ``ozzy_s3_source`` to it."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{S3.upper()}", moto_server.connection_json())
    bucket = moto_server.create_bucket("azsrc")
    objects = source_objects(6)
    client = moto_server.client("s3")
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    return bucket, objects


def s3_reader(bucket: str) -> dict[str, Any]:
    return {"name": "S3Reader", "options": {"bucket": bucket, "prefix": "src/", "aws_conn_id": S3}}


def test_s3_to_azure_files_bypass_copies_on_the_server_and_waits(work, files, s3_source):
    bucket, objects = s3_source
    files.copy_delay = 0.3  # every copy stays pending a while: the bypass must wait for it
    stats = export(
        {"reader": s3_reader(bucket), "writer": file_writer("copies", "in/%Y/items_", check_consistency=True)}
    )
    assert stats["bypass"] == "S3ToAzureFileBypass" and stats["files_written"] == 6
    stored = files.files("copies")
    expected = {f"in/{TODAY:%Y}/items_{n:04d}.jl.gz": data for n, data in enumerate(objects.values())}
    assert stored == expected  # byte for byte, and no partial file left
    operations = [operation for _, operation in files.requests]
    assert operations.count("file:copy") == 6 and "file:range" not in operations  # no byte through Ozzy
    assert operations.count("file:rename") == 6


def test_s3_to_azure_blob_bypass_copies_on_the_server_and_waits(
    work, blob, azurite_url_copy, s3_source, monkeypatch
):
    bucket, objects = s3_source
    monkeypatch.setenv(f"AIRFLOW_CONN_{WASB.upper()}", azurite_url_copy.connection_json())
    azurite_url_copy.copy_delay = 0.3
    started, uploads = azurite_url_copy.started_copies, azurite_url_copy.uploads
    container = f"copies-{uuid.uuid4().hex[:8]}"
    stats = export(
        {"reader": s3_reader(bucket), "writer": blob_writer(container, "in/items_", check_consistency=True)}
    )
    assert stats["bypass"] == "S3ToAzureBlobBypass" and stats["files_written"] == 6
    assert (
        azurite_url_copy.started_copies - started == 6 and azurite_url_copy.uploads == uploads
    )  # no byte through Ozzy
    expected = {f"in/items_{n:04d}.jl.gz": data for n, data in enumerate(objects.values())}
    assert AzureStore(blob, container).names() == sorted(expected)
    for name, data in expected.items():
        assert AzureStore(blob, container).content(name) == data, name


def test_a_failed_service_copy_names_source_and_target(work, files, s3_source):
    bucket, _ = s3_source
    files.fail_copies = 1
    with pytest.raises(WriterError) as caught:
        export({"reader": s3_reader(bucket), "writer": file_writer("failing", "items_")})
    message = str(caught.value)
    assert f"copying s3://{bucket}/src/part-" in message and "failed: CannotVerifyCopySource" in message, (
        message
    )


def test_s3_to_azure_files_bypass_is_not_chosen_when_the_output_would_differ(work, files, s3_source):
    bucket, objects = s3_source
    stats = export(
        {"reader": s3_reader(bucket), "writer": file_writer("plain", "out/items_", compression="none")}
    )
    assert "bypass" not in stats
    stored = files.files("plain")
    assert list(stored) == ["out/items_0000.jl"]
    items = [json.loads(line) for data in objects.values() for line in gzip.decompress(data).splitlines()]
    assert [json.loads(line) for line in stored["out/items_0000.jl"].splitlines()] == items
    assert "file:copy" not in [operation for _, operation in files.requests]


def test_s3_to_azure_files_bypass_resumes_object_by_object_after_kill_9(tmp_path, files, moto_server):
    bucket = moto_server.create_bucket("azkill")
    objects = source_objects(30)
    client = moto_server.client("s3")
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    files.copy_delay = 0.05
    config = {
        "reader": {
            "name": "S3Reader",
            "options": {"bucket": bucket, "prefix": "src/", "host": moto_server.endpoint_url},
        },
        "writer": {
            "name": "AzureFileWriter",
            "options": {"share": "resumed", "filebase": "out/items_", "account_url": files.endpoint},
        },
    }
    # exporters' variables for both sides: the ozzy processes import no Airflow module
    env = {
        "EXPORTERS_S3READER_AWS_KEY": ACCESS_KEY,
        "EXPORTERS_S3READER_AWS_SECRET": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "EXPORTERS_AZUREWRITER_NAME": ACCOUNT,
        "EXPORTERS_AZUREWRITER_KEY": KEY,
    }

    def count_written(since_ns: int) -> int:
        with files.lock:
            share = files.shares.get("resumed")
            entries = list(share.entries.items()) if share else []
        return sum(
            1 for path, e in entries if not e.is_dir and "/." not in path and e.modified * 1e9 >= since_ns
        )

    harness = CrashHarness(tmp_path / "job", config, env=env, count_written=count_written)
    check_bypass_resumes_object_by_object(
        harness,
        8,
        "S3ToAzureFileBypass",
        {f"out/items_{n:04d}.jl.gz": data for n, data in enumerate(objects.values())},
        lambda: {path: data for path, data in files.files("resumed").items() if "/." not in path},
    )


def test_gcs_to_azure_blob_and_back_through_the_stream_bypass(work, blob, container, gcs_server, monkeypatch):
    """StreamBypass between two services: GStorageReader to AzureBlobWriter, AzureBlobReader to GStorageWriter."""
    gcs_bucket = new_gcs_bucket(use_gcs(gcs_server, monkeypatch, GCSStore.conn_id))
    gcs_client = gcs_server.client()
    objects = source_objects(4)
    for key, data in objects.items():
        gcs_client.bucket(gcs_bucket).blob(key).upload_from_string(data)
    gcs = {"bucket": gcs_bucket, "gcp_conn_id": "ozzy_gcs"}
    stats = export(
        {
            "reader": {"name": "GStorageReader", "options": {**gcs, "prefix": "src/"}},
            "writer": blob_writer(container, "from-gcs/items_", check_consistency=True),
        }
    )
    assert stats["bypass"] == "StreamBypass"
    expected = {f"from-gcs/items_{n:04d}.jl.gz": data for n, data in enumerate(objects.values())}
    assert AzureStore(blob, container).names() == sorted(expected)
    assert all(AzureStore(blob, container).content(name) == data for name, data in expected.items())
    stats = export(
        {
            "reader": blob_reader(container, prefix="from-gcs/"),
            "writer": {
                "name": "GStorageWriter",
                "options": {**gcs, "filebase": "back/items_", "check_consistency": True},
            },
        }
    )
    assert stats["bypass"] == "StreamBypass"
    back = sorted(b.name for b in gcs_client.list_blobs(gcs_bucket, prefix="back/"))
    assert back == [name.replace("from-gcs/", "back/") for name in sorted(expected)]
    assert [gcs_client.bucket(gcs_bucket).blob(name).download_as_bytes() for name in back] == list(
        objects.values()
    )


PAIRS = [
    pytest.param("gcs", "blob", "zstd", id="gcs-to-blob"),
    pytest.param("gcs", "files", "bz2", id="gcs-to-files"),
    pytest.param("blob", "gcs", "gz", id="blob-to-gcs"),
    pytest.param("blob", "files", "zip", id="blob-to-files"),
]


@pytest.mark.parametrize(("source_kind", "target_kind", "compression"), PAIRS)
def test_cross_service_pairs_through_the_pipeline_with_groups(
    work, blob, container, files, gcs_server, monkeypatch, source_kind, target_kind, compression
):
    """GStorageReader and AzureBlobReader to each other writer, grouped: exact names, exact items."""
    gcs_bucket = new_gcs_bucket(use_gcs(gcs_server, monkeypatch, GCSStore.conn_id))
    gcs_client = gcs_server.client()
    halves = {
        "in/part-0.jl.gz": gzip.compress(jl(ITEMS[:17])),
        "in/part-1.jl.gz": gzip.compress(jl(ITEMS[17:])),
    }
    if source_kind == "gcs":
        for key, data in halves.items():
            gcs_client.bucket(gcs_bucket).blob(key).upload_from_string(data)
        reader = {
            "name": "GStorageReader",
            "options": {"bucket": gcs_bucket, "gcp_conn_id": "ozzy_gcs", "prefix": "in/"},
        }
    else:
        AzureStore(blob, container).put(halves)
        reader = blob_reader(container, prefix="in/")
    filebase = "out/{groups[0]}/part_"
    options = {"items_per_buffer_write": 6, "compression": compression}
    writers = {
        "gcs": {
            "name": "GStorageWriter",
            "options": {"bucket": gcs_bucket, "gcp_conn_id": "ozzy_gcs", "filebase": filebase, **options},
        },
        "blob": blob_writer(container, filebase, **options),
        "files": file_writer("pairs", filebase, **options),
    }
    export(
        {
            "reader": reader,
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
            "writer": writers[target_kind],
        }
    )
    expected = expected_objects("out/", "jl", compression, per_file=6)
    if target_kind == "gcs":
        found = {b.name: b.download_as_bytes() for b in gcs_client.list_blobs(gcs_bucket, prefix="out/")}
    elif target_kind == "blob":
        found = {
            name: AzureStore(blob, container).content(name)
            for name in AzureStore(blob, container).names("out/")
        }
    else:
        found = files.files("pairs")
    assert sorted(found) == sorted(expected)
    for name, ids in expected.items():
        assert parse_output(found[name], name, "jl") == ids, name
