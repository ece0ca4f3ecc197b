"""S3 over the wire: S3Reader, S3Writer and S3Bypass against a real moto server.

Every request goes through a ``FaultProxy`` in front of moto (``tests/servers/fault_proxy.py``),
which records what Ozzy sent and received: that is how the tests see multipart uploads, that a
bypass copies on the server (no object byte through Ozzy), that a failing bucket costs one request,
and how they inject 503s, dropped connections and truncated bodies. Credentials come from Airflow
connections (``AIRFLOW_CONN_*``), except in the ``kill -9`` tests, whose ``ozzy`` processes use the
legacy explicit keys from ``EXPORTERS_S3*`` variables (and skip importing Airflow). The round trips
S3 shares with GCS and Azure Blob are in ``test_object_stores.py``.
"""

from __future__ import annotations

import bz2
import csv
import datetime
import gzip
import hashlib
import io
import json
import os
import random
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import zstandard

from airflow_provider_ozzy.errors import ConfigurationError, InconsistentWriteError, ReaderError, WriterError
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.readers.s3_reader import S3Reader
from airflow_provider_ozzy.writers.s3_writer import S3Writer
from tests.crash_harness import CrashHarness, CrashReport, Trigger
from tests.helpers import decompress, read_json_lines, write_json_lines_gz
from tests.integration.object_store_cases import ITEMS, S3Store, check_kill_9_and_resume, export, jl
from tests.integration.test_crash_resume import final_stats
from tests.servers.fault_proxy import Exchange, FaultProxy, Request
from tests.servers.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer

CONN = "ozzy_s3"  # AIRFLOW_CONN_OZZY_S3: moto through the test's proxy
TODAY = datetime.datetime.now(datetime.UTC).date()


# -- fixtures and helpers -------------------------------------------------------------------------------


@pytest.fixture
def proxy(
    moto_server: MotoServer, fault_proxy: Callable[[str], FaultProxy], monkeypatch: pytest.MonkeyPatch
) -> FaultProxy:
    """A proxy in front of moto, and the Airflow connection ``ozzy_s3`` pointing at it."""
    started = fault_proxy(moto_server.endpoint_url)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", moto_server.connection_json(started.url))
    return started


@pytest.fixture
def s3(moto_server: MotoServer) -> Any:
    """A boto3 client straight to moto, for setting up and checking (not through the proxy)."""
    return moto_server.client("s3")


def put_objects(s3: Any, bucket: str, objects: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda pair: s3.put_object(Bucket=bucket, Key=pair[0], Body=pair[1]), objects.items()))


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.extend(entry["Key"] for entry in page.get("Contents", []))
    return found


def body(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def object_items(s3: Any, bucket: str, key: str, tmp: Path) -> list[dict[str, Any]]:
    path = tmp / key.replace("/", "__")
    path.write_bytes(body(s3, bucket, key))
    return read_json_lines(path)


def s3_reader(bucket: str, **options: Any) -> dict[str, Any]:
    return {"name": "S3Reader", "options": {"bucket": bucket, "aws_conn_id": CONN, **options}}


def s3_writer(bucket: str, filebase: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "S3Writer",
        "options": {"bucket": bucket, "filebase": filebase, "aws_conn_id": CONN, **options},
    }


def is_object_get(exchange: Exchange | Request) -> bool:
    """A GET of an object (a download), not of a bucket (a listing)."""
    return exchange.method == "GET" and exchange.path.count("/") >= 2


def is_copy(exchange: Exchange) -> bool:
    headers = {key.lower() for key in exchange.headers}
    return exchange.method == "PUT" and "x-amz-copy-source" in headers


# -- round trips through the item pipeline --------------------------------------------------------------

SOURCE_ENCODINGS = {
    "gz": gzip.compress,
    "bz2": bz2.compress,
    "zst": lambda data: zstandard.ZstdCompressor().compress(data),
    "plain": lambda data: data,
}


def test_s3_to_fs_reads_every_compression_with_groups(work, proxy, moto_server, s3):
    bucket = moto_server.create_bucket()
    chunks = [ITEMS[0:10], ITEMS[10:25], ITEMS[25:31], ITEMS[31:]]
    names = ["data/a.jl.gz", "data/b.jl.bz2", "data/c.jl.zst", "data/d.jl"]
    put_objects(
        s3,
        bucket,
        {
            name: SOURCE_ENCODINGS[kind](jl(chunk))
            for name, kind, chunk in zip(names, SOURCE_ENCODINGS, chunks, strict=True)
        },
    )
    config = {
        "reader": s3_reader(bucket, prefix="data/", batch_size=4),
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/{groups[0]}/part_", "compression": "none"},
        },
        "exporter_options": {
            "formatter": {"name": "CSVExportFormatter", "options": {"fields": ["id", "country"]}}
        },
    }
    export(config)

    assert sorted(os.listdir("out")) == ["es", "uk", "us"]
    for country in ("es", "uk", "us"):
        assert os.listdir(f"out/{country}") == ["part_0000.csv"]
        rows = list(csv.reader(open(f"out/{country}/part_0000.csv")))
        assert rows[0] == ["id", "country"]
        assert [int(row[0]) for row in rows[1:]] == [
            item["id"] for item in ITEMS if item["country"] == country
        ]
    object_gets = proxy.exchanges(is_object_get)
    assert sorted(exchange.path for exchange in object_gets) == sorted(f"/{bucket}/{name}" for name in names)


def test_s3_to_s3_through_the_pipeline_keeps_every_item(work, proxy, moto_server, s3):
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    put_objects(s3, source, {f"in/{index}.jl.gz": gzip.compress(jl(ITEMS[index::4])) for index in range(4)})
    config = {
        "reader": s3_reader(source, prefix="in/", batch_size=6),
        "filter": {"name": "KeyValueFilter", "options": {"keys": [{"name": "country", "value": "us"}]}},
        "writer": s3_writer(destination, "out/us_", items_per_buffer_write=4),
    }
    stats = export(config)

    wanted = [item for index in range(4) for item in ITEMS[index::4] if item["country"] == "us"]
    found = keys(s3, destination)
    assert found == [f"out/us_{number:04d}.jl.gz" for number in range(-(-len(wanted) // 4))]
    assert [item for key in found for item in object_items(s3, destination, key, work)] == wanted
    assert "bypass" not in stats


# -- S3Reader listing -------------------------------------------------------------------------------------


def listing(bucket: str, **options: Any) -> list[str]:
    return [
        stream.name
        for stream in S3Reader({"bucket": bucket, "aws_conn_id": CONN, **options}).get_read_streams()
    ]


def test_s3_reader_listing_semantics(work, proxy, moto_server, s3):
    bucket = moto_server.create_bucket()
    yesterday = TODAY - datetime.timedelta(days=1)
    names = [
        "logs/2026-01-01/a.jl.gz",
        "logs/2026-01-02/b.jl.gz",
        "logs/2026-01-02/c.jl.gz",
        "logs/2026-01-02/",  # a folder marker: skipped
        "logs/2026-01-03/d.jl.gz",
        f"logs/{yesterday:%Y-%m-%d}/y.jl.gz",
        f"logs/{TODAY:%Y-%m-%d}/t.jl.gz",
        "other/e.jl.gz",
        "other/f.txt",
    ]
    put_objects(s3, bucket, {name: gzip.compress(jl([{"name": name}])) for name in names})
    put_objects(s3, bucket, {"pointers/latest": b"logs/2026-01-01/\n\nother/\n"})

    assert listing(bucket, prefix=["other/", "logs/2026-01-03/"]) == [
        "other/e.jl.gz",
        "other/f.txt",
        "logs/2026-01-03/d.jl.gz",
    ]
    assert listing(bucket, prefix="other/", pattern=r"\.jl\.gz$") == ["other/e.jl.gz"]
    assert listing(bucket, prefix="logs/", pattern="0[12]/") == names[:3]
    dated = {"prefix": "logs/%Y-%m-%d/"}
    assert listing(bucket, **dated, prefix_format_using_date=["2026-01-02", "2026-01-03"]) == [
        "logs/2026-01-02/b.jl.gz",
        "logs/2026-01-02/c.jl.gz",
        "logs/2026-01-03/d.jl.gz",
    ]
    assert listing(bucket, **dated, prefix_format_using_date="2026-01-01") == ["logs/2026-01-01/a.jl.gz"]
    assert listing(bucket, **dated, prefix_format_using_date=["1 day ago", "today"]) == [names[5], names[6]]
    assert listing(bucket, **dated) == [names[6]]  # no date: today, as exporters did
    # days first, then prefixes (exporters' order); a key under two prefixes is read once
    assert listing(
        bucket,
        prefix=["logs/%Y-%m-%d/", "other/e", "other/"],
        prefix_format_using_date=["yesterday", "today"],
    ) == [
        names[5],
        "other/e.jl.gz",
        "other/f.txt",
        names[6],
    ]
    assert listing(bucket, prefix_pointer="pointers/latest") == [
        "logs/2026-01-01/a.jl.gz",
        "other/e.jl.gz",
        "other/f.txt",
    ]
    assert listing(f"s3://{bucket}", prefix="logs/2026-01-01") == ["logs/2026-01-01/a.jl.gz"]

    # the items come out in the listing order, whatever the batch size
    config = {
        "reader": s3_reader(
            bucket, **dated, prefix_format_using_date=["2026-01-01", "2026-01-03"], batch_size=1
        ),
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_"}},
    }
    export(config)
    assert [item["name"] for item in read_json_lines("out/items_0000.jl.gz")] == [
        name for name in names[:5] if name.endswith(".gz")
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prefix": "a/", "prefix_pointer": "p"}, "cannot be used together"),
        ({"prefix_format_using_date": ["2026-01-03", "2026-01-01"]}, "greater or equal to the start date"),
        ({"prefix_format_using_date": "the day after"}, "is not a date"),
        ({"prefix_format_using_date": ["2026-01-01"]}, "two dates"),
        ({"pattern": "(unclosed"}, "not a valid regular expression"),
        ({"bucket": "s3://bucket/with/path"}, "put the path in 'prefix'"),
        ({"aws_access_key_id": "AKIA-only"}, "give both"),
    ],
)
def test_s3_reader_options_are_checked_without_network(options, message):
    with pytest.raises(ConfigurationError) as raised:
        S3Reader({"bucket": "bucket", **options})
    assert message in str(raised.value)
    assert "AKIA-only" not in str(raised.value)


# -- S3Writer ----------------------------------------------------------------------------------------------


def test_save_pointer_is_written_only_after_a_successful_export(work, proxy, moto_server, s3):
    bucket = moto_server.create_bucket()
    write_json_lines_gz("in/1.jl.gz", ITEMS[:20])
    Path("in/2.jl.gz").write_bytes(gzip.compress(jl(ITEMS[20:30]) + b'{"id": broken\n'))
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}, "batch_size": 5}},
        "writer": s3_writer(
            bucket, "exports/%Y-%m-%d/items_", items_per_buffer_write=5, save_pointer="latest"
        ),
    }
    with pytest.raises(ReaderError, match="broken"):
        export(config)
    assert len(keys(s3, bucket, "exports/")) >= 4  # files went out before the failure...
    assert "latest" not in keys(s3, bucket)  # ...but the pointer did not move

    Path("in/2.jl.gz").unlink()
    export(config)
    assert body(s3, bucket, "latest") == f"exports/{TODAY:%Y-%m-%d}/".encode()
    assert listing(bucket, prefix_pointer="latest") == [
        f"exports/{TODAY:%Y-%m-%d}/items_{n:04d}.jl.gz" for n in range(4)
    ]


def test_large_files_go_up_in_checked_parts(work, proxy, moto_server, s3):
    bucket = moto_server.create_bucket()
    rng = random.Random(7)
    items = [{"id": number, "blob": f"{rng.getrandbits(128):032x}" * 32} for number in range(11_000)]
    write_json_lines_gz("in/big.jl.gz", items)
    config = {
        "reader": {"name": "FSReader", "options": {"input": "in/big.jl.gz"}},
        "writer": s3_writer(
            bucket,
            "big/items_",
            compression="none",
            multipart_threshold=5 * 1024 * 1024,
            multipart_chunksize=5 * 1024 * 1024,
            check_consistency=True,
        ),
    }
    stats = export(config)

    data = body(s3, bucket, "big/items_0000.jl")
    assert len(data) == stats["bytes_written"] > 10 * 1024 * 1024
    assert [json.loads(line) for line in data.splitlines()] == items
    parts = proxy.exchanges(lambda e: e.method == "PUT" and "partNumber=" in e.query)
    assert sorted(int(e.query.split("partNumber=")[1].split("&")[0]) for e in parts) == [1, 2, 3]
    assert all("content-md5" in {key.lower() for key in e.headers} for e in parts)
    assert s3.head_object(Bucket=bucket, Key="big/items_0000.jl")["ETag"].strip('"').endswith("-3")
    assert not proxy.exchanges(lambda e: e.method == "PUT" and e.path.endswith(".jl") and not e.query)


def open_writer(bucket: str, **options: Any) -> S3Writer:
    writer = S3Writer(
        {
            "bucket": bucket,
            "filebase": "out/items_",
            "aws_conn_id": CONN,
            "check_consistency": True,
            **options,
        }
    )
    writer.open(JsonExportFormatter(), None)
    return writer


def test_check_consistency_catches_an_object_changed_after_it_was_written(work, proxy, moto_server, s3):
    bucket = moto_server.create_bucket()
    writer = open_writer(bucket, items_per_buffer_write=10)
    try:
        writer.write_batch({(): ITEMS[:30]}, 0)
        writer.flush()
        original = body(s3, bucket, "out/items_0001.jl.gz")
        changed = bytearray(original)
        changed[-5] ^= 0xFF  # same size, other bytes
        s3.put_object(
            Bucket=bucket, Key="out/items_0001.jl.gz", Body=bytes(changed), Metadata={"total": "10"}
        )
        s3.delete_object(Bucket=bucket, Key="out/items_0002.jl.gz")
        with pytest.raises(InconsistentWriteError) as raised:
            writer.finish_writing()
    finally:
        writer.close()
    message = str(raised.value)
    assert "for 2 file(s)" in message
    assert f"out/items_0001.jl.gz has ETag {hashlib.md5(changed).hexdigest()}" in message
    assert f"key out/items_0002.jl.gz not found in bucket {bucket}" in message
    assert "items_0000" not in message


# -- kill -9 and resume -----------------------------------------------------------------------------------


def legacy_env(proxy: FaultProxy) -> dict[str, str]:
    """Keys for a child ``ozzy``: exporters' variables, so the child need not import Airflow."""
    return {
        "EXPORTERS_S3WRITER_AWS_LOGIN": ACCESS_KEY,
        "EXPORTERS_S3WRITER_AWS_SECRET": SECRET_KEY,
        "EXPORTERS_S3READER_AWS_KEY": ACCESS_KEY,
        "EXPORTERS_S3READER_AWS_SECRET": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }


def puts_since(proxy: FaultProxy, bucket: str, predicate: Callable[[Exchange], bool]) -> Callable[[int], int]:
    def count(since_ns: int) -> int:
        return len(
            proxy.exchanges(
                lambda e: (
                    e.started_ns >= since_ns
                    and e.status == 200
                    and e.path.startswith(f"/{bucket}/")
                    and predicate(e)
                )
            )
        )

    return count


def test_kill_9_then_resume_an_s3_export_gives_exact_output(tmp_path, proxy, moto_server, s3):
    bucket = moto_server.create_bucket()
    count_written = puts_since(proxy, bucket, lambda e: e.method == "PUT" and not e.query)
    store = S3Store(moto_server, bucket)
    check_kill_9_and_resume(tmp_path, store, legacy_env(proxy), count_written, second_kill=4, host=proxy.url)


# -- S3Bypass -----------------------------------------------------------------------------------------------

# 400 keys by default: 16 copy threads with 32 copies queued still finish out of order (``done_above``),
# commits every 0.2 s still land before the kill at 30 % of the keys, and 1,000 keys fit in one
# listing page as 400 do: the full size adds no path, only 2.5 times the CPU (``-m slow`` runs it).
BYPASS_SIZES = [pytest.param(400, id="400"), pytest.param(1000, id="1000", marks=pytest.mark.slow)]


@pytest.fixture(scope="module")
def bypass_source(
    request: pytest.FixtureRequest, moto_server: MotoServer
) -> tuple[str, list[str], dict[str, str]]:
    """``request.param`` gzip JSON-lines objects (30 items each); returns the bucket, keys and their ETags."""
    s3 = moto_server.client("s3")
    bucket = moto_server.create_bucket(f"bypass-src-{request.param}")
    rng = random.Random(3)
    objects = {
        f"src/part-{index:04d}.jl.gz": gzip.compress(
            jl([{"key": index, "n": n, "text": f"{rng.getrandbits(512):0128x}"} for n in range(30)])
        )
        for index in range(request.param)
    }
    put_objects(s3, bucket, objects)
    etags = {key: hashlib.md5(data).hexdigest() for key, data in objects.items()}
    return bucket, sorted(objects), etags


def bypass_config(
    source: str, destination: str, filebase: str = "dst/items_", **writer: Any
) -> dict[str, Any]:
    return {"reader": s3_reader(source, prefix="src/"), "writer": s3_writer(destination, filebase, **writer)}


def check_copies(s3: Any, bucket: str, prefix: str, source_keys: list[str], etags: dict[str, str]) -> None:
    """Key N of the listing is file N, byte for byte (same MD5 ETag)."""
    found = {
        entry["Key"]: entry["ETag"].strip('"')
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for entry in page.get("Contents", [])
    }
    expected = {f"{prefix}items_{number:04d}.jl.gz": etags[key] for number, key in enumerate(source_keys)}
    assert found == expected


@pytest.mark.parametrize("bypass_source", BYPASS_SIZES, indirect=True)
def test_bypass_of_many_keys_copies_on_the_server_and_resumes_after_kill_9(
    tmp_path, proxy, moto_server, s3, bypass_source
):
    """``ozzy run`` killed after 30 % of the copies, then ``ozzy resume``: every key arrives once, by copy."""
    source, source_keys, etags = bypass_source
    total = len(source_keys)
    destination = moto_server.create_bucket()
    config = bypass_config(source, destination, "dst/items_", save_pointer="latest")
    for section in ("reader", "writer"):
        options = config[section]["options"]
        del options["aws_conn_id"]
        options["host"] = proxy.url
    copies = puts_since(proxy, destination, is_copy)
    harness = CrashHarness(tmp_path / "job", config, env=legacy_env(proxy), count_written=copies)

    killed = harness.attempt(Trigger("files", total * 3 // 10))
    report = CrashReport(None, "bypass", [killed])
    state = harness.committed_state() or {}
    saved = state.get("bypass", {}).get("state") or {}
    done = saved.get("done_below", 0) + len(saved.get("done_above", []))
    context = f"\ncommitted: {done} done\n{report.describe()}\n{report.log_tails()}"
    assert killed.interrupted and killed.returncode == -9, context
    # copies are committed every 0.2 s: the last ones before the kill may be redone, never skipped
    assert state["bypass"]["name"] == "S3Bypass" and 0 < done < total, context
    assert "latest" not in keys(s3, destination), "the pointer moved before the export finished"

    started = time.time_ns()
    resumed = harness.attempt(None)
    report.attempts.append(resumed)
    context = f"\ncommitted: {done} done\n{report.describe()}\n{report.log_tails()}"
    assert resumed.returncode == 0, context
    assert copies(started) == total - done, "the resume copied keys already recorded as done" + context
    stats = final_stats(report)
    assert (stats["bypass"], stats["files_written"], stats["objects_copied_this_run"]) == (
        "S3Bypass",
        total,
        total - done,
    )
    check_copies(s3, destination, "dst/", source_keys, etags)
    assert body(s3, destination, "latest") == b"dst/"

    # no object byte went through Ozzy: no download, no upload but the pointer, small answers only
    exchanges = proxy.exchanges()
    assert not [e for e in exchanges if is_object_get(e)]
    assert {f"{source}/{key}" for key in source_keys} == {
        e.headers.get("x-amz-copy-source") or e.headers.get("X-Amz-Copy-Source")
        for e in exchanges
        if is_copy(e)
    }
    uploaded = [e for e in exchanges if e.request_bytes]
    assert [(e.path, e.request_bytes) for e in uploaded] == [(f"/{destination}/latest", len(b"dst/"))]
    data_bytes = sum(len(body(s3, source, key)) for key in source_keys[:50]) * total // 50
    received = sum(e.response_bytes for e in exchanges)
    assert received < data_bytes / 2, f"{received} bytes received for {data_bytes} bytes of objects"


def test_multipart_copy_above_the_threshold(work, proxy, moto_server, s3):
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    big = os.urandom(11 * 1024 * 1024)  # the bypass never reads it: random bytes named .jl.gz will do
    s3.put_object(
        Bucket=source,
        Key="src/big.jl.gz",
        Body=big,
        Metadata={"total": "123"},
        ContentType="application/gzip",
    )
    small = gzip.compress(b'{"a": 1}\n')
    s3.put_object(Bucket=source, Key="src/small.jl.gz", Body=small)
    proxy.fail(1, 503, match=lambda r: "partNumber=2" in r.query)
    proxy.reset(1, match=lambda r: r.method == "PUT" and not r.query)
    config = bypass_config(
        source,
        destination,
        "dst/items_",
        multipart_copy_threshold=5 * 1024 * 1024,
        multipart_copy_chunksize=5 * 1024 * 1024,
        check_consistency=True,
    )
    stats = export(config)

    assert stats["bypass"] == "S3Bypass"
    assert hashlib.md5(body(s3, destination, "dst/items_0000.jl.gz")).digest() == hashlib.md5(big).digest()
    head = s3.head_object(Bucket=destination, Key="dst/items_0000.jl.gz")
    assert (head["Metadata"], head["ContentType"]) == ({"total": "123"}, "application/gzip")
    assert body(s3, destination, "dst/items_0001.jl.gz") == small
    part_copies = proxy.exchanges(lambda e: is_copy(e) and "partNumber=" in e.query and e.status == 200)
    assert len(part_copies) == 3 and not proxy.exchanges(is_object_get)
    assert proxy.pending_faults() == 0


@pytest.mark.parametrize(
    ("writer", "sections", "extension"),
    [
        pytest.param({"compression": "none"}, {}, "jl", id="uncompressed-output"),
        pytest.param({"compression": "bz2"}, {}, "jl.bz2", id="other-compression"),
        pytest.param(
            {},
            {"exporter_options": {"formatter": {"name": "CSVExportFormatter", "options": {"fields": ["a"]}}}},
            "csv.gz",
            id="csv-output",
        ),
        pytest.param({}, {"exporter_options": {"prevent_bypass": True}}, "jl.gz", id="prevent_bypass"),
        pytest.param(
            {},
            {
                "transform": {
                    "name": "PythonexpTransform",
                    "options": {"python_expressions": ["item.update({'a': item['a'] * 10})"]},
                }
            },
            "jl.gz",
            id="transform",
        ),
        pytest.param({"items_per_buffer_write": 2}, {}, "jl.gz", id="file-splitting"),
    ],
)
def test_bypass_is_not_chosen_when_the_output_would_differ(
    work, proxy, moto_server, s3, writer, sections, extension
):
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    put_objects(
        s3, source, {f"src/{n}.jl.gz": gzip.compress(jl([{"a": n}, {"a": n + 10}])) for n in range(3)}
    )
    config = {**bypass_config(source, destination, **writer), **sections}
    stats = export(config)

    assert "bypass" not in stats
    assert proxy.exchanges(is_object_get), "the pipeline read the objects"
    assert not proxy.exchanges(is_copy)
    found = keys(s3, destination)
    assert found and all(key.endswith(f".{extension}") for key in found)
    values = []
    for key in found:
        path = work / key.replace("/", "_")
        path.write_bytes(body(s3, destination, key))
        text = decompress(path).decode()
        values += (
            [int(row[0]) for row in list(csv.reader(io.StringIO(text)))[1:]]
            if "csv" in extension
            else [json.loads(line)["a"] for line in text.splitlines()]
        )
    factor = 10 if "transform" in str(sections) else 1
    assert values == [value * factor for n in range(3) for value in (n, n + 10)]


def test_bypass_is_chosen_for_the_same_configuration_as_a_control(work, proxy, moto_server, s3):
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    put_objects(s3, source, {f"src/{n}.jl.gz": gzip.compress(jl([{"a": n}])) for n in range(3)})
    stats = export(bypass_config(source, destination))
    assert stats["bypass"] == "S3Bypass" and not proxy.exchanges(is_object_get)
    assert keys(s3, destination) == [f"dst/items_{n:04d}.jl.gz" for n in range(3)]


# -- transient and permanent errors ------------------------------------------------------------------------


def test_transient_errors_are_retried_and_nothing_is_lost(work, proxy, moto_server, s3):
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    rng = random.Random(5)
    chunks = [
        [{"id": index * 100 + n, "pad": f"{rng.getrandbits(256):x}"} for n in range(60)] for index in range(3)
    ]
    put_objects(
        s3, source, {f"in/{index}.jl.gz": gzip.compress(jl(chunk)) for index, chunk in enumerate(chunks)}
    )

    def listing_request(request: Request) -> bool:
        return request.method == "GET" and "list-type" in request.query

    proxy.fail(1, 503, match=listing_request)
    proxy.reset(1, match=is_object_get)
    proxy.truncate(1, after_bytes=500, match=lambda r: is_object_get(r) and r.path.endswith("/1.jl.gz"))
    proxy.reset(1, match=lambda r: r.method == "PUT")
    config = {
        "reader": s3_reader(source, prefix="in/", batch_size=25),
        "writer": s3_writer(destination, "out/items_", items_per_buffer_write=50, check_consistency=True),
        "exporter_options": {"prevent_bypass": True},
    }
    stats = export(config)

    assert proxy.pending_faults() == 0, "not every fault was injected"
    faults = [e.fault for e in proxy.exchanges() if e.fault]
    assert sorted(faults) == ["fail", "reset", "reset", "truncate"]
    wanted = [item for chunk in chunks for item in chunk]
    found = keys(s3, destination)
    assert found == [f"out/items_{n:04d}.jl.gz" for n in range(4)]
    assert [item for key in found for item in object_items(s3, destination, key, work)] == wanted
    assert stats["items_written"] == len(wanted)


def test_missing_bucket_fails_fast_naming_bucket_and_connection(work, proxy, moto_server):
    bucket = "no-such-bucket-here"
    reader = S3Reader({"bucket": bucket, "aws_conn_id": CONN})
    with pytest.raises(ReaderError) as raised:
        reader.get_read_streams()
    assert (
        str(raised.value)
        == f"S3Reader: bucket '{bucket}' does not exist (or is not visible) with connection '{CONN}'"
    )
    assert len(proxy.exchanges()) == 1, "a permanent error must not be retried"

    proxy.clear()
    write_json_lines_gz("in/items.jl.gz", ITEMS)
    config = {
        "reader": {"name": "FSReader", "options": {"input": "in/items.jl.gz"}},
        "writer": s3_writer(bucket, "out/x_"),
    }
    with pytest.raises(WriterError, match=f"bucket '{bucket}' does not exist .* connection '{CONN}'"):
        export(config)
    assert [e.method for e in proxy.exchanges()] == ["HEAD"]

    with pytest.raises(
        ReaderError, match="Airflow connection 'not_defined_anywhere' .* is not defined; bucket 'b-1'"
    ):
        S3Reader({"bucket": "b-1", "aws_conn_id": "not_defined_anywhere"}).get_read_streams()


def test_refused_credentials_fail_fast_without_showing_the_secret(work, proxy, moto_server, s3, monkeypatch):
    bucket = moto_server.create_bucket()
    s3.put_object(Bucket=bucket, Key="in/a.jl.gz", Body=gzip.compress(jl(ITEMS)))
    secret = "Sup3r-S3cret-Never-Printed"
    bad = {
        "conn_type": "aws",
        "login": "AKIAOZZYUNKNOWN",
        "password": secret,
        "extra": {"endpoint_url": proxy.url, "region_name": REGION},
    }
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_BAD", json.dumps(bad))
    write_json_lines_gz("in/items.jl.gz", ITEMS)
    with moto_server.enforcing_auth():
        with pytest.raises(ReaderError) as from_connection:
            S3Reader({"bucket": bucket, "aws_conn_id": "ozzy_bad", "prefix": "in/"}).get_read_streams()
        with pytest.raises(WriterError) as from_keys:
            config = {
                "reader": {"name": "FSReader", "options": {"input": "in/items.jl.gz"}},
                "writer": {
                    "name": "S3Writer",
                    "options": {
                        "bucket": bucket,
                        "filebase": "o/x_",
                        "aws_access_key_id": "AKIAOZZYUNKNOWN",
                        "aws_secret_access_key": secret,
                        "host": proxy.url,
                    },
                },
            }
            export(config)
    assert str(from_connection.value) == (
        f"S3Reader: access to bucket '{bucket}' refused (InvalidAccessKeyId) with connection 'ozzy_bad'; "
        "check the credentials and the bucket policy"
    )
    assert str(from_keys.value) == (
        f"S3Writer: access to s3://{bucket}/o/x_0000.jl.gz refused (InvalidAccessKeyId) with explicit keys "
        "(option aws_access_key_id); check the credentials and the bucket policy"
    )
    for error in (from_connection.value, from_keys.value):
        assert secret not in str(error) and secret not in repr(error.__cause__) and error.__suppress_context__
    # refused: one listing; the writer's HEAD may be refused for write-only grants, so its PUT decides
    assert len([e for e in proxy.exchanges() if e.status == 403]) <= 3


def test_an_object_replaced_after_the_listing_is_not_read_half_old_half_new(work, proxy, moto_server, s3):
    bucket = moto_server.create_bucket()
    s3.put_object(Bucket=bucket, Key="in/a.jl.gz", Body=gzip.compress(jl(ITEMS)))
    reader = S3Reader({"bucket": bucket, "aws_conn_id": CONN, "prefix": "in/", "batch_size": 5})
    reader.open(None)
    s3.put_object(Bucket=bucket, Key="in/a.jl.gz", Body=gzip.compress(jl(ITEMS[::-1])))
    with pytest.raises(ReaderError, match=f"s3://{bucket}/in/a.jl.gz changed since it was listed"):
        reader.get_next_batch()
    reader.close()


def test_s3_reader_streams_without_holding_an_object_in_memory(work, proxy, moto_server, s3):
    bucket = moto_server.create_bucket()
    line = json.dumps({"pad": "x" * 480}).encode() + b"\n"
    s3.put_object(Bucket=bucket, Key="big/data.jl", Body=line * 40_000)  # 19.5 MB
    reader = S3Reader({"bucket": bucket, "aws_conn_id": CONN, "prefix": "big/", "batch_size": 500})
    reader.open(None)
    reader.get_next_batch()  # the client exists before measuring
    tracemalloc.start()
    try:
        count = 500
        while not reader.is_finished():
            count += len(reader.get_next_batch())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        reader.close()
    assert count == 40_000
    assert peak < 6 * 1024 * 1024, f"reading a 19.5 MB object peaked at {peak / 1e6:.1f} MB"
