"""S3Bypass against the item pipeline on the same keys, in one run (a ratio, not absolute times).

    .venv/bin/python benchmarks/bench_s3_bypass.py [--keys 1000] [--items 200] [--threads 16] [--repeat 3]

Starts a moto server on 127.0.0.1 (``tests/servers/moto_server.py``), fills a bucket with ``--keys``
gzip JSON-lines objects of ``--items`` items each (about 150 bytes per item), then exports them
S3 -> S3 twice per repeat with the same configuration: once as chosen by Ozzy (S3Bypass: server-side
copies, ``copy_threads`` at a time) and once with ``exporter_options.prevent_bypass`` (the item
pipeline: download, decompress, parse, format, compress, upload). A third row, ``raw copies``, is
the server's floor: the same CopyObject calls made with boto3 alone, as many at once. The table
shows the median wall time of each, objects and items per second, the ratio pipeline / bypass and
the bypass's overhead over the floor. Both exports use explicit keys (no Airflow import inside
the timings) and talk to moto directly.

moto runs in one Python process on the same machine, so a copy costs it a memory copy and the
pipeline's transfers never leave the host: against real S3 the bypass moves no byte through the
worker, and the ratio is larger.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter  # noqa: E402
from tests.servers.moto_server import ACCESS_KEY, SECRET_KEY, MotoServer  # noqa: E402


def fill_bucket(server: MotoServer, keys: int, items: int) -> tuple[str, int]:
    client = server.client("s3")
    bucket = server.create_bucket("bench-src")
    rng = random.Random(1)

    def put(index: int) -> int:
        lines = [
            json.dumps(
                {
                    "id": index * items + n,
                    "name": f"item {n}",
                    "value": rng.random(),
                    "tag": f"{rng.getrandbits(160):040x}",
                }
            )
            for n in range(items)
        ]
        body = gzip.compress(("\n".join(lines) + "\n").encode())
        client.put_object(Bucket=bucket, Key=f"src/part-{index:05d}.jl.gz", Body=body)
        return len(body)

    with ThreadPoolExecutor(8) as pool:
        size = sum(pool.map(put, range(keys)))
    return bucket, size


def config(server: MotoServer, source: str, destination: str, threads: int, prevent: bool) -> dict[str, Any]:
    credentials = {
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "host": server.endpoint_url,
    }
    return {
        "reader": {"name": "S3Reader", "options": {"bucket": source, "prefix": "src/", **credentials}},
        "writer": {
            "name": "S3Writer",
            "options": {
                "bucket": destination,
                "filebase": "out/items_",
                "copy_threads": threads,
                **credentials,
            },
        },
        "persistence": {
            "name": "PicklePersistence",
            "options": {"file_path": str(Path(tempfile.mkdtemp()) / "state")},
        },
        "exporter_options": {"prevent_bypass": prevent, "log_level": "WARNING"},
    }


def raw_copies(server: MotoServer, source: str, keys: int, threads: int) -> float:
    """The server's floor: boto3 CopyObject calls alone, ``threads`` at a time, no Ozzy."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(max_pool_connections=max(10, threads)),
    )
    destination = server.create_bucket("bench-raw")
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(
            pool.map(
                lambda index: client.copy_object(
                    Bucket=destination,
                    Key=f"out/{index:05d}",
                    CopySource={"Bucket": source, "Key": f"src/part-{index:05d}.jl.gz"},
                ),
                range(keys),
            )
        )
    return time.perf_counter() - started


def timed_export(settings: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    stats = BasicExporter(settings).export()
    return time.perf_counter() - started, stats


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--items", type=int, default=200, help="items per key")
    parser.add_argument("--threads", type=int, default=16, help="S3Writer copy_threads")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ozzy-bench-moto-") as workdir:
        server = MotoServer(workdir)
        server.start()
        try:
            source, size = fill_bucket(server, args.keys, args.items)
            times: dict[str, list[float]] = {"raw copies": [], "bypass": [], "pipeline": []}
            for _ in range(args.repeat):
                times["raw copies"].append(raw_copies(server, source, args.keys, args.threads))
                for mode in ("bypass", "pipeline"):
                    destination = server.create_bucket(f"bench-{mode}")
                    seconds, stats = timed_export(
                        config(server, source, destination, args.threads, mode == "pipeline")
                    )
                    assert stats["finished"], stats
                    assert (stats.get("bypass") == "S3Bypass") == (mode == "bypass"), stats
                    times[mode].append(seconds)
        finally:
            server.stop()

    items = args.keys * args.items
    print(f"python {platform.python_version()}, {platform.machine()}; moto server on 127.0.0.1")
    print(f"{args.keys:,} keys, {items:,} items, {size / 1e6:.1f} MB gzip; median of {args.repeat}")
    print(f"{'mode':<10}{'seconds':>10}{'objects/s':>12}{'items/s':>12}")
    for mode, values in times.items():
        median = statistics.median(values)
        print(f"{mode:<10}{median:>10.2f}{args.keys / median:>12,.0f}{items / median:>12,.0f}")
    bypass = statistics.median(times["bypass"])
    print(f"pipeline / bypass: {statistics.median(times['pipeline']) / bypass:.1f}x")
    print(
        f"bypass / raw copies (Ozzy's overhead over the server's floor): {bypass / statistics.median(times['raw copies']):.2f}x"
    )


if __name__ == "__main__":
    main()
