"""S3 -> S3 with a round trip per request: does the pipeline overlap its GETs and PUTs?

    .venv/bin/python benchmarks/bench_s3_latency.py [--objects 1000] [--items 20] [--delay 0.02] [--repeat 3]

A moto server behind the test suite's fault proxy, which holds every request ``--delay`` seconds
before forwarding it (a far region's latency). The input is ``--objects`` gzip JSON-lines
objects of ``--items`` items; every case reads all of them and writes one object per input object
(same items, gzip level 6) under a prefix of its own, and the object count is checked after it.

- **ozzy**: ``BasicExporter`` S3Reader -> S3Writer (``items_per_buffer_write`` = items per object;
  the reader opens 4 objects ahead, the writer delivers on its own thread while the next file is
  read), PicklePersistence committing every batch of one object;
- **serial loop**: boto3 ``get_object``, parse, format, gzip, ``put_object``, one after another;
- **concurrent loop**: the same with the concurrency Ozzy uses: 4 GETs ahead of the parser on a
  thread pool, and each PUT on a second thread while the next object is processed.

Shown: median seconds, and ozzy's ratio to each loop (loop seconds / ozzy seconds).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter  # noqa: E402
from tests.helpers import legacy_s3_env  # noqa: E402
from tests.servers.fault_proxy import FaultProxy  # noqa: E402
from tests.servers.moto_server import MotoServer  # noqa: E402


def item(number: int) -> dict[str, Any]:
    return {"id": number, "name": f"item {number}", "tags": ["a", "b"], "price": number * 0.5}


def upload_input(client: Any, bucket: str, objects: int, items: int) -> None:
    for index in range(objects):
        lines = b"".join(orjson.dumps(item(index * items + n)) + b"\n" for n in range(items))
        client.put_object(Bucket=bucket, Key=f"in/part-{index:05d}.jl.gz", Body=gzip.compress(lines, 6))


def ozzy_case(proxy_url: str, bucket: str, prefix: str, items: int, work: Path) -> None:
    config = {
        "reader": {
            "name": "S3Reader",
            "options": {"bucket": bucket, "prefix": "in/", "host": proxy_url, "batch_size": items},
        },
        "writer": {
            "name": "S3Writer",
            "options": {
                "bucket": bucket,
                "host": proxy_url,
                "filebase": f"{prefix}part_",
                "items_per_buffer_write": items,
            },
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(work / prefix)}},
    }
    BasicExporter(config).export()


def transform(body: bytes) -> bytes:
    lines = gzip.decompress(body).splitlines()
    return gzip.compress(b"".join(orjson.dumps(orjson.loads(line)) + b"\n" for line in lines), 6)


def serial_case(client: Any, bucket: str, prefix: str, keys: list[str]) -> None:
    for number, key in enumerate(keys):
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        client.put_object(Bucket=bucket, Key=f"{prefix}part_{number:04d}.jl.gz", Body=transform(body))


def concurrent_case(client: Any, bucket: str, prefix: str, keys: list[str]) -> None:
    with ThreadPoolExecutor(4) as getters, ThreadPoolExecutor(1) as putter:
        ahead: dict[int, Future[bytes]] = {}
        put: Future[Any] | None = None
        for number in range(len(keys)):
            for index in range(number, min(len(keys), number + 5)):
                if index not in ahead:
                    ahead[index] = getters.submit(
                        lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read(), keys[index]
                    )
            data = transform(ahead.pop(number).result())
            if put is not None:
                put.result()
            put = putter.submit(
                client.put_object, Bucket=bucket, Key=f"{prefix}part_{number:04d}.jl.gz", Body=data
            )
        if put is not None:
            put.result()


def count(client: Any, bucket: str, prefix: str) -> int:
    paginator = client.get_paginator("list_objects_v2")
    return sum(len(page.get("Contents", [])) for page in paginator.paginate(Bucket=bucket, Prefix=prefix))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(legacy_s3_env())
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    work = Path(tempfile.mkdtemp(prefix="ozzy-bench-s3-"))
    moto = MotoServer(str(work))
    moto.start()
    proxy = FaultProxy(moto.endpoint_url).start()
    try:
        direct = moto.client("s3")
        bucket = moto.create_bucket()
        upload_input(direct, bucket, args.objects, args.items)
        keys = sorted(
            entry["Key"]
            for page in direct.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="in/")
            for entry in page["Contents"]
        )
        import boto3
        from botocore.config import Config

        slow = boto3.client(
            "s3",
            endpoint_url=proxy.url,
            region_name=os.environ["AWS_DEFAULT_REGION"],
            aws_access_key_id=os.environ["EXPORTERS_S3READER_AWS_KEY"],
            aws_secret_access_key=os.environ["EXPORTERS_S3READER_AWS_SECRET"],
            config=Config(max_pool_connections=10),
        )
        proxy.slow(times=10**9, delay=args.delay)
        print(
            f"load average at start: {os.getloadavg()[0]:.2f}; {args.objects} objects, "
            f"{args.items} items each, {args.delay * 1000:.0f} ms per request"
        )
        times: dict[str, list[float]] = {"ozzy": [], "serial loop": [], "concurrent loop": []}
        for _ in range(args.repeat):
            for case in times:
                prefix = f"out-{uuid.uuid4().hex[:8]}/"
                started = time.perf_counter()
                if case == "ozzy":
                    ozzy_case(proxy.url, bucket, prefix, args.items, work)
                elif case == "serial loop":
                    serial_case(slow, bucket, prefix, keys)
                else:
                    concurrent_case(slow, bucket, prefix, keys)
                times[case].append(time.perf_counter() - started)
                written = count(direct, bucket, prefix)
                if written != args.objects:
                    raise SystemExit(f"{case}: {written} objects written, {args.objects} expected")
        ozzy = statistics.median(times["ozzy"])
        print(f"{'case':18s} {'median s':>9s} {'ozzy vs it':>11s}")
        for case, values in times.items():
            median = statistics.median(values)
            print(f"{case:18s} {median:9.2f} {median / ozzy:10.2f}x")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
    finally:
        proxy.stop()
        moto.stop()


if __name__ == "__main__":
    main()
