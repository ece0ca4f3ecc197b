"""Google Cloud Storage over the wire: GStorageReader and GStorageWriter against fake-gcs-server.

Credentials come from an Airflow connection (``AIRFLOW_CONN_OZZY_GCS``) with anonymous credentials,
the Google provider's ``is_anonymous`` field, and the client finds the emulator through
``STORAGE_EMULATOR_HOST``; nothing in Ozzy or the hook is patched. The ``kill -9`` test's ``ozzy``
processes use exporters' legacy ``credentials`` option instead (a service account whose tokens come
from the fixture's OAuth endpoint), which imports no Airflow module. Transient errors are injected
by a ``FaultProxy`` between Ozzy and the emulator.
"""

from __future__ import annotations

import datetime
import gzip
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.errors import ConfigurationError, InconsistentWriteError, ReaderError, WriterError
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.readers.gstorage_reader import GStorageReader
from airflow_provider_ozzy.writers.gstorage_writer import GStorageWriter
from tests.crash_harness import CrashHarness, Trigger, check_exact_output
from tests.helpers import read_json_lines, write_json_lines_gz
from tests.integration.object_store_cases import (
    COMPRESSED_INPUTS,
    FORMATS,
    ITEMS,
    expected_objects,
    export,
    fs_input,
    jl,
    parse_output,
)
from tests.integration.test_crash_resume import Scenario, make_item
from tests.servers.fault_proxy import FaultProxy
from tests.servers.gcs_server import GCSServer

CONN = "ozzy_gcs"  # AIRFLOW_CONN_OZZY_GCS
TODAY = datetime.datetime.now(datetime.UTC).date()


# -- fixtures and helpers -------------------------------------------------------------------------------


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def gcs(gcs_server: GCSServer, monkeypatch: pytest.MonkeyPatch) -> GCSServer:
    """The emulator, found by Ozzy through ``STORAGE_EMULATOR_HOST`` and the connection ``ozzy_gcs``."""
    for name, value in gcs_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", gcs_server.connection_json())
    return gcs_server


@pytest.fixture
def bucket(gcs: GCSServer) -> str:
    name = f"ozzy-{uuid.uuid4().hex[:12]}"
    gcs.client().create_bucket(name)
    return name


def put_objects(gcs: GCSServer, bucket: str, objects: dict[str, bytes]) -> None:
    target = gcs.client().bucket(bucket)
    for name, data in objects.items():
        target.blob(name).upload_from_string(data)


def names(gcs: GCSServer, bucket: str, prefix: str = "") -> list[str]:
    return sorted(blob.name for blob in gcs.client().list_blobs(bucket, prefix=prefix or None))


def content(gcs: GCSServer, bucket: str, name: str) -> bytes:
    data: bytes = gcs.client().bucket(bucket).blob(name).download_as_bytes()
    return data


def gcs_writer(bucket: str, filebase: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "GStorageWriter",
        "options": {"bucket": bucket, "filebase": filebase, "gcp_conn_id": CONN, **options},
    }


def gcs_reader(bucket: str, **options: Any) -> dict[str, Any]:
    return {"name": "GStorageReader", "options": {"bucket": bucket, "gcp_conn_id": CONN, **options}}


def proxied(
    gcs: GCSServer, fault_proxy: Callable[[str], FaultProxy], monkeypatch: pytest.MonkeyPatch
) -> FaultProxy:
    proxy = fault_proxy(gcs.url)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    return proxy


# -- round trips through the item pipeline --------------------------------------------------------------


@pytest.mark.parametrize(("formatter", "compression", "extension"), FORMATS)
def test_fs_to_gcs_with_groups_formats_and_compression(work, gcs, bucket, formatter, compression, extension):
    config = {
        "reader": fs_input(work, ITEMS),
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        "writer": gcs_writer(
            f"gs://{bucket}",
            "exports/%Y/{groups[0]}/part_",
            items_per_buffer_write=6,
            compression=compression,
        ),
        "exporter_options": {"formatter": formatter},
    }
    stats = export(config)
    expected = expected_objects(f"exports/{TODAY:%Y}/", extension, compression, per_file=6)
    assert names(gcs, bucket) == sorted(expected)
    for name, ids in expected.items():
        assert parse_output(content(gcs, bucket, name), name, extension) == ids, name
    assert (stats["items_written"], stats["files_written"]) == (len(ITEMS), len(expected))


@pytest.mark.parametrize("input_name", list(COMPRESSED_INPUTS))
def test_gcs_to_fs_reads_every_compression(work, gcs, bucket, input_name):
    """GStorageReader reads what any writer (or anyone) put there, detecting the compression."""
    name, encode = COMPRESSED_INPUTS[input_name]
    put_objects(gcs, bucket, {f"in/a-{name}": encode(jl(ITEMS[:25])), f"in/b-{name}": encode(jl(ITEMS[25:]))})
    export(
        {
            "reader": gcs_reader(bucket, prefix="in/", batch_size=7),
            "writer": {"name": "FSWriter", "options": {"filebase": "out/items_", "compression": "none"}},
        }
    )
    assert read_json_lines(work / "out/items_0000.jl") == ITEMS


def test_gcs_to_gcs_round_trip_with_groups_csv_and_exact_names(work, gcs, bucket):
    """GStorageWriter's output read back by GStorageReader (CSV, then JSON lines per group)."""
    put_objects(gcs, bucket, {"src/items.jl.gz": gzip.compress(jl(ITEMS))})
    csv_section = {"name": "CSVExportFormatter", "options": {"fields": ["id", "country", "name", "v"]}}
    export(
        {
            "reader": gcs_reader(bucket, prefix="src/"),
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
            "writer": gcs_writer(
                bucket, "csv/{groups[0]}/rows_", items_per_buffer_write=10, compression="bz2"
            ),
            "exporter_options": {"formatter": csv_section},
        }
    )
    expected = expected_objects("csv/", "csv", "bz2", per_file=10, prefix="rows_")
    assert names(gcs, bucket, "csv/") == sorted(expected)
    export(
        {
            "reader": gcs_reader(bucket, prefix="csv/us/", batch_size=3),
            "deserializer": {"name": "CSVDeserializer"},
            "writer": gcs_writer(bucket, "back/us_", compression="zstd"),
        }
    )
    assert names(gcs, bucket, "back/") == ["back/us_0000.jl.zstd"]
    path = work / "us.jl.zstd"
    path.write_bytes(content(gcs, bucket, "back/us_0000.jl.zstd"))
    us = [item for item in ITEMS if item["country"] == "us"]
    assert read_json_lines(path) == [
        {"id": str(item["id"]), "country": "us", "name": item["name"], "v": str(item["v"])} for item in us
    ]


def test_gcs_reader_listing_semantics(work, gcs, bucket):
    """prefix lists, pattern, prefix_pointer and prefix_format_using_date, as S3Reader."""
    day = TODAY - datetime.timedelta(days=1)
    before = TODAY - datetime.timedelta(days=2)
    objects = {
        f"logs/{before:%Y-%m-%d}/a.jl.gz": [{"n": 1}],
        f"logs/{day:%Y-%m-%d}/a.jl.gz": [{"n": 2}],
        f"logs/{day:%Y-%m-%d}/b.txt": [{"n": 99}],
        f"logs/{TODAY:%Y-%m-%d}/a.jl.gz": [{"n": 3}],
        "other/x.jl.gz": [{"n": 4}],
        "other/y.jl.gz": [{"n": 5}],
        "pointers/list.txt": None,
    }
    data = {name: gzip.compress(jl(items)) for name, items in objects.items() if items}
    data["pointers/list.txt"] = b"other/y\n\n  logs/%Y-%m-%d/  \n"
    put_objects(gcs, bucket, data)

    def read(**options: Any) -> list[int]:
        for path in work.glob("out*"):
            path.rename(work / f"old-{uuid.uuid4().hex}")
        export(
            {
                "reader": gcs_reader(bucket, **options),
                "writer": {"name": "FSWriter", "options": {"filebase": "out/i_"}},
            }
        )
        files = sorted(work.glob("out/*"))
        return [item["n"] for file in files for item in read_json_lines(file)]

    assert read(
        prefix=["other/", "logs/%Y-%m-%d/"],
        pattern=r"\.jl\.gz$",
        prefix_format_using_date=["2 days ago", "yesterday"],
    ) == [1, 2, 4, 5]  # one global name order (exporters: prefix by prefix)
    assert read(prefix_pointer="pointers/list.txt", prefix_format_using_date="today") == [3, 5]
    assert read(prefix="logs/", pattern="a\\.jl") == [1, 2, 3]


def test_gcs_reader_refuses_an_object_replaced_after_listing(work, gcs, bucket):
    put_objects(
        gcs,
        bucket,
        {"in/a.jl.gz": gzip.compress(jl(ITEMS[:5])), "in/b.jl.gz": gzip.compress(jl(ITEMS[5:10]))},
    )
    reader = GStorageReader({"bucket": bucket, "gcp_conn_id": CONN, "prefix": "in/", "batch_size": 5})
    reader.open(None)
    assert reader.get_next_batch() == ITEMS[:5]
    put_objects(gcs, bucket, {"in/b.jl.gz": gzip.compress(jl(ITEMS[20:25]))})
    with pytest.raises(ReaderError, match=rf"gs://{bucket}/in/b\.jl\.gz was replaced since it was listed"):
        reader.get_next_batch()
    reader.close()


# -- consistency ------------------------------------------------------------------------------------------


def test_check_consistency_catches_an_object_changed_after_it_was_written(work, gcs, bucket):
    writer = GStorageWriter(
        {
            "bucket": bucket,
            "gcp_conn_id": CONN,
            "filebase": "out/p_",
            "items_per_buffer_write": 10,
            "check_consistency": True,
        }
    )
    writer.open(JsonExportFormatter(), None)
    writer.write_batch({(): ITEMS}, 0)
    writer.flush()
    writer.finish_writing()  # untouched: passes
    assert names(gcs, bucket) == [f"out/p_{n:04d}.jl.gz" for n in range(4)]
    original = content(gcs, bucket, "out/p_0001.jl.gz")
    put_objects(gcs, bucket, {"out/p_0001.jl.gz": original[:-1] + bytes([original[-1] ^ 1])})  # same size
    gcs.client().bucket(bucket).blob("out/p_0003.jl.gz").delete()
    with pytest.raises(InconsistentWriteError) as caught:
        writer.finish_writing()
    writer.close()
    message = str(caught.value)
    assert "2 file(s)" in message
    assert f"gs://{bucket}/out/p_0001.jl.gz has md5" in message
    assert f"gs://{bucket}/out/p_0003.jl.gz is not present at the destination" in message


# -- kill -9 and resume ----------------------------------------------------------------------------------


def test_kill_9_then_resume_a_gcs_export_gives_exact_output(tmp_path, gcs, bucket):
    items = [make_item(number) for number in range(6000)]
    for index in range(3):
        write_json_lines_gz(
            tmp_path / "input" / f"part-{index}.jl.gz", items[index * 2000 : (index + 1) * 2000]
        )
    scenario = Scenario("gcs-grouped", group_key="country")
    config = scenario.config(tmp_path / "input")
    config["writer"] = {
        "name": "GStorageWriter",
        "options": {**config["writer"]["options"], "bucket": bucket, "check_consistency": True},
    }
    # legacy credentials from exporters' variable: the ozzy processes import no Airflow module
    env = {**gcs.env(), "EXPORTERS_GSTORAGE_CREDS_RESOURCE": json.dumps(gcs.service_account())}
    client = gcs.client()

    def count_written(since_ns: int) -> int:
        blobs = client.list_blobs(bucket, prefix="out/")
        return sum(1 for blob in blobs if blob.updated.timestamp() * 1e9 >= since_ns)

    harness = CrashHarness(tmp_path / "job", config, env=env, count_written=count_written)
    total = scenario.total_files(items)
    report = harness.run([Trigger("files", total // 4), Trigger("files", total // 3)], label="gcs-writer")
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert report.interruptions == 2, "a kill did not land inside the run" + context

    for name in names(gcs, bucket, "out/"):
        path = harness.output / name.removeprefix("out/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content(gcs, bucket, name))
    problems = check_exact_output(
        harness.output, scenario.expected(items), scenario.parse, layout=scenario.layout(items)
    )
    assert not problems, "\n  ".join(["the bucket does not hold exactly the input:", *problems]) + context
    lines = report.attempts[-1].log.read_text().splitlines()
    stats = json.loads(next(line for line in reversed(lines) if line.startswith("{")))
    assert (stats["items_written"], stats["files_written"]) == (len(items), total), context


# -- transient and permanent errors -------------------------------------------------------------------------


def test_transient_errors_are_retried_and_nothing_is_lost(work, gcs, bucket, fault_proxy, monkeypatch):
    proxy = proxied(gcs, fault_proxy, monkeypatch)
    put_objects(
        gcs,
        bucket,
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
    assert names(gcs, bucket, "out/") == ["out/p_0000.jl.gz", "out/p_0001.jl.gz", "out/p_0002.jl.gz"]
    got = []
    for name in names(gcs, bucket, "out/"):
        got.extend(json.loads(line) for line in gzip.decompress(content(gcs, bucket, name)).splitlines())
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
    assert names(gcs, bucket) == []


def test_legacy_credentials_from_a_package_resource_named_by_the_exporters_variable(
    work, gcs, bucket, monkeypatch
):
    """exporters' EXPORTERS_GSTORAGE_CREDS_RESOURCE ('package:path'): a real OAuth exchange, then the upload."""
    package = work / "site" / "ozzy_test_credentials"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "account.json").write_text(json.dumps(gcs.service_account()))
    monkeypatch.syspath_prepend(str(work / "site"))
    monkeypatch.setenv("EXPORTERS_GSTORAGE_CREDS_RESOURCE", "ozzy_test_credentials:account.json")
    grants = gcs.token_grants
    export(
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
            "writer": {"name": "GStorageWriter", "options": {"bucket": bucket, "filebase": "legacy/p_"}},
        }
    )
    assert names(gcs, bucket) == ["legacy/p_0000.jl.gz"]
    assert gcs.token_grants > grants, "the service account's token was never requested"
    monkeypatch.setenv("EXPORTERS_GSTORAGE_CREDS_RESOURCE", "ozzy_test_credentials:missing.json")
    with pytest.raises(WriterError, match="names resource 'ozzy_test_credentials:missing.json'"):
        export(
            {
                "reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
                "writer": {"name": "GStorageWriter", "options": {"bucket": bucket, "filebase": "legacy/q_"}},
            }
        )


def test_undefined_connection_names_the_connection_and_the_bucket(work, gcs, bucket):
    with pytest.raises(
        WriterError, match=rf"connection 'nowhere' \(option 'gcp_conn_id'\) is not defined; bucket '{bucket}'"
    ):
        export(
            {"reader": fs_input(work, ITEMS), "writer": gcs_writer(bucket, "out/p_", gcp_conn_id="nowhere")}
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
    assert names(gcs, bucket) == sorted(expected)
    for name, data in expected.items():
        assert content(gcs, bucket, name) == data, name


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
        assert names(gcs, bucket) == [f"out/{single_output}"]
        if single_output.endswith(".jl.gz"):
            got = [
                json.loads(line)
                for line in gzip.decompress(content(gcs, bucket, f"out/{single_output}")).splitlines()
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
    first = harness.attempt(Trigger("files", 12))
    context = f"\n{first.describe()}\n{first.log.read_text()[-3000:]}"
    assert first.interrupted, "the kill did not land inside the run" + context
    saved = (harness.committed_state() or {})["bypass"]["state"]
    done_before = saved["done_below"] + len(saved["done_above"])
    second = harness.attempt(None)
    context += f"\n{second.describe()}\n{second.log.read_text()[-3000:]}"
    assert second.returncode == 0, context
    expected = {f"out/items_{n:04d}.jl.gz": data for n, data in enumerate(inputs.values())}
    assert names(gcs, bucket) == sorted(expected), context
    for name, data in expected.items():
        assert content(gcs, bucket, name) == data, name + context
    stats = json.loads(
        next(line for line in reversed(second.log.read_text().splitlines()) if line.startswith("{"))
    )
    assert stats["bypass"] == "StreamBypass" and stats["files_written"] == 40, context
    # object by object: the resume copies exactly the objects the interrupted run had not recorded as done
    assert 0 < done_before < 40 and stats["objects_copied_this_run"] == 40 - done_before, context
