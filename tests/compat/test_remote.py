"""exporters tests/test_readers_s3.py, test_writers_s3.py, test_bypass_s3.py (moto server) and
test_writers_ftp.py, test_writers_sftp.py (local FTP and SFTP servers), through ``ozzy run``.

Credentials come from Airflow connections (``AIRFLOW_CONN_*``); one S3 case uses exporters' explicit
key options. Each case gets fresh buckets or a fresh remote folder.
"""

from __future__ import annotations

import datetime
import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import EXPORTERS_DATA, RunOzzy, bypass_refusals, console, fs_input, items_of

PEOPLE = [{"name": "Roberto", "birthday": "12/05/1987"}, {"name": "Claudia", "birthday": "21/12/1985"}]
VALID_KEYS = [
    "test_list/dump_p1_US_a", "test_list/dump_p1_UK_a", "test_list/dump_p1_US_b", "test_list/dump_p2_US_a",
    "test_list/dump_p1_ES_a", "test_list/dump_p1_FR_a", "test_list/dump_p_US_a",
]  # fmt: skip
TODAY = datetime.date.today()
JL_GZ = gzip.compress(b"".join(json.dumps(p).encode() + b"\n" for p in PEOPLE), mtime=0)


@pytest.fixture
def s3(moto_server: Any, monkeypatch: pytest.MonkeyPatch, work: Path) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_S3", moto_server.connection_json())
    return moto_server.client("s3")


def put(s3: Any, bucket: str, key: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return sorted(
        entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    )


def body(s3: Any, bucket: str, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def s3_reader(bucket: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "exporters.readers.s3_reader.S3Reader",
        "options": {"bucket": bucket, "aws_conn_id": "ozzy_s3", **options},
    }


def s3_writer(bucket: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "exporters.writers.s3_writer.S3Writer",
        "options": {"bucket": bucket, "aws_conn_id": "ozzy_s3", **options},
    }


@pytest.fixture
def valid_keys_bucket(s3: Any, moto_server: Any) -> str:
    """S3ReaderTest.setUp: one gzip JSON line ``{"name": <key>}`` per key."""
    bucket = moto_server.create_bucket("valid-keys")
    for key in VALID_KEYS:
        put(s3, bucket, key, gzip.compress(json.dumps({"name": key}).encode()))
    return bucket


@pytest.mark.parametrize(
    ("case", "options", "expected"),
    [
        (
            "test_list_keys",
            {"prefix": "test_list/", "pattern": "dump_p(.*)_US_(.*)"},
            ["dump_p1_US_a", "dump_p1_US_b", "dump_p2_US_a", "dump_p_US_a"],
        ),
        (
            "test_list_keys_prefix_and_suffix[s3:// bucket]",
            {"prefix": "test_list/", "pattern": "dump_p(.*)_US_(.*)", "bucket_form": "s3://{}/"},
            ["dump_p1_US_a", "dump_p1_US_b", "dump_p2_US_a", "dump_p_US_a"],
        ),
        (
            "test_no_pattern_keys",
            {"prefix": "test_list/", "batch_size": 1},
            [
                "dump_p1_ES_a",
                "dump_p1_FR_a",
                "dump_p1_UK_a",
                "dump_p1_US_a",
                "dump_p1_US_b",
                "dump_p2_US_a",
                "dump_p_US_a",
            ],
        ),
        (
            "test_no_prefix_list_keys",
            {"pattern": "(.*)dump_p(.*)_US_(.*)"},
            ["dump_p1_US_a", "dump_p1_US_b", "dump_p2_US_a", "dump_p_US_a"],
        ),
        ("test_list_no_keys", {"prefix": "test_list/", "pattern": "test_key_(.*)"}, []),
        ("test_date_prefix", {"prefix": "test_list/%Y-%m-%d"}, []),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_s3_reader_keys(
    run_ozzy: RunOzzy, valid_keys_bucket: str, case: str, options: dict[str, Any], expected: list[str]
) -> None:
    """The keys read, in exporters' listing order (test_get_batch: the first is dump_p1_ES_a)."""
    options = dict(options)
    bucket = options.pop("bucket_form", "{}").format(valid_keys_bucket)
    result = run_ozzy({"reader": s3_reader(bucket, **options), "writer": console()})
    assert result.code == 0, result.err
    assert [item["name"] for item in result.printed_items] == [f"test_list/{name}" for name in expected]


@pytest.mark.parametrize(
    ("case", "prefix", "dates", "days_back"),
    [
        ("test_date_prefix", "p/%Y-%m-%d", None, [0]),
        ("test_date_prefix_yesterday", "p/%Y-%m-%d", "yesterday", [1]),
        ("test_date_range_prefixes", "p/%Y-%m-%d", ["2 days ago", "today"], [2, 1, 0]),
        ("test_date_prefix_list", ["a/daily/%Y-%m-%d", "b/daily/%Y-%m-%d"], None, [0]),
        ("test_prefix_list_using_date", ["a/daily/%Y-%m-%d", "b/daily/%Y-%m-%d"], "yesterday", [1]),
    ],
    ids=lambda value: value if isinstance(value, str) and value.startswith("test") else "",
)
def test_s3_reader_date_prefixes(
    run_ozzy: RunOzzy, s3: Any, moto_server: Any, case: str, prefix: Any, dates: Any, days_back: list[int]
) -> None:
    """The prefixes a date option makes, seen as the objects read (one per day, three days of data)."""
    bucket = moto_server.create_bucket("dates")
    prefixes = prefix if isinstance(prefix, list) else [prefix]
    for template in prefixes:
        for back in range(4):
            key = (TODAY - datetime.timedelta(days=back)).strftime(template) + "/part.jl.gz"
            put(s3, bucket, key, gzip.compress(json.dumps({"key": key}).encode() + b"\n"))
    options: dict[str, Any] = {"prefix": prefix}
    if dates is not None:
        options["prefix_format_using_date"] = dates
    result = run_ozzy({"reader": s3_reader(bucket, **options), "writer": console()})
    assert result.code == 0, result.err
    expected = {
        (TODAY - datetime.timedelta(days=back)).strftime(t) + "/part.jl.gz"
        for t in prefixes
        for back in days_back
    }
    assert {item["key"] for item in result.printed_items} == expected


def test_s3_reader_prefix_pointer(run_ozzy: RunOzzy, s3: Any, moto_server: Any) -> None:
    """TestS3BucketKeysFetcher.test_prefix_pointer_list / S3BypassTest.test_prefix_pointer_list_keys:
    the pointer object's lines are the prefixes."""
    bucket = moto_server.create_bucket("pointer")
    for key in ["pointer1/a", "pointer2/b", "pointer3/c"]:
        put(s3, bucket, key, gzip.compress(json.dumps({"key": key}).encode()))
    put(s3, bucket, "test_pointer/LAST", b"pointer1/\npointer3/\n")
    result = run_ozzy({"reader": s3_reader(bucket, prefix_pointer="test_pointer/LAST"), "writer": console()})
    assert result.code == 0, result.err
    assert [item["key"] for item in result.printed_items] == ["pointer1/a", "pointer3/c"]


def test_s3_reader_compressed_file(run_ozzy: RunOzzy, s3: Any, moto_server: Any) -> None:
    """S3ReaderTest.test_read_compressed_file: tests/data/dummy_data.jl.gz holds 200 items."""
    bucket = moto_server.create_bucket("compressed")
    put(s3, bucket, "test/dummy_data.gz", (EXPORTERS_DATA / "dummy_data.jl.gz").read_bytes())
    result = run_ozzy(
        {"reader": s3_reader(bucket, prefix="test/", pattern="dummy_data(.*)"), "writer": console()}
    )
    assert result.code == 0, result.err
    assert result.stats["items_read"] == 200


@pytest.mark.parametrize(
    ("case", "bucket_form", "writer_options", "key"),
    [
        ("test_write_s3", "{}", {}, "tests/0.jl.gz"),
        ("test_write_s3_with_s3_prefix", "s3://{}/", {}, "tests/0.jl.gz"),
        ("test_connect_to_specific_region", "{}", {"aws_region": "eu-west-1"}, "tests/0.jl.gz"),
        ("test_write_s3_check_consistency (passing)", "{}", {"check_consistency": True}, "tests/0.jl.gz"),
        ("compression none", "{}", {"compression": "none"}, "tests/0.jl"),
    ],
    ids=lambda value: value if isinstance(value, str) and not value.startswith("{") else "",
)
def test_s3_writer(
    run_ozzy: RunOzzy,
    s3: Any,
    moto_server: Any,
    work: Path,
    case: str,
    bucket_form: str,
    writer_options: dict[str, Any],
    key: str,
) -> None:
    bucket = moto_server.create_bucket("writer")
    result = run_ozzy(
        {
            "reader": fs_input(work, PEOPLE),
            "writer": s3_writer(bucket_form.format(bucket), filebase="tests/{file_number}", **writer_options),
        }
    )
    assert result.code == 0, result.err
    assert keys(s3, bucket) == [key]
    data = body(s3, bucket, key)
    text = gzip.decompress(data) if key.endswith(".gz") else data
    assert [json.loads(line) for line in text.splitlines()] == PEOPLE


def test_s3_writer_with_explicit_keys(run_ozzy: RunOzzy, s3: Any, moto_server: Any, work: Path) -> None:
    """exporters' ``aws_access_key_id``/``aws_secret_access_key`` options (legacy configs)."""
    from tests.servers.moto_server import ACCESS_KEY, SECRET_KEY

    bucket = moto_server.create_bucket("keys")
    writer = {
        "name": "S3Writer",
        "options": {
            "bucket": bucket,
            "filebase": "tests/{file_number}",
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
            "host": moto_server.endpoint_url,
        },
    }
    result = run_ozzy({"reader": fs_input(work, PEOPLE), "writer": writer})
    assert result.code == 0, result.err
    assert keys(s3, bucket) == ["tests/0.jl.gz"]
    assert SECRET_KEY not in result.out


def test_s3_writer_save_pointer(run_ozzy: RunOzzy, s3: Any, moto_server: Any, work: Path) -> None:
    """S3WriterTest.test_write_pointer: ``save_pointer`` holds the filebase's folder."""
    bucket = moto_server.create_bucket("pointer")
    result = run_ozzy(
        {
            "reader": fs_input(work, PEOPLE),
            "writer": s3_writer(bucket, filebase="tests/{file_number}", save_pointer="pointer/LAST"),
        }
    )
    assert result.code == 0, result.err
    assert keys(s3, bucket, "pointer/") == ["pointer/LAST"]
    assert body(s3, bucket, "pointer/LAST") == b"tests/"


def test_s3_writer_reservoir_sample(run_ozzy: RunOzzy, s3: Any, moto_server: Any, work: Path) -> None:
    """S3WriterTest.test_write_reservoir_sample_s3: 10 of 100 items, ``tests/0.jl``."""
    bucket = moto_server.create_bucket("sample")
    items = [{"key1": f"value1{n}", "key2": f"value2{n}"} for n in range(100)]
    writer = s3_writer(
        bucket, filebase="tests/{file_number}", compression="none",
        write_buffer="exporters.write_buffers.reservoir_sampling_buffer.ReservoirSamplingWriteBuffer", write_buffer_options={"sample_size": 10},
    )  # fmt: skip
    result = run_ozzy({"reader": fs_input(work, items), "writer": writer})
    assert result.code == 0, result.err
    assert keys(s3, bucket) == ["tests/0.jl"]
    lines = body(s3, bucket, "tests/0.jl").strip().splitlines()
    assert len(lines) == 10
    assert len(set(lines)) == 10


# -- S3 bypass (tests/test_bypass_s3.py) ---------------------------------------------------------------


@pytest.fixture
def source(s3: Any, moto_server: Any) -> str:
    """S3BypassTest.setUp: ``some_prefix/test_key`` with two people, here as gzip JSON lines named
    ``.jl.gz`` (exporters' key held a JSON array: see test_bypass_declines_a_key_not_named_as_output)."""
    bucket = moto_server.create_bucket("source")
    put(s3, bucket, "some_prefix/test_key.jl.gz", JL_GZ)
    return bucket


def test_copy_bypass_s3(run_ozzy: RunOzzy, s3: Any, moto_server: Any, source: str) -> None:
    """S3BypassTest.test_copy_bypass_s3 (and the copy-mode fallbacks): the object is copied
    unchanged to ``<filebase>/<basename>``."""
    dest = moto_server.create_bucket("dest")
    result = run_ozzy(
        {
            "reader": s3_reader(source, prefix="some_prefix/"),
            "writer": s3_writer(dest, filebase="some_prefix/"),
        }
    )
    assert result.code == 0, result.err
    assert keys(s3, dest) == ["some_prefix/test_key.jl.gz"]
    assert body(s3, dest, "some_prefix/test_key.jl.gz") == JL_GZ
    # exporters counted items from a ``total`` metadata the object lacks here: inaccurate in both
    assert (result.stats["bypass"], result.stats["items_count_accurate"]) == ("S3Bypass", False)


def test_bypass_filebase_date_and_save_pointer(
    run_ozzy: RunOzzy, s3: Any, moto_server: Any, source: str
) -> None:
    """S3BypassTest.test_filebase_format_bypass and test_write_pointer: strftime in the filebase,
    the pointer holds the formatted folder."""
    dest = moto_server.create_bucket("dest")
    writer = s3_writer(dest, filebase="some_path/%Y-%m-%d/", save_pointer="pointer/LAST")
    result = run_ozzy({"reader": s3_reader(source, prefix="some_prefix/"), "writer": writer})
    assert result.code == 0, result.err
    folder = TODAY.strftime("some_path/%Y-%m-%d/")
    assert keys(s3, dest) == ["pointer/LAST", f"{folder}test_key.jl.gz"]
    assert body(s3, dest, "pointer/LAST") == folder.encode()


def test_bypass_with_prefix_pointer(run_ozzy: RunOzzy, s3: Any, moto_server: Any) -> None:
    """S3BypassTest.test_prefix_pointer_list_keys: three keys copied by their names."""
    src = moto_server.create_bucket("src")
    for n in (1, 2, 3):
        put(s3, src, f"some_prefix/key{n}.jl.gz", JL_GZ)
    put(s3, src, "test_pointer/LAST", b"some_prefix/")
    dest = moto_server.create_bucket("dest")
    result = run_ozzy(
        {
            "reader": s3_reader(src, prefix_pointer="test_pointer/LAST"),
            "writer": s3_writer(dest, filebase="some_prefix/"),
        }
    )
    assert result.code == 0, result.err
    assert keys(s3, dest) == ["some_prefix/key1.jl.gz", "some_prefix/key2.jl.gz", "some_prefix/key3.jl.gz"]
    assert (result.stats["bypass"], result.stats["files_written"]) == ("S3Bypass", 3)


def test_bypass_declines_a_key_not_named_as_output(run_ozzy: RunOzzy, s3: Any, moto_server: Any) -> None:
    """S3BypassTest.test_copy_bypass_s3 with exporters' own object (``test_key``, a JSON array):
    exporters copied it blindly. Departure (docs/design.md, "Object storage: S3, and bypasses":
    S3Bypass declines a key whose name does not end as the output would): the item pipeline runs
    and rejects the data, naming the key and line; nothing is copied."""
    src = moto_server.create_bucket("src")
    put(s3, src, "some_prefix/test_key", json.dumps(PEOPLE).encode())
    dest = moto_server.create_bucket("dest")
    result = run_ozzy(
        {"reader": s3_reader(src, prefix="some_prefix/"), "writer": s3_writer(dest, filebase="some_prefix/")}
    )
    assert result.code == 1
    assert "some_prefix/test_key line 1" in result.err
    assert keys(s3, dest) == []


@pytest.mark.parametrize(
    ("case", "extra"),
    bypass_refusals("FileKeyGrouper"),
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bypass_conditions_not_met(
    run_ozzy: RunOzzy, s3: Any, moto_server: Any, case: str, extra: dict[str, Any]
) -> None:
    """S3BypassConditionsTest / StreamBypassConditionsTest / S3Azure*BypassConditionsTest: with a
    filter, a grouper or items_limit the items go through the pipeline (items re-written as
    ``<filebase><n>.jl.gz``), never copied as objects."""
    src = moto_server.create_bucket("src")
    put(
        s3,
        src,
        "some_prefix/part.jl.gz",
        gzip.compress(b"".join(json.dumps(p).encode() + b"\n" for p in PEOPLE)),
    )
    dest = moto_server.create_bucket("dest")
    writer = s3_writer(dest, filebase="out/{file_number}")
    if "items_limit" in extra:
        writer["options"]["items_limit"] = extra["items_limit"]
    config = {
        "reader": s3_reader(src, prefix="some_prefix/"),
        "writer": writer,
        **{k: v for k, v in extra.items() if k != "items_limit"},
    }
    result = run_ozzy(config)
    assert result.code == 0, result.err
    written = keys(s3, dest)
    assert "out/part.jl.gz" not in written
    assert all(key.startswith("out/") and key.endswith(".jl.gz") for key in written)
    assert result.stats["items_written"] == 2


def test_bypass_meets_conditions(run_ozzy: RunOzzy, s3: Any, moto_server: Any) -> None:
    """S3BypassConditionsTest.test_should_meet_conditions: same format and compression, nothing
    per item: the object is copied byte for byte (gzip bytes the item pipeline would not make)."""
    src = moto_server.create_bucket("src")
    data = gzip.compress(b'{"name": "Roberto"}\n', mtime=0)
    put(s3, src, "some_prefix/part.jl.gz", data)
    dest = moto_server.create_bucket("dest")
    result = run_ozzy(
        {"reader": s3_reader(src, prefix="some_prefix/"), "writer": s3_writer(dest, filebase="copy/")}
    )
    assert result.code == 0, result.err
    [key] = keys(s3, dest)
    assert body(s3, dest, key) == data


# -- FTP and SFTP writers (tests/test_writers_ftp.py, test_writers_sftp.py) ----------------------------


@pytest.fixture(params=["ftp", "sftp"])
def remote(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, work: Path) -> tuple[str, Path]:
    server = request.getfixturevalue(f"{request.param}_server")
    monkeypatch.setenv(f"AIRFLOW_CONN_OZZY_{request.param.upper()}", server.connection_json())
    return request.param, server.root


def remote_writer(kind: str, filebase: str, **options: Any) -> dict[str, Any]:
    name = {
        "ftp": "exporters.writers.ftp_writer.FTPWriter",
        "sftp": "exporters.writers.sftp_writer.SFTPWriter",
    }[kind]
    return {"name": name, "options": {"filebase": filebase, f"{kind}_conn_id": f"ozzy_{kind}", **options}}


def test_remote_writer_creates_parent_dirs(run_ozzy: RunOzzy, work: Path, remote: tuple[str, Path]) -> None:
    """FTPWriterTest.test_create_parent_dirs_in_right_order: ``some/long/dir/tree/``."""
    kind, root = remote
    top = f"c{uuid.uuid4().hex[:8]}"
    result = run_ozzy(
        {"reader": fs_input(work, PEOPLE), "writer": remote_writer(kind, f"{top}/some/long/dir/tree/")}
    )
    assert result.code == 0, result.err
    assert items_of(root / top / "some/long/dir/tree/0000.jl.gz") == PEOPLE


@pytest.mark.parametrize("check", [False, True])
def test_remote_writer_with_filebase_prefix(
    run_ozzy: RunOzzy, work: Path, remote: tuple[str, Path], check: bool
) -> None:
    """FTPWriterTest.test_create_parent_dirs_with_filebase_prefix, test_check_writer_consistency_*
    and SFTPWriterTest.test_check_writer_consistency (the passing half: the failing halves mocked the
    server's answers)."""
    kind, root = remote
    top = f"c{uuid.uuid4().hex[:8]}"
    result = run_ozzy(
        {
            "reader": fs_input(work, PEOPLE),
            "writer": remote_writer(kind, f"{top}/some/long/dir/with/prefix", check_consistency=check),
        }
    )
    assert result.code == 0, result.err
    assert sorted(p.name for p in (root / top / "some/long/dir/with").iterdir()) == ["prefix0000.jl.gz"]
    assert items_of(root / top / "some/long/dir/with/prefix0000.jl.gz") == PEOPLE


@pytest.mark.parametrize(("kind", "port"), [("ftp", 21), ("sftp", 22)])
def test_default_port(run_ozzy: RunOzzy, work: Path, kind: str, port: int) -> None:
    """FTPWriterTest.test_default_port_is_21 / SFTPWriterTest.test_create: legacy ``host`` options
    without ``port`` validate (the default port is the protocol's)."""
    from tests.helpers import write_config

    options = {
        "filebase": "test/",
        "host": "ftp.example.com",
        f"{kind}_user": "user",
        f"{kind}_password": "password",
    }
    config = {
        "reader": fs_input(work, PEOPLE),
        "writer": {"name": f"{kind.upper()}Writer", "options": options},
    }
    result = run_ozzy("validate", write_config(work / "c.json", config))
    assert result.code == 0, result.err
    modules = run_ozzy("modules", "--json")
    [entry] = [m for m in json.loads(modules.out) if m["name"] == f"{kind.upper()}Writer"]
    assert entry["options"]["port"].get("default") == port
