"""The shard check on object stores (S3, GCS, Azure Blob), against their servers over the wire.

Shards export local files into a bucket; the check must list each shard's objects through the
writer section the plan carries, fail naming the shard when an object is missing or extra, and put
a manifest beside the objects that lists exactly them with size and md5. What the objects hold is
read back here with the services' own clients, never with Ozzy's code.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.operators.ozzy_export import _shard_report
from airflow_provider_ozzy.sharding.check import (
    MANIFEST_NAME,
    Destinations,
    ShardCheckError,
    check_shards,
    write_manifest,
)
from airflow_provider_ozzy.sharding.planning import apply_shard, plan_shards
from tests.integration.object_store_cases import Store, open_store
from tests.servers.moto_server import ACCESS_KEY, SECRET_KEY, MotoServer

SHARDS = 3


@pytest.fixture(params=["s3", "gcs", "azure"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Store:
    return open_store(request.param, request, monkeypatch)


def _inputs(folder: Path, files: int, per_file: int, padding: int = 0) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(files):
        lines = "".join(
            json.dumps({"id": part * per_file + n, "pad": "x" * padding}) + "\n" for n in range(per_file)
        )
        (folder / f"part-{part:02d}.jl.gz").write_bytes(gzip.compress(lines.encode()))
    return files * per_file


def _config(work: Path, writer: dict[str, Any]) -> dict[str, Any]:
    return {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(work / "in")}, "batch_size": 50}},
        "writer": writer,
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(work / "state")}},
        "exporter_options": {"persistence_state_id": "job"},
    }


def _run_shards(
    config: dict[str, Any], count: int = SHARDS
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The plan, as the planner task's XCom holds it (JSON), and each shard's stats as its task reports them."""
    plan = json.loads(json.dumps(plan_shards(config, count)))
    results = []
    for shard in plan:
        exporter = BasicExporter(apply_shard(config, shard), auto_resume=True)
        stats = exporter.export()
        stats["shard"] = _shard_report(shard, exporter.writer)
        results.append(json.loads(json.dumps(stats, default=str)))
    return plan, results


def _stored(store: Store, prefix: str) -> list[dict[str, Any]]:
    """Every object under ``prefix`` but the manifest, with its size and md5, read with the service's client."""
    found = []
    for name in store.names(prefix):
        if name.endswith(MANIFEST_NAME):
            continue
        data = store.content(name)
        found.append({"name": name, "size": len(data), "md5": hashlib.md5(data).hexdigest()})
    return found


def test_the_check_lists_each_shards_objects_and_names_a_missing_or_extra_one(
    work: Path, store: Store
) -> None:
    items = _inputs(work / "in", files=6, per_file=120)
    plan, results = _run_shards(_config(work, store.writer("out/items_", items_per_buffer_write=50)))

    manifest = check_shards(plan, results)
    assert all(shard["listed"] for shard in manifest["per_shard"])
    assert manifest["items_written"] == items
    listed = [{key: entry[key] for key in ("name", "size", "md5")} for entry in manifest["files"]]
    assert sorted(listed, key=lambda entry: entry["name"]) == _stored(store, "out/")
    assert {entry["shard"] for entry in manifest["files"]} == set(range(SHARDS))

    shard1 = sorted(entry["name"] for entry in manifest["files"] if entry["shard"] == 1)
    store.delete(shard1[-1])
    with pytest.raises(ShardCheckError, match=r"shard 1: \d+ file\(s\) at the destination, it wrote"):
        check_shards(plan, results)
    store.put({shard1[-1]: b"restored", "out/items_shard002_9999.jl.gz": b"not written by shard 2"})
    with pytest.raises(ShardCheckError, match=r"shard 2: \d+ file\(s\) at the destination") as failed:
        check_shards(plan, results)
    assert "shard 1" not in str(failed.value)


def test_the_manifest_is_put_beside_the_objects_and_lists_exactly_them(work: Path, store: Store) -> None:
    _inputs(work / "in", files=5, per_file=80)
    plan, results = _run_shards(_config(work, store.writer("out/%Y/items_", items_per_buffer_write=30)))
    destinations = Destinations(plan)
    manifest = check_shards(plan, results, destinations)
    location = write_manifest(manifest, MANIFEST_NAME, destinations)
    destinations.close()

    folder = manifest["per_shard"][0]["filebase"].rsplit("/", 1)[0]
    assert location == store.where(f"{folder}/{MANIFEST_NAME}")
    stored = json.loads(store.content(f"{folder}/{MANIFEST_NAME}"))
    assert stored == json.loads(json.dumps(manifest))
    files = [{key: entry[key] for key in ("name", "size", "md5")} for entry in stored["files"]]
    assert sorted(files, key=lambda entry: entry["name"]) == _stored(store, "out/")
    assert stored["files_written"] == len(files)

    # a check run again lists the same objects: the manifest beside them is not one of them
    again = Destinations(plan)
    assert check_shards(plan, results, again)["files"] == manifest["files"]
    with pytest.raises(ShardCheckError, match="manifest name 'items_shard001_7.json'"):
        write_manifest(manifest, "items_shard001_7.json", again)
    again.close()


@pytest.mark.parametrize("save_metadata", [True, False])
def test_s3_multipart_objects_are_listed_with_the_md5_of_their_content(
    work: Path, moto_server: MotoServer, save_metadata: bool
) -> None:
    """A multipart ETag is no MD5: the md5 is the one the writer stored, else read from the object."""
    _inputs(work / "in", files=2, per_file=3000, padding=2000)  # about 6 MB per file, uncompressed
    bucket = moto_server.create_bucket("multipart")
    writer = {
        "name": "S3Writer",
        "options": {
            "bucket": bucket,
            "filebase": "big/items_",
            "endpoint_url": moto_server.endpoint_url,
            "aws_conn_id": None,
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
            "compression": "none",
            "items_per_buffer_write": 10_000,
            "multipart_threshold": 5 * 1024 * 1024,
            "multipart_chunksize": 5 * 1024 * 1024,
            "save_metadata": save_metadata,
        },
    }
    plan, results = _run_shards(_config(work, writer), count=2)
    client = moto_server.client("s3")
    keys = [entry["Key"] for entry in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 2 and all("-" in client.head_object(Bucket=bucket, Key=key)["ETag"] for key in keys)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("EXPORTERS_S3WRITER_AWS_LOGIN", ACCESS_KEY)
        env.setenv("EXPORTERS_S3WRITER_AWS_SECRET", SECRET_KEY)
        manifest = check_shards(plan, results)
    expected = {
        key: hashlib.md5(client.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest() for key in keys
    }
    assert {entry["name"]: entry["md5"] for entry in manifest["files"]} == expected


def test_the_plan_carries_no_secret_and_the_check_names_the_credentials_it_lacks(
    work: Path, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _inputs(work / "in", files=2, per_file=10)
    bucket = moto_server.create_bucket("withheld")
    secret = "a-secret-the-xcom-must-not-hold"
    writer = {
        "name": "S3Writer",
        "options": {
            "bucket": bucket,
            "filebase": "out/items_",
            "endpoint_url": moto_server.endpoint_url,
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": secret,
        },
    }
    plan = plan_shards(_config(work, writer), 2)
    assert secret not in json.dumps(plan)
    assert plan[0]["writer_withheld"] == ["aws_access_key_id", "aws_secret_access_key"]
    results = [
        {
            "finished": True,
            "shard": {"index": shard["index"], "units": 1, "writer": "S3Writer", "filebase": "out/items_"},
        }
        for shard in plan
    ]
    monkeypatch.delenv("EXPORTERS_S3WRITER_AWS_LOGIN", raising=False)
    monkeypatch.delenv("EXPORTERS_S3WRITER_AWS_SECRET", raising=False)
    with pytest.raises(
        ShardCheckError, match="aws_access_key_id, aws_secret_access_key hold secrets"
    ) as failed:
        check_shards(plan, results)
    assert secret not in str(failed.value)
