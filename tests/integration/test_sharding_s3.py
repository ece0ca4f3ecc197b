"""S3 keys split into shards through S3Reader's own listing, against a real moto server.

Keys that are prefixes of one another (``part-1`` / ``part-10``), a ``%`` in a key and dated
prefixes must all land in exactly one shard, and each shard's reader must list exactly its keys.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.readers.s3_reader import S3Reader
from airflow_provider_ozzy.sharding.planning import apply_shard, plan_shards
from tests.servers.moto_server import ACCESS_KEY, SECRET_KEY, MotoServer

KEYS = [f"data/2026-01-02/part-{n}.jl.gz" for n in range(12)] + [
    "data/2026-01-02/odd%20name.jl.gz",
    "data/2026-01-02/skip.txt",
]


@pytest.fixture()
def bucket(moto_server: MotoServer) -> str:
    name = moto_server.create_bucket("shards")
    client = moto_server.client("s3")
    for number, key in enumerate(KEYS):
        body = gzip.compress(
            b"".join(json.dumps({"key": key, "n": i}).encode() + b"\n" for i in range(number + 1))
        )
        client.put_object(Bucket=name, Key=key, Body=body)
    return name


def _config(moto_server: MotoServer, bucket: str, tmp_path: Any) -> dict[str, Any]:
    return {
        "reader": {
            "name": "S3Reader",
            "options": {
                "bucket": bucket,
                "aws_access_key_id": ACCESS_KEY,
                "aws_secret_access_key": SECRET_KEY,
                "endpoint_url": moto_server.endpoint_url,
                "prefix": "data/%Y-%m-%d/",
                "prefix_format_using_date": "2026-01-02",
                "pattern": r"\.jl\.gz$",
            },
        },
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "items_")}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
    }


def test_every_key_in_exactly_one_shard_and_each_shard_lists_only_its_keys(
    moto_server: MotoServer, bucket: str, tmp_path: Any
) -> None:
    config = _config(moto_server, bucket, tmp_path)
    plan = plan_shards(config, 5)
    wanted = sorted(key for key in KEYS if key.endswith(".jl.gz"))
    assert sorted(unit for shard in plan for unit in shard["units"]) == wanted
    assert plan == plan_shards(config, 5)
    for shard in plan:
        options = apply_shard(config, shard)["reader"]["options"]
        reader = S3Reader(options)
        try:
            assert [stream.name for stream in reader.get_read_streams()] == shard["units"]
        finally:
            reader.close()


def test_the_shards_export_every_item_once(moto_server: MotoServer, bucket: str, tmp_path: Any) -> None:
    config = _config(moto_server, bucket, tmp_path)
    items: list[dict[str, Any]] = []
    for shard in plan_shards(config, 3):
        BasicExporter(apply_shard(config, shard), job_id=f"s3-shard-{shard['index']}").export()
    for path in sorted((tmp_path / "out").iterdir()):
        items.extend(json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines())
    expected = [
        {"key": key, "n": i}
        for number, key in enumerate(KEYS)
        if key.endswith(".jl.gz")
        for i in range(number + 1)
    ]
    key_of = lambda item: (item["key"], item["n"])  # noqa: E731
    assert sorted(items, key=key_of) == sorted(expected, key=key_of)
