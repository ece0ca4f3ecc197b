"""A ``filebase`` ending in ``/`` (issue 18): exporters' ``<dir>/0000.<ext>[.<comp>]`` names, end to end.

exporters' own configs and tests use ``'filebase': 'some_prefix/'``, ``'/tmp/'`` and
``'some_path/%Y-%m-%d/'``. Each case here runs the real exporter into FSWriter (a local folder),
S3Writer (moto), SFTPWriter, FTPWriter and GStorageWriter (the fake GCS server), then lists and reads back what
is at the destination with an independent client. Names follow exporters' ``formatted_prefix`` with an
empty prefix: the file number (``0000``), then ``-value`` for every group ``filebase`` does not name.

The S3 bypass copies each object to ``<dir>/<source basename>`` as exporters' did, and records the
folder in ``save_pointer``; two input objects with one basename would be one object there, so the
bypass then declines and the item pipeline runs (``dir/0000.jl.gz``).
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    Destination,
    FSDestination,
    S3Destination,
    decompress,
    output_files,
    s3_objects,
)
from tests.integration.test_file_name_collisions import PLACES, config, export
from tests.servers.azure_files_server import AzureFilesServer
from tests.servers.ftp_server import FTPTestServer
from tests.servers.gcs_server import GCSServer
from tests.servers.moto_server import MotoServer
from tests.servers.sftp_server import SFTPTestServer

S3_CONN = "ozzy_dir_s3"
REMOTE_CONN = "ozzy_dir_remote"
GCS_CONN = "ozzy_dir_gcs"


class RemoteDestination(Destination):
    """SFTPWriter or FTPWriter; read back over the wire (paramiko, ftplib) by the server fixture."""

    def __init__(self, kind: str, server: SFTPTestServer | FTPTestServer, local: Path) -> None:
        self.kind, self.server, self.local = kind, server, local
        self.folder = f"exports/dir-{uuid.uuid4().hex[:8]}"

    def writer(self, filebase: str, **options: Any) -> dict[str, Any]:
        return {
            "name": "SFTPWriter" if self.kind == "sftp" else "FTPWriter",
            "options": {
                "filebase": f"{self.folder}/{filebase}",
                f"{self.kind}_conn_id": REMOTE_CONN,
                **options,
            },
        }

    def files(self) -> dict[str, bytes]:
        names = self.server.download(self.folder, self.local)
        return {
            name: (self.local / name).read_bytes()
            for name in names
            if not name.split("/")[-1].startswith(".")
        }


class GCSDestination(Destination):
    def __init__(self, server: GCSServer) -> None:
        self.client = server.client()
        self.bucket = f"ozzy-dir-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(self.bucket)

    def writer(self, filebase: str, **options: Any) -> dict[str, Any]:
        return {
            "name": "GStorageWriter",
            "options": {"bucket": self.bucket, "filebase": filebase, "gcp_conn_id": GCS_CONN, **options},
        }

    def files(self) -> dict[str, bytes]:
        return {blob.name: blob.download_as_bytes() for blob in self.client.list_blobs(self.bucket)}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=["fs", "s3", "sftp", "ftp", "gcs"])
def destination(
    request: pytest.FixtureRequest, work: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Destination]:
    if request.param == "fs":
        yield FSDestination(work / "dest")
    elif request.param == "s3":
        moto: MotoServer = request.getfixturevalue("moto_server")
        monkeypatch.setenv(f"AIRFLOW_CONN_{S3_CONN.upper()}", moto.connection_json())
        yield S3Destination(moto, "dir-names", S3_CONN)
    elif request.param in ("sftp", "ftp"):
        server = request.getfixturevalue(f"{request.param}_server")
        monkeypatch.setenv(f"AIRFLOW_CONN_{REMOTE_CONN.upper()}", server.connection_json())
        yield RemoteDestination(request.param, server, work / "download")
    else:
        gcs: GCSServer = request.getfixturevalue("gcs_server")
        for name, value in gcs.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv(f"AIRFLOW_CONN_{GCS_CONN.upper()}", gcs.connection_json())
        yield GCSDestination(gcs)


def read_back(destination: Destination, tmp: Path) -> dict[str, list[int]]:
    """Every data file by name with the ids it holds, in order (decompressed by its suffix)."""
    found = {}
    for name, body in destination.files().items():
        if name.endswith("md5checksum.md5"):
            continue
        local = tmp / "read-back" / hashlib.sha1(name.encode()).hexdigest() / name.rsplit("/", 1)[-1]
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(body)
        found[name] = [json.loads(line)["id"] for line in decompress(local).decode().splitlines() if line]
    return found


def relative(names: dict[str, Any], folder: str) -> dict[str, Any]:
    """The files under ``folder`` (one path segment), by their name inside it; nothing else may exist."""
    assert all(f"{folder}/" in name for name in names), sorted(names)
    return {name.split(f"{folder}/", 1)[1]: value for name, value in names.items()}


def check_all_once(found: dict[str, list[int]], items: list[dict[str, Any]], stats: dict[str, Any]) -> None:
    ids = sorted(number for content in found.values() for number in content)
    assert ids == sorted(item["id"] for item in items), found
    assert stats["files_written"] == len(found) and stats["items_written"] == len(items)


# -- the pipeline ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compression", "tail"), [("gz", ".jl.gz"), ("none", ".jl"), ("bz2", ".jl.bz2"), ("zstd", ".jl.zstd")]
)
def test_ungrouped_dir_gives_numbered_files(
    destination: Destination, work: Path, compression: str, tail: str
):
    """``out/`` gives ``out/0000.jl.gz``, ``out/0001.jl.gz``, ... (exporters' names)."""
    writer = destination.writer("out/", items_per_buffer_write=3, compression=compression)
    stats = export(config(PLACES, writer))
    found = relative(read_back(destination, work), "out")
    assert found == {f"0000{tail}": [1, 2, 3], f"0001{tail}": [4, 5, 6], f"0002{tail}": [7]}
    check_all_once(found, PLACES, stats)


def test_grouped_dir_gives_one_name_per_group_and_file(destination: Destination, work: Path):
    """``out/`` grouped by country: ``out/0000-ES.jl.gz`` (exporters appended the group after ``-``)."""
    writer = destination.writer("out/", items_per_buffer_write=2)
    stats = export(config(PLACES, writer, ["country"]))
    found = relative(read_back(destination, work), "out")
    assert found == {
        "0000-ES.jl.gz": [1, 2],
        "0001-ES.jl.gz": [4, 7],
        "0000-FR.jl.gz": [3, 5],
        "0001-FR.jl.gz": [6],
    }
    check_all_once(found, PLACES, stats)


def test_two_group_keys_and_a_group_folder(destination: Destination, work: Path):
    """``out/{groups[0]}/`` with two keys: the folder names the country, the name the city."""
    stats = export(config(PLACES, destination.writer("out/{groups[0]}/"), ["country", "city"]))
    found = relative(read_back(destination, work), "out")
    assert found == {
        "ES/0000-Madrid.jl.gz": [1, 4, 7],
        "ES/0000-Valencia.jl.gz": [2],
        "FR/0000-Lyon.jl.gz": [6],
        "FR/0000-Paris.jl.gz": [3, 5],
    }
    check_all_once(found, PLACES, stats)


def test_two_unnamed_groups_are_appended_one_dash_each(destination: Destination, work: Path):
    """exporters joined them (``0000-ESMadrid``: ``ES``+``Madrid`` and ``ESM``+``adrid`` were one file)."""
    stats = export(config(PLACES, destination.writer("out/"), ["country", "city"]))
    found = relative(read_back(destination, work), "out")
    assert found == {
        "0000-ES-Madrid.jl.gz": [1, 4, 7],
        "0000-ES-Valencia.jl.gz": [2],
        "0000-FR-Lyon.jl.gz": [6],
        "0000-FR-Paris.jl.gz": [3, 5],
    }
    check_all_once(found, PLACES, stats)


def test_group_folder_alone_gives_numbered_files_in_it(destination: Destination, work: Path):
    stats = export(
        config(PLACES, destination.writer("out/{groups[0]}/", items_per_buffer_write=3), ["country"])
    )
    found = relative(read_back(destination, work), "out")
    assert found == {"ES/0000.jl.gz": [1, 2, 4], "ES/0001.jl.gz": [7], "FR/0000.jl.gz": [3, 5, 6]}
    check_all_once(found, PLACES, stats)


def test_dated_dir_with_compression_and_groups(destination: Destination, work: Path):
    """``out/%Y-%m-%d/`` (exporters' ``some_path/%Y-%m-%d/``), grouped, bz2."""
    before = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    writer = destination.writer("out/%Y-%m-%d/", compression="bz2", start_file_count=5)
    stats = export(config(PLACES, writer, ["country"]))
    after = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    found = relative(read_back(destination, work), "out")
    dates = {name.split("/")[0] for name in found}
    assert dates in ({before}, {after})
    (day,) = dates
    assert found == {f"{day}/0005-ES.jl.bz2": [1, 2, 4, 7], f"{day}/0005-FR.jl.bz2": [3, 5, 6]}
    check_all_once(found, PLACES, stats)


def test_values_that_read_alike_in_a_dir_name_do_not_share_a_file(destination: Destination, work: Path):
    """("x-y", "z") and ("x", "y-z") both read ``0000-x-y-z``; a value like a file number stays apart."""
    items = [
        {"id": 1, "a": "x-y", "b": "z"},
        {"id": 2, "a": "x", "b": "y-z"},
        {"id": 3, "a": "0001", "b": "q"},
        {"id": 4, "a": "md5checksum.md5", "b": "q"},
    ]
    stats = export(config(items, destination.writer("out/", generate_md5=True), ["a", "b"]))
    files = destination.files()
    found = relative(read_back(destination, work), "out")
    assert len(found) == 4 and all(len(ids) == 1 for ids in found.values()), found
    check_all_once(found, items, stats)
    (md5_name,) = [name for name in files if name.endswith("md5checksum.md5")]
    assert md5_name.endswith("out/md5checksum.md5")
    listed = {
        line.split()[1].rsplit("/", 1)[-1]: line.split()[0] for line in files[md5_name].decode().splitlines()
    }
    data = {name.rsplit("/", 1)[-1]: body for name, body in files.items() if name != md5_name}
    assert listed == {name: hashlib.md5(body).hexdigest() for name, body in data.items()}


def test_names_are_the_same_in_a_second_job(work: Path):
    """Deterministic: the same config into another folder gives the same relative names."""
    names = []
    for run in ("first", "second"):
        destination = FSDestination(work / run)
        data = config(PLACES, destination.writer("out/", items_per_buffer_write=2), ["country"])
        data["persistence"]["options"]["file_path"] = f".state-{run}"
        export(data)
        names.append(output_files(work / run))
    assert names[0] == names[1] and len(names[0]) == 4


# -- the S3 bypass -----------------------------------------------------------------------------------------


@pytest.fixture
def s3(work: Path, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(f"AIRFLOW_CONN_{S3_CONN.upper()}", moto_server.connection_json())
    return moto_server.client("s3")


def jl_gz(items: list[dict[str, Any]]) -> bytes:
    return gzip.compress(b"".join(json.dumps(item).encode() + b"\n" for item in items))


def bypass_config(source: str, destination: str, filebase: str, **writer: Any) -> dict[str, Any]:
    return {
        "reader": {
            "name": "S3Reader",
            "options": {"bucket": source, "prefix": "src/", "aws_conn_id": S3_CONN},
        },
        "writer": {
            "name": "S3Writer",
            "options": {"bucket": destination, "filebase": filebase, "aws_conn_id": S3_CONN, **writer},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": ".state"}},
    }


def test_s3_bypass_copies_to_the_dir_under_the_source_basenames(s3: Any, moto_server: MotoServer):
    """exporters: ``some_prefix/test_key`` copied to ``some_prefix/test_key``; the pointer holds the folder."""
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    objects = {f"src/part-{n}.jl.gz": jl_gz([{"id": n}, {"id": n + 10}]) for n in range(3)}
    for key, data in objects.items():
        s3.put_object(Bucket=source, Key=key, Body=data)
    stats = export(bypass_config(source, destination, "some_prefix/", save_pointer="pointer/LAST"))
    assert stats["bypass"] == "S3Bypass"
    assert s3_objects(s3, destination, "some_prefix/") == {
        f"some_prefix/{key.removeprefix('src/')}": data for key, data in objects.items()
    }
    pointer = s3.get_object(Bucket=destination, Key="pointer/LAST")["Body"].read()
    assert pointer == b"some_prefix/"
    assert stats["files_written"] == 3


def test_s3_bypass_into_a_dated_dir(s3: Any, moto_server: MotoServer):
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    s3.put_object(Bucket=source, Key="src/a/items.jl.gz", Body=jl_gz([{"id": 1}]))
    day = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    stats = export(bypass_config(source, destination, "some_path/%Y-%m-%d/", save_pointer="LAST"))
    assert stats["bypass"] == "S3Bypass"
    assert list(s3_objects(s3, destination, "some_path/")) == [f"some_path/{day}/items.jl.gz"]
    assert s3.get_object(Bucket=destination, Key="LAST")["Body"].read() == f"some_path/{day}/".encode()


def test_s3_bypass_with_one_basename_under_two_prefixes_runs_the_pipeline(s3: Any, moto_server: MotoServer):
    """``src/x/part.jl.gz`` and ``src/y/part.jl.gz`` would both be ``out/part.jl.gz``: no bypass then."""
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    s3.put_object(Bucket=source, Key="src/x/part.jl.gz", Body=jl_gz([{"id": 1}, {"id": 2}]))
    s3.put_object(Bucket=source, Key="src/y/part.jl.gz", Body=jl_gz([{"id": 3}]))
    stats = export(bypass_config(source, destination, "out/"))
    assert "bypass" not in stats
    found = s3_objects(s3, destination)
    assert list(found) == ["out/0000.jl.gz"]
    ids = [json.loads(line)["id"] for line in gzip.decompress(found["out/0000.jl.gz"]).splitlines()]
    assert ids == [1, 2, 3]


def test_s3_bypass_with_a_file_name_prefix_keeps_the_pipeline_names(s3: Any, moto_server: MotoServer):
    """Control: ``dst/items_`` still names copies as the pipeline names files."""
    source, destination = moto_server.create_bucket(), moto_server.create_bucket()
    s3.put_object(Bucket=source, Key="src/a.jl.gz", Body=jl_gz([{"id": 1}]))
    s3.put_object(Bucket=source, Key="src/b.jl.gz", Body=jl_gz([{"id": 2}]))
    stats = export(bypass_config(source, destination, "dst/items_"))
    assert stats["bypass"] == "S3Bypass"
    assert list(s3_objects(s3, destination)) == ["dst/items_0000.jl.gz", "dst/items_0001.jl.gz"]


# -- S3 to Azure Files (a case-insensitive destination) ------------------------------------------------------

FILES_CONN = "ozzy_dir_files"


@pytest.fixture
def files(s3: Any, azure_files_server: AzureFilesServer, monkeypatch: pytest.MonkeyPatch) -> AzureFilesServer:
    azure_files_server.reset()
    monkeypatch.setenv(f"AIRFLOW_CONN_{FILES_CONN.upper()}", azure_files_server.connection_json())
    return azure_files_server


def files_config(source: str, share: str, filebase: str) -> dict[str, Any]:
    data = bypass_config(source, "unused", filebase)
    data["writer"] = {
        "name": "AzureFileWriter",
        "options": {"share": share, "filebase": filebase, "azure_fileshare_conn_id": FILES_CONN},
    }
    return data


def test_s3_to_azure_files_bypass_copies_under_the_basenames(
    s3: Any, moto_server: MotoServer, files: AzureFilesServer
):
    source = moto_server.create_bucket()
    objects = {f"src/part-{n}.jl.gz": jl_gz([{"id": n}]) for n in range(3)}
    for key, data in objects.items():
        s3.put_object(Bucket=source, Key=key, Body=data)
    stats = export(files_config(source, "dirshare", "out/"))
    assert stats["bypass"] == "S3ToAzureFileBypass"
    assert files.files("dirshare") == {
        f"out/{key.removeprefix('src/')}": data for key, data in objects.items()
    }


def test_s3_to_azure_files_with_basenames_differing_in_case_runs_the_pipeline(
    s3: Any, moto_server: MotoServer, files: AzureFilesServer
):
    """Azure Files folds case: ``A.jl.gz`` and ``a.jl.gz`` would be one file there."""
    source = moto_server.create_bucket()
    s3.put_object(Bucket=source, Key="src/A.jl.gz", Body=jl_gz([{"id": 1}]))
    s3.put_object(Bucket=source, Key="src/a.jl.gz", Body=jl_gz([{"id": 2}]))
    stats = export(files_config(source, "caseshare", "out/"))
    assert "bypass" not in stats
    stored = files.files("caseshare")
    assert list(stored) == ["out/0000.jl.gz"]
    assert [json.loads(line)["id"] for line in gzip.decompress(stored["out/0000.jl.gz"]).splitlines()] == [
        1,
        2,
    ]
