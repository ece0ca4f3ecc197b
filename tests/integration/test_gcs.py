"""Google Cloud Storage over the wire: GStorageReader and GStorageWriter against fake-gcs-server.

Credentials come from an Airflow connection (``AIRFLOW_CONN_OZZY_GCS``) with anonymous credentials,
the Google provider's ``is_anonymous`` field, and the client finds the emulator through
``STORAGE_EMULATOR_HOST``; nothing in Ozzy or the hook is patched. The ``kill -9`` test's ``ozzy``
processes use exporters' legacy ``credentials`` option instead (a service account whose tokens come
from the fixture's OAuth endpoint), which imports no Airflow module. Transient errors are injected
by a ``FaultProxy`` between Ozzy and the emulator. The round trips GCS shares with S3 and Azure Blob
are in ``test_object_stores.py``.
"""

from __future__ import annotations

import datetime
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.errors import ConfigurationError, ReaderError, WriterError
from airflow_provider_ozzy.readers.gstorage_reader import GStorageReader
from airflow_provider_ozzy.writers.gstorage_writer import GStorageWriter
from tests.crash_harness import CrashHarness
from tests.integration.object_store_cases import (
    ITEMS,
    GCSStore,
    check_bypass_resumes_object_by_object,
    check_kill_9_and_resume,
    export,
    fs_input,
    gcs_credentials_resource,
    jl,
    new_gcs_bucket,
    use_gcs,
)
from tests.servers.fault_proxy import FaultProxy
from tests.servers.gcs_server import GCSServer

CONN = GCSStore.conn_id  # AIRFLOW_CONN_OZZY_GCS
TODAY = datetime.datetime.now(datetime.UTC).date()


# -- fixtures and helpers -------------------------------------------------------------------------------


@pytest.fixture
def gcs(gcs_server: GCSServer, monkeypatch: pytest.MonkeyPatch) -> GCSServer:
    """The emulator, found by Ozzy through ``STORAGE_EMULATOR_HOST`` and the connection ``ozzy_gcs``."""
    return use_gcs(gcs_server, monkeypatch, CONN)


@pytest.fixture
def bucket(gcs: GCSServer) -> str:
    return new_gcs_bucket(gcs)


gcs_writer, gcs_reader = GCSStore.writer_for, GCSStore.reader_for


def proxied(
    gcs: GCSServer, fault_proxy: Callable[[str], FaultProxy], monkeypatch: pytest.MonkeyPatch
) -> FaultProxy:
    proxy = fault_proxy(gcs.url)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    return proxy


# -- round trips through the item pipeline --------------------------------------------------------------


def test_each_object_is_read_with_one_request_and_exactly(work, gcs, bucket, fault_proxy, monkeypatch):
    """The listing gives each object's size: the reader stops there. ``BlobReader`` alone learns the
    end by asking for the range past it (a second request per object, answered 416)."""
    proxy = proxied(gcs, fault_proxy, monkeypatch)
    parts = [ITEMS[start : start + 7] for start in range(0, len(ITEMS), 7)]
    GCSStore(gcs, bucket).put({f"in/{n:02d}.jl.gz": gzip.compress(jl(part)) for n, part in enumerate(parts)})
    out = work / "out"
    stats = export(
        {
            "reader": gcs_reader(bucket, prefix="in/", batch_size=5),
            "writer": {"name": "FSWriter", "options": {"filebase": f"{out}/items_", "compression": "none"}},
        }
    )
    media = proxy.exchanges(lambda e: e.method == "GET" and "alt=media" in e.query)
    assert (len(media), sorted({e.status for e in media})) == (len(parts), [206]), [
        (e.path, e.status) for e in media
    ]
    got = [json.loads(line) for path in sorted(out.iterdir()) for line in path.read_text().splitlines()]
    assert got == ITEMS and stats["items_written"] == len(ITEMS)


# -- consistency ------------------------------------------------------------------------------------------


# -- kill -9 and resume ----------------------------------------------------------------------------------


def test_kill_9_then_resume_a_gcs_export_gives_exact_output(tmp_path, gcs, bucket):
    # legacy credentials from exporters' variable: the ozzy processes import no Airflow module
    env = {**gcs.env(), "EXPORTERS_GSTORAGE_CREDS_RESOURCE": json.dumps(gcs.service_account())}
    client = gcs.client()

    def count_written(since_ns: int) -> int:
        blobs = client.list_blobs(bucket, prefix="out/")
        return sum(1 for blob in blobs if blob.updated.timestamp() * 1e9 >= since_ns)

    check_kill_9_and_resume(tmp_path, GCSStore(gcs, bucket), env, count_written, second_kill=3)


# -- transient and permanent errors -------------------------------------------------------------------------


def test_transient_errors_are_retried_and_nothing_is_lost(work, gcs, bucket, fault_proxy, monkeypatch):
    proxy = proxied(gcs, fault_proxy, monkeypatch)
    GCSStore(gcs, bucket).put(
        {"in/a.jl.gz": gzip.compress(jl(ITEMS[:20])), "in/b.jl.gz": gzip.compress(jl(ITEMS[20:]))},
    )
    is_upload = lambda request: request.method == "POST" and "/upload/" in request.path  # noqa: E731
    is_download = lambda request: request.method == "GET" and "alt=media" in request.query  # noqa: E731
    proxy.fail(
        1, status=503, match=is_upload, body=b'{"error": {"code": 503}}', content_type="application/json"
    )
    proxy.reset(1, match=is_upload)
    proxy.reset(1, match=is_download)
    proxy.fail(
        1,
        status=500,
        match=lambda r: r.method == "GET" and "alt=media" not in r.query,
        body=b'{"error": {"code": 500}}',
        content_type="application/json",
    )
    stats = export(
        {
            "reader": gcs_reader(bucket, prefix="in/", batch_size=8),
            "writer": gcs_writer(bucket, "out/p_", items_per_buffer_write=15, check_consistency=True),
        }
    )
    assert proxy.pending_faults() == 0, "an injected fault was never hit"
    injected = [exchange for exchange in proxy.exchanges() if exchange.fault]
    assert len(injected) == 4
    assert GCSStore(gcs, bucket).names("out/") == ["out/p_0000.jl.gz", "out/p_0001.jl.gz", "out/p_0002.jl.gz"]
    got = []
    for name in GCSStore(gcs, bucket).names("out/"):
        got.extend(
            json.loads(line) for line in gzip.decompress(GCSStore(gcs, bucket).content(name)).splitlines()
        )
    assert got == ITEMS and stats["items_written"] == len(ITEMS)


@pytest.mark.parametrize("kind", ["writer", "reader"])
def test_missing_bucket_fails_fast_naming_bucket_and_connection(work, gcs, kind, fault_proxy, monkeypatch):
    proxy = proxied(gcs, fault_proxy, monkeypatch)
    section = (
        gcs_writer("no-such-bucket", "out/p_")
        if kind == "writer"
        else gcs_reader("no-such-bucket", prefix="x/")
    )
    config = {
        "reader": fs_input(work, ITEMS) if kind == "writer" else section,
        "writer": section if kind == "writer" else {"name": "FSWriter", "options": {"filebase": "out/p_"}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": ".state"}},
    }
    import airflow.providers.google.cloud.hooks.gcs  # noqa: F401 - the first import is slow: not timed

    from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter

    started = time.monotonic()
    error_class = WriterError if kind == "writer" else ReaderError

    with pytest.raises(error_class) as caught:
        BasicExporter(config).export()
    assert time.monotonic() - started < 5, "a permanent error was retried"
    message = str(caught.value)
    assert "bucket 'no-such-bucket' does not exist" in message and f"connection '{CONN}'" in message, message
    # one upload (writer) or one listing (reader), not retried; the client also looks up the bucket
    # itself in the background (google-cloud-storage's bucket metadata cache)
    failed = [(e.method, e.path) for e in proxy.exchanges() if e.status == 404 and e.path.endswith("/o")]
    assert len(failed) == 1, f"a 404 was retried: {failed}"


def test_unusable_credentials_fail_fast_without_showing_the_secret(work, gcs, bucket, monkeypatch):
    account = gcs.service_account()
    secret_line = account["private_key"].splitlines()[5]
    account["private_key"] = account["private_key"].replace(secret_line, secret_line[::-1])  # corrupt
    monkeypatch.setenv(
        "AIRFLOW_CONN_OZZY_GCS_BAD",
        json.dumps({"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(account)}}),
    )
    for section in (
        gcs_writer(bucket, "out/p_", gcp_conn_id="ozzy_gcs_bad"),
        {
            "name": "GStorageWriter",
            "options": {"bucket": bucket, "filebase": "out/p_", "credentials": account},
        },
    ):
        with pytest.raises(WriterError) as caught:
            export({"reader": fs_input(work, ITEMS), "writer": section})
        message = str(caught.value)
        assert f"'{bucket}'" in message, message
        assert ("connection 'ozzy_gcs_bad'" in message) or ("option 'credentials'" in message), message
        assert (
            secret_line not in message and secret_line[::-1] not in message and "PRIVATE KEY" not in message
        )
    assert GCSStore(gcs, bucket).names() == []


def test_legacy_credentials_from_a_package_resource_named_by_the_exporters_variable(
    work, gcs, bucket, monkeypatch
):
    """exporters' EXPORTERS_GSTORAGE_CREDS_RESOURCE ('package:path'): a real OAuth exchange, then the upload."""
    gcs_credentials_resource(work, "ozzy_test_credentials", gcs.service_account(), monkeypatch)
    grants = gcs.token_grants
    export(
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
            "writer": {"name": "GStorageWriter", "options": {"bucket": bucket, "filebase": "legacy/p_"}},
        }
    )
    assert GCSStore(gcs, bucket).names() == ["legacy/p_0000.jl.gz"]
    assert gcs.token_grants > grants, "the service account's token was never requested"
    monkeypatch.setenv("EXPORTERS_GSTORAGE_CREDS_RESOURCE", "ozzy_test_credentials:missing.json")
    with pytest.raises(WriterError, match="names resource 'ozzy_test_credentials:missing.json'"):
        export(
            {
                "reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
                "writer": {"name": "GStorageWriter", "options": {"bucket": bucket, "filebase": "legacy/q_"}},
            }
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bucket": "gs://b/path"}, "must be a bucket name or gs://name"),
        ({"bucket": "b", "prefix": "x", "prefix_pointer": "p"}, "cannot be used together"),
        ({"bucket": "b", "pattern": "("}, "not a valid regular expression"),
        ({"bucket": "b", "prefix_format_using_date": ["today", "yesterday"]}, "should be greater or equal"),
    ],
)
def test_reader_options_are_checked_without_network(options, message):
    with pytest.raises(ConfigurationError, match=message):
        GStorageReader(options)


def test_secret_options_are_never_shown():
    with pytest.raises(ConfigurationError) as caught:
        GStorageWriter({"bucket": "b", "filebase": "f_", "credentials": 12345678})
    assert "12345678" not in str(caught.value) and "'credentials'" in str(caught.value)


# -- StreamBypass ------------------------------------------------------------------------------------------


def write_inputs(folder: Path, count: int, items_each: int = 30) -> dict[str, bytes]:
    """``count`` gzip JSON-lines files (one of them in two gzip members); relative path -> bytes."""
    written = {}
    for index in range(count):
        items = [{"file": index, "n": n, "pad": "x" * (index % 7)} for n in range(items_each)]
        data = (
            gzip.compress(jl(items[:10])) + gzip.compress(jl(items[10:]))
            if index == 1
            else gzip.compress(jl(items))
        )
        path = folder / f"part-{index:03d}.jl.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written[path.name] = data
    return written


def test_stream_bypass_copies_objects_byte_for_byte_and_retries(work, gcs, bucket, fault_proxy, monkeypatch):
    inputs = write_inputs(work / "in", 5)
    proxy = proxied(gcs, fault_proxy, monkeypatch)
    is_upload = lambda request: request.method == "POST" and "/upload/" in request.path  # noqa: E731
    proxy.reset(1, match=is_upload)
    proxy.fail(
        1, status=503, match=is_upload, body=b'{"error": {"code": 503}}', content_type="application/json"
    )
    stats = export(
        {
            "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
            "writer": gcs_writer(bucket, "copy/%Y/items_", check_consistency=True),
        }
    )
    assert stats["bypass"] == "StreamBypass" and stats["files_written"] == 5
    assert proxy.pending_faults() == 0
    expected = {f"copy/{TODAY:%Y}/items_{n:04d}.jl.gz": data for n, data in enumerate(inputs.values())}
    assert GCSStore(gcs, bucket).names() == sorted(expected)
    for name, data in expected.items():
        assert GCSStore(gcs, bucket).content(name) == data, name


NOT_BYPASSED = [
    pytest.param({"writer": {"compression": "bz2"}}, "items_0000.jl.bz2", id="other-compression"),
    pytest.param({"writer": {"compression": "none"}}, "items_0000.jl", id="no-compression"),
    pytest.param(
        {"formatter": {"name": "CSVExportFormatter", "options": {"fields": ["file", "n"]}}},
        "items_0000.csv.gz",
        id="csv-format",
    ),
    pytest.param({"writer": {"items_per_buffer_write": 1000}}, "items_0000.jl.gz", id="file-size"),
    pytest.param({"grouper": {"name": "FileKeyGrouper", "options": {"keys": ["file"]}}}, None, id="grouper"),
    pytest.param({"plain_input": True}, "items_0000.jl.gz", id="input-not-compressed"),
    pytest.param({"prevent_bypass": True}, "items_0000.jl.gz", id="prevent-bypass"),
]


@pytest.mark.parametrize(("change", "single_output"), NOT_BYPASSED)
def test_stream_bypass_is_not_chosen_when_the_output_would_differ(work, gcs, bucket, change, single_output):
    inputs = write_inputs(work / "in", 3)
    items = [json.loads(line) for data in inputs.values() for line in gzip.decompress(data).splitlines()]
    if change.get("plain_input"):
        for name, data in inputs.items():
            (work / "in" / name).unlink()
            (work / "in" / name.removesuffix(".gz")).write_bytes(gzip.decompress(data))
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
        "writer": gcs_writer(bucket, "out/items_", **change.get("writer", {})),
        "exporter_options": {"prevent_bypass": bool(change.get("prevent_bypass"))},
    }
    if "formatter" in change:
        config["exporter_options"]["formatter"] = change["formatter"]
    if "grouper" in change:
        config["grouper"] = change["grouper"]
    stats = export(config)
    assert "bypass" not in stats, "the output would differ from the pipeline's, yet a bypass ran"
    assert stats["items_written"] == len(items)
    if single_output:  # the pipeline wrote every item into one file, as it should
        assert GCSStore(gcs, bucket).names() == [f"out/{single_output}"]
        if single_output.endswith(".jl.gz"):
            got = [
                json.loads(line)
                for line in gzip.decompress(
                    GCSStore(gcs, bucket).content(f"out/{single_output}")
                ).splitlines()
            ]
            assert got == items


def test_stream_bypass_resumes_object_by_object_after_kill_9(tmp_path, gcs, bucket):
    inputs = write_inputs(tmp_path / "input", 40, items_each=400)
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "input")}}},
        "writer": {"name": "GStorageWriter", "options": {"bucket": bucket, "filebase": "out/items_"}},
    }
    env = {**gcs.env(), "EXPORTERS_GSTORAGE_CREDS_RESOURCE": json.dumps(gcs.service_account())}
    client = gcs.client()

    def count_written(since_ns: int) -> int:
        return sum(
            1
            for blob in client.list_blobs(bucket, prefix="out/")
            if blob.updated.timestamp() * 1e9 >= since_ns
        )

    harness = CrashHarness(tmp_path / "job", config, env=env, count_written=count_written)
    store = GCSStore(gcs, bucket)
    expected = {f"out/items_{n:04d}.jl.gz": data for n, data in enumerate(inputs.values())}
    check_bypass_resumes_object_by_object(
        harness, 12, "StreamBypass", expected, lambda: {name: store.content(name) for name in store.names()}
    )
