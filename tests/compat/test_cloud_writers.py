"""exporters tests/test_writers_azure.py, test_bypass_azure_s3.py (copies), test_writers_gstorage.py
and test_writers_gdrive.py, through ``ozzy run`` against local servers: Azurite (Azure Blob),
``tests/servers/azure_files_server.py`` (Azure Files), fake-gcs-server (GCS), the Drive server of
``tests/servers/gdrive_server.py``, and moto (the S3 side of the bypasses).

The configs are exporters' own: account names and keys, a GCS service account object or
``EXPORTERS_GSTORAGE_CREDS_RESOURCE``, Drive ``credentials``/``client_secret`` objects, plain S3
keys, each pointed at its server (``account_url``, ``api_endpoint``, ``host``,
``STORAGE_EMULATOR_HOST``). No Airflow connection is involved.

exporters checked consistency failures by mocking the storage client's answers (a blob of 999
bytes, a missing blob); here a ``fault_proxy`` in front of the server gives that same answer to
the one request that reads the file's properties back, so Ozzy runs unchanged against a server
that reports the wrong size or no file.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import RunOzzy
from tests.integration.object_store_cases import gcs_credentials_resource, new_gcs_bucket, use_gcs
from tests.servers.azure_files_server import ACCOUNT, KEY, AzureFilesServer
from tests.servers.azurite_server import AzuriteServer, UrlCopyProxy
from tests.servers.fault_proxy import FaultProxy, Request
from tests.servers.gcs_server import GCSServer
from tests.servers.gdrive_server import DriveServer
from tests.servers.moto_server import ACCESS_KEY, SECRET_KEY, MotoServer

PEOPLE = [{"name": "Roberto", "birthday": "12/05/1987"}, {"name": "Claudia", "birthday": "21/12/1985"}]
START_NAME = re.compile(r"\d{8}T\d{6}_")  # AzureBlobWriter's default filebase: the job's start time


def people(work: Path) -> dict[str, Any]:
    """exporters' ``get_batch`` (two people), as an uncompressed JSON lines file: the items go
    through the pipeline and the writer, as in exporters' tests (a ``.jl.gz`` input would be copied
    as it is by StreamBypass into GStorageWriter or AzureBlobWriter)."""
    path = work / "in" / "people.jl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(json.dumps(item).encode() + b"\n" for item in PEOPLE))
    return {"name": "exporters.readers.fs_reader.FSReader", "options": {"input": str(path)}}


def lines_of(data: bytes) -> list[dict[str, Any]]:
    text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def jl_gz(items: list[dict[str, Any]]) -> bytes:
    return gzip.compress(b"".join(json.dumps(item).encode() + b"\n" for item in items), mtime=0)


def is_properties_read(path_end: str) -> Callable[[Request], bool]:
    """The request reading an Azure blob's or file's properties back (a HEAD on its path)."""
    return lambda request: request.method == "HEAD" and request.path.endswith(path_end)


def azure_fault(proxy: FaultProxy, fault: str | None, path_end: str) -> None:
    """exporters' mocked answers: ``size`` a blob/file of 999 bytes, ``missing`` a 404."""
    if fault == "size":
        proxy.fail(1, status=200, match=is_properties_read(path_end), body=b"x" * 999, content_type="")
    elif fault == "missing":
        proxy.fail(
            1,
            status=404,
            match=is_properties_read(path_end),
            body=b"",
            content_type="application/xml",
        )


# -- AzureBlobWriter (tests/test_writers_azure.py::AzureBlobWriterTest) ---------------------------------


def blob_writer(container: str, endpoint: str, **options: Any) -> dict[str, Any]:
    """exporters' AzureBlobWriterTest.get_writer_config, the account pointed at ``endpoint``."""
    return {
        "name": "exporters.writers.azure_blob_writer.AzureBlobWriter",
        "options": {
            "container": container,
            "account_name": ACCOUNT,
            "account_key": KEY,
            "account_url": endpoint,
            **options,
        },
    }


def blobs(azurite: AzuriteServer, container: str) -> dict[str, bytes]:
    client = azurite.client().get_container_client(container)
    if not client.exists():
        return {}
    return {item.name: client.download_blob(item.name).readall() for item in client.list_blobs()}


@pytest.mark.parametrize("container", ["invalid--container--name", "some_share"])
def test_invalid_container_name(
    run_ozzy: RunOzzy, work: Path, azurite_server: AzuriteServer, container: str
) -> None:
    """exporters: test_writers_azure.py::AzureBlobWriterTest::test_invalid_container_name (and
    test_bypass_azure_s3.py's container ``some_share``). exporters only warned ("doesn't conform
    with naming rules") and went on to ``create_container``, which Azure refuses for such names
    (InvalidResourceName); its regex also let ``some_share`` through. Ozzy refuses the config
    before any request, naming the option (exit 2)."""
    result = run_ozzy({"reader": people(work), "writer": blob_writer(container, azurite_server.endpoint)})
    assert result.code == 2, result.err
    assert "option 'container' must be 3-63 lowercase letters, digits and single hyphens" in result.err
    assert repr(container) in result.err


def test_write_blob(run_ozzy: RunOzzy, work: Path, azurite_server: AzuriteServer) -> None:
    """exporters: test_writers_azure.py::AzureBlobWriterTest::test_write_blob: two items, one blob,
    the container created by the writer. Departure (docs/design.md, "Object storage: Google Cloud
    Storage, Azure Blob, Azure Files"): exporters named the blob after its random buffer file
    (``<uuid>.jl.gz``); Ozzy's default ``filebase`` is the job's start time (``%Y%m%dT%H%M%S_0000.jl.gz``)."""
    container = f"datasetsscrapinghub-{uuid.uuid4().hex[:8]}"
    result = run_ozzy({"reader": people(work), "writer": blob_writer(container, azurite_server.endpoint)})
    assert result.code == 0, result.err
    written = blobs(azurite_server, container)
    [name] = written
    assert START_NAME.match(name) and name.endswith("_0000.jl.gz"), name
    assert lines_of(written[name]) == PEOPLE
    assert result.stats["items_written"] == 2


@pytest.mark.parametrize(
    ("case", "fault"),
    [
        ("test_write_blob_consistency_size", None),
        ("test_write_blob_consistency_size", "size"),
        ("test_write_blob_consistency_present", "missing"),
    ],
    ids=["passes", "size", "present"],
)
def test_write_blob_consistency(
    run_ozzy: RunOzzy,
    work: Path,
    azurite_server: AzuriteServer,
    fault_proxy: Callable[[str], FaultProxy],
    case: str,
    fault: str | None,
) -> None:
    """exporters: test_writers_azure.py::AzureBlobWriterTest::test_write_blob_consistency_size and
    ::test_write_blob_consistency_present: with ``check_consistency``, a blob the server reports
    with 999 bytes, or not at all, fails the export naming it (exporters: "has unexpected size",
    "Missing blob"); the untouched blob passes."""
    proxy = fault_proxy(f"http://127.0.0.1:{azurite_server.port}")
    container = f"datasetsscrapinghub-{uuid.uuid4().hex[:8]}"
    azure_fault(proxy, fault, "_0000.jl.gz")
    writer = blob_writer(container, f"{proxy.url}/{ACCOUNT}", check_consistency=True)
    result = run_ozzy({"reader": people(work), "writer": writer})
    [name] = blobs(azurite_server, container)
    if fault is None:
        assert result.code == 0, result.err
        assert result.stats["items_written"] == 2
        return
    assert proxy.pending_faults() == 0, "the blob's properties were never read back"
    assert result.code == 1, result.err
    assert "check_consistency failed for 1 file(s)" in result.err
    if fault == "size":
        assert re.search(rf"{container}/{name} has 999 bytes, expected \d+", result.err), result.err
    else:
        assert f"{container}/{name} is not present at the destination" in result.err, result.err


# -- AzureFileWriter (tests/test_writers_azure.py::AzureFileWriterTest) -----------------------------------


@pytest.fixture
def files(azure_files_server: AzureFilesServer) -> AzureFilesServer:
    azure_files_server.reset()
    return azure_files_server


def file_writer(share: str, endpoint: str, **options: Any) -> dict[str, Any]:
    """exporters' AzureFileWriterTest.get_writer_config (``filebase`` ``/test/``), the account
    pointed at ``endpoint``."""
    return {
        "name": "exporters.writers.azure_file_writer.AzureFileWriter",
        "options": {
            "share": share,
            "account_name": ACCOUNT,
            "account_key": KEY,
            "account_url": endpoint,
            "filebase": "/test/",
            **options,
        },
    }


@pytest.mark.parametrize(
    ("case", "fault"),
    [
        ("test_write_file_consistency_present", None),
        ("test_write_file_consistency_size", "size"),
        ("test_write_file_consistency_present", "missing"),
    ],
    ids=["passes", "size", "present"],
)
def test_write_file_consistency(
    run_ozzy: RunOzzy,
    work: Path,
    files: AzureFilesServer,
    fault_proxy: Callable[[str], FaultProxy],
    case: str,
    fault: str | None,
) -> None:
    """exporters: test_writers_azure.py::AzureFileWriterTest::test_write_file_consistency_size and
    ::test_write_file_consistency_present: the two items go to ``test/0000.jl.gz`` in the share
    (created with its directory); with ``check_consistency`` a file the server reports with 999
    bytes, or not at all, fails the export naming it (exporters: InconsistentWriteState, "Missing
    file"). exporters' ``filebase`` ``/test/`` names the folder ``test`` at the share's root (this
    case found that Ozzy left ``test/.0000.jl.gz.ozzy-partial`` and failed on that leading ``/``)."""
    proxy = fault_proxy(f"http://127.0.0.1:{files.port}")
    azure_fault(proxy, fault, "/test/0000.jl.gz")
    writer = file_writer("datasetsscrapinghub", f"{proxy.url}/{ACCOUNT}", check_consistency=True)
    result = run_ozzy({"reader": people(work), "writer": writer})
    stored = files.files("datasetsscrapinghub")
    assert list(stored) == ["test/0000.jl.gz"], result.err  # no partial file left
    assert lines_of(stored["test/0000.jl.gz"]) == PEOPLE
    if fault is None:
        assert result.code == 0, result.err
        assert result.stats["items_written"] == 2
        return
    assert proxy.pending_faults() == 0, "the file's properties were never read back"
    assert result.code == 1, result.err
    assert "check_consistency failed for 1 file(s)" in result.err
    if fault == "size":
        assert re.search(r"datasetsscrapinghub/test/0000\.jl\.gz has 999 bytes, expected \d+", result.err)
    else:
        assert "datasetsscrapinghub/test/0000.jl.gz is not present at the destination" in result.err


# -- S3 to Azure bypasses (tests/test_bypass_azure_s3.py) ---------------------------------------------------


def s3_source(moto_server: MotoServer, names: list[str]) -> tuple[str, dict[str, bytes]]:
    """exporters' ``create_s3_keys``: each key holds gzip JSON ``{"name": <key>}``."""
    bucket = moto_server.create_bucket("source-bucket")
    client = moto_server.client("s3")
    objects = {f"some_prefix/{name}": jl_gz([{"name": f"some_prefix/{name}"}]) for name in names}
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    return bucket, objects


def s3_reader(moto_server: MotoServer, bucket: str) -> dict[str, Any]:
    """exporters' S3Reader options (explicit keys), pointed at moto."""
    return {
        "name": "exporters.readers.s3_reader.S3Reader",
        "options": {
            "bucket": bucket,
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
            "host": moto_server.endpoint_url,
            "prefix": "some_prefix/",
        },
    }


@pytest.mark.parametrize("suffix", ["", ".jl.gz"], ids=["exporters_keys", "jl_gz_keys"])
def test_s3_azure_file_bypass(
    run_ozzy: RunOzzy, files: AzureFilesServer, moto_server: MotoServer, suffix: str
) -> None:
    """exporters: test_bypass_azure_s3.py::S3AzureFileBypassTest::test_bypass: every key copied by
    Azure Files into the ``filebase`` folder under its basename, no item read or written.

    With exporters' key names (``some``, ``keys``, ``here``: gzip JSON named without ``.jl.gz``)
    Ozzy's bypass declines (docs/design.md, "Object storage: S3, and bypasses": a key whose name
    does not end as the output would) and the item pipeline writes their 3 items to
    ``bypass_test/0000.jl.gz``; with ``.jl.gz`` names the bypass copies them on the server and
    waits for each copy (exporters did not)."""
    names = [f"{name}{suffix}" for name in ("some", "keys", "here")]
    bucket, objects = s3_source(moto_server, names)
    writer = file_writer("some-share", files.endpoint, filebase="bypass_test/")
    result = run_ozzy({"reader": s3_reader(moto_server, bucket), "writer": writer})
    assert result.code == 0, result.err
    stored = files.files("some-share")
    operations = [operation for _, operation in files.requests]
    if not suffix:
        assert "bypass" not in result.stats
        assert list(stored) == ["bypass_test/0000.jl.gz"]
        assert lines_of(stored["bypass_test/0000.jl.gz"]) == [
            {"name": f"some_prefix/{name}"} for name in sorted(names)
        ]
        assert "file:copy" not in operations
        return
    assert result.stats["bypass"] == "S3ToAzureFileBypass"
    assert result.stats.get("items_written", 0) == 0  # exporters: no item read or written
    assert (result.stats["files_written"], result.stats["items_count_accurate"]) == (3, False)
    assert stored == {f"bypass_test/{key.split('/')[-1]}": data for key, data in objects.items()}
    assert operations.count("file:copy") == 3 and "file:range" not in operations  # no byte through Ozzy


@pytest.mark.parametrize("suffix", ["", ".jl.gz"], ids=["exporters_keys", "jl_gz_keys"])
def test_s3_azure_blob_bypass(
    run_ozzy: RunOzzy,
    azurite_server: AzuriteServer,
    azurite_url_copy: UrlCopyProxy,
    moto_server: MotoServer,
    suffix: str,
) -> None:
    """exporters: test_bypass_azure_s3.py::S3AzureBlobBypassTest::test_bypass: every key copied by
    Azure into the container, no item read or written. exporters' container ``some_share`` is not
    a valid Azure name (test_invalid_container_name): ``some-share-<n>`` here.

    With exporters' key names (``this``, ``test``, ``has``, ``keys``, no ``.jl.gz``) Ozzy's bypass
    declines (docs/design.md, "Object storage: S3, and bypasses") and the pipeline writes their 4
    items to one blob; with ``.jl.gz`` names Azure copies each key from a presigned S3 URL. Departure
    (docs/design.md, "Object storage: Google Cloud Storage, Azure Blob, Azure Files"): key N becomes
    the writer's file N (``<start time>_000N.jl.gz``, the default ``filebase``), not the key's
    basename."""
    names = [f"{name}{suffix}" for name in ("this", "test", "has", "keys")]
    bucket, objects = s3_source(moto_server, names)
    container = f"some-share-{uuid.uuid4().hex[:8]}"
    started, uploads = azurite_url_copy.started_copies, azurite_url_copy.uploads
    writer = blob_writer(container, azurite_url_copy.endpoint)
    result = run_ozzy({"reader": s3_reader(moto_server, bucket), "writer": writer})
    assert result.code == 0, result.err
    written = blobs(azurite_server, container)
    if not suffix:
        assert "bypass" not in result.stats
        [name] = written
        assert lines_of(written[name]) == [{"name": f"some_prefix/{key}"} for key in sorted(names)]
        assert azurite_url_copy.started_copies == started
        return
    assert result.stats["bypass"] == "S3ToAzureBlobBypass"
    assert result.stats.get("items_written", 0) == 0  # exporters: no item read or written
    assert (result.stats["files_written"], result.stats["items_count_accurate"]) == (4, False)
    assert azurite_url_copy.started_copies - started == 4 and azurite_url_copy.uploads == uploads
    names_written = sorted(written)
    assert all(START_NAME.match(name) for name in names_written), names_written
    assert [name[-10:] for name in names_written] == [f"{n:04d}.jl.gz" for n in range(4)]
    assert [written[name] for name in names_written] == [objects[key] for key in sorted(objects)]


# -- GStorageWriter (tests/test_writers_gstorage.py) -------------------------------------------------------


@pytest.fixture
def gcs(gcs_server: GCSServer, monkeypatch: pytest.MonkeyPatch) -> GCSServer:
    """The emulator, found through ``STORAGE_EMULATOR_HOST`` (no Airflow connection)."""
    return use_gcs(gcs_server, monkeypatch)


@pytest.fixture
def bucket(gcs: GCSServer) -> str:
    return new_gcs_bucket(gcs, prefix="bucket-777")


def gcs_objects(gcs: GCSServer, bucket: str) -> dict[str, bytes]:
    client = gcs.client()
    return {blob.name: blob.download_as_bytes() for blob in client.list_blobs(bucket)}


def gcs_writer(bucket: str, credentials: Any = None, **options: Any) -> dict[str, Any]:
    """exporters' GStorageWriterTest.get_options (a service account object in ``credentials``)."""
    section: dict[str, Any] = {"project": "some-project-666", "bucket": bucket, "filebase": "tests/"}
    if credentials is not None:
        section["credentials"] = credentials
    return {"name": "exporters.writers.gstorage_writer.GStorageWriter", "options": {**section, **options}}


def test_gstorage_write(run_ozzy: RunOzzy, work: Path, gcs: GCSServer, bucket: str) -> None:
    """exporters: test_writers_gstorage.py::GStorageWriterTest::test_write: the items uploaded as
    one object under ``filebase`` ``tests/``, with the service account's token from its token URI."""
    grants = gcs.token_grants
    result = run_ozzy({"reader": people(work), "writer": gcs_writer(bucket, gcs.service_account())})
    assert result.code == 0, result.err
    stored = gcs_objects(gcs, bucket)
    assert list(stored) == ["tests/0000.jl.gz"]
    assert lines_of(stored["tests/0000.jl.gz"]) == PEOPLE
    assert gcs.token_grants > grants, "the service account's token was never requested"


@pytest.mark.parametrize("fault", [None, "size"], ids=["passes", "size"])
def test_gstorage_write_blob_consistency(
    run_ozzy: RunOzzy,
    work: Path,
    gcs: GCSServer,
    bucket: str,
    fault_proxy: Callable[[str], FaultProxy],
    monkeypatch: pytest.MonkeyPatch,
    fault: str | None,
) -> None:
    """exporters: test_writers_gstorage.py::GStorageWriterTest::test_write_blob_consistency: with
    ``check_consistency``, an object GCS reports with 999 bytes and another MD5 fails the export
    naming it; the untouched object passes."""
    proxy = fault_proxy(gcs.url)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    if fault == "size":
        metadata = {
            "kind": "storage#object",
            "name": "tests/0000.jl.gz",
            "bucket": bucket,
            "size": "999",
            "md5Hash": "a" * 24,
        }
        proxy.fail(
            1,
            status=200,
            match=lambda r: (
                r.method == "GET" and r.path.endswith("/o/tests%2F0000.jl.gz") and "alt=media" not in r.query
            ),
            body=json.dumps(metadata).encode(),
            content_type="application/json",
        )
    writer = gcs_writer(bucket, gcs.service_account(), check_consistency=True)
    result = run_ozzy({"reader": people(work), "writer": writer})
    assert list(gcs_objects(gcs, bucket)) == ["tests/0000.jl.gz"]
    if fault is None:
        assert result.code == 0, result.err
        return
    assert proxy.pending_faults() == 0, "the object's metadata was never read back"
    assert result.code == 1, result.err
    assert "check_consistency failed for 1 file(s)" in result.err
    assert re.search(rf"gs://{bucket}/tests/0000\.jl\.gz has 999 bytes, expected \d+", result.err), result.err


def test_gstorage_write_stream(run_ozzy: RunOzzy, work: Path, gcs: GCSServer, bucket: str) -> None:
    """exporters: test_writers_gstorage.py::GStorageWriterTest::test_write_stream: a stream's bytes
    uploaded unchanged as ``tests/<its name>``. exporters' test called ``write_stream`` directly
    (StreamBypass was never chosen); in Ozzy StreamBypass runs it for a stream reader (here
    FSReader) into GStorageWriter. exporters' stream ``hellofile`` held ``hello``; Ozzy copies only
    objects named as the output would be (docs/design.md, "Object storage: S3, and bypasses"), so
    the stream is ``hellofile.jl.gz``, holding gzip JSON lines."""
    data = jl_gz([{"hello": "world"}])
    source = work / "in" / "hellofile.jl.gz"
    source.parent.mkdir()
    source.write_bytes(data)
    reader = {"name": "exporters.readers.fs_reader.FSReader", "options": {"input": str(source)}}
    result = run_ozzy({"reader": reader, "writer": gcs_writer(bucket, gcs.service_account())})
    assert result.code == 0, result.err
    assert result.stats["bypass"] == "StreamBypass"
    assert gcs_objects(gcs, bucket) == {"tests/hellofile.jl.gz": data}


def test_gstorage_init_from_resource(
    run_ozzy: RunOzzy, work: Path, gcs: GCSServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exporters: test_writers_gstorage.py::GStorageWriterTest::test_init_from_resource: no
    ``credentials`` option; ``EXPORTERS_GSTORAGE_CREDS_RESOURCE`` names a ``package:path``
    resource holding the service account."""
    gcs_credentials_resource(work, "compat_gstorage_creds", gcs.service_account(), monkeypatch)
    result = run_ozzy({"reader": people(work), "writer": gcs_writer(bucket)})
    assert result.code == 0, result.err
    assert lines_of(gcs_objects(gcs, bucket)["tests/0000.jl.gz"]) == PEOPLE


def test_gstorage_init_fails_with_bad_resource(
    run_ozzy: RunOzzy, work: Path, gcs: GCSServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exporters: test_writers_gstorage.py::GStorageWriterTest::test_init_fails_with_bad_resource:
    ``EXPORTERS_GSTORAGE_CREDS_RESOURCE=a:b`` names a package that does not exist (exporters:
    ImportError "No module named a"); Ozzy fails naming the resource, and writes nothing."""
    monkeypatch.setenv("EXPORTERS_GSTORAGE_CREDS_RESOURCE", "a:b")
    result = run_ozzy({"reader": people(work), "writer": gcs_writer(bucket)})
    assert result.code == 1, result.err
    assert "GStorageWriter: option 'credentials' names resource 'a:b' ('package:path')" in result.err
    assert "ImportError" in result.err or "ModuleNotFoundError" in result.err
    assert gcs_objects(gcs, bucket) == {}


# -- GDriveWriter (tests/test_writers_gdrive.py) -------------------------------------------------------------


@pytest.fixture
def drive(gdrive_server: DriveServer) -> DriveServer:
    gdrive_server.reset()
    return gdrive_server


def gdrive_writer(drive: DriveServer, **options: Any) -> dict[str, Any]:
    """exporters' GDriveWriterTest.get_options: ``filebase`` ``test``, ``credentials`` and
    ``client_secret`` objects (a real OAuth client of the server), pointed at the server."""
    credentials, client_secret = drive.new_oauth_client()
    return {
        "name": "exporters.writers.gdrive_writer.GDriveWriter",
        "options": {
            "filebase": "test",
            "client_secret": client_secret,
            "credentials": credentials,
            "api_endpoint": drive.url,
            **options,
        },
    }


def test_gdrive_write(run_ozzy: RunOzzy, work: Path, drive: DriveServer) -> None:
    """exporters: test_writers_gdrive.py::GStorageWriterTest::test_write: the items uploaded as one
    Drive file named from ``filebase`` ``test``, in My Drive."""
    result = run_ozzy({"reader": people(work), "writer": gdrive_writer(drive)})
    assert result.code == 0, result.err
    tree = drive.tree()
    assert list(tree) == ["test0000.jl.gz"]
    assert lines_of(tree["test0000.jl.gz"]) == PEOPLE
    assert drive.stats.files_created == 1 and drive.stats.tokens_issued == 1


@pytest.mark.parametrize("corrupt", [False, True], ids=["passes", "corrupted"])
def test_gdrive_write_blob_consistency(
    run_ozzy: RunOzzy, work: Path, drive: DriveServer, corrupt: bool
) -> None:
    """exporters: test_writers_gdrive.py::GStorageWriterTest::test_write_blob_consistency: with
    ``check_consistency``, a file whose content Drive changed (same size, another md5; exporters
    mocked size 999 and another md5) fails the export naming it; an intact upload passes."""
    drive.corrupt_uploads = corrupt
    result = run_ozzy({"reader": people(work), "writer": gdrive_writer(drive, check_consistency=True)})
    assert list(drive.tree()) == ["test0000.jl.gz"]
    if not corrupt:
        assert result.code == 0, result.err
        return
    assert result.code == 1, result.err
    assert "check_consistency failed for 1 file(s)" in result.err
    assert re.search(r"test0000\.jl\.gz has md5 [0-9a-f]{32} in Drive, expected [0-9a-f]{32}", result.err)
