"""Load: many groups within few file descriptors, and a 100,000-key S3 listing with flat memory.

* 10,000 groups (2,000 in the default run) open at once (every group's file stays open until the end of the export) run in a
  child ``ozzy`` limited to ``ulimit -n 256``: buffer files keep at most
  ``compression.MAX_OPEN_FILES`` OS handles open and reopen the others on their next write, so the
  export finishes and every group's file holds exactly its items.
* ``slow``: an S3 listing of 100,000 keys (moto, tiny objects created by 32 threads) through the
  real ``S3Reader.get_read_streams`` in a child process, peak RSS compared with 10,000 keys (the
  RSS held after the listing is printed too: the listing keeps ~270 bytes per key).

The 10M-item export with flat memory is a benchmark: ``benchmarks/run.py --memory --big``
(``benchmarks/README.md``, "Memory").
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import OZZY, legacy_s3_env, read_json_lines

GROUPS = 10_000
ITEMS_PER_GROUP = 3
FD_LIMIT = 256


def _limit_fds() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


# 2,000 groups (8x the limit) in the default run; the 10,000 of the issue in the stress run
@pytest.mark.parametrize("groups", [2_000, pytest.param(GROUPS, marks=pytest.mark.slow)])
def test_many_open_groups_fit_in_256_file_descriptors(groups: int, tmp_path: Path) -> None:
    items = [{"id": n, "g": f"g{n % groups:05d}"} for n in range(groups * ITEMS_PER_GROUP)]
    source = tmp_path / "in" / "items.jl.gz"
    source.parent.mkdir()
    source.write_bytes(gzip.compress(b"".join(json.dumps(item).encode() + b"\n" for item in items)))
    config = {
        "reader": {"name": "FSReader", "options": {"input": str(source), "batch_size": 5000}},
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["g"]}},
        # files are cut at 1,000 items: every group's file stays open until the final flush
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/{groups[0]}/part_", "items_per_buffer_write": 1000},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = subprocess.run(
        [*OZZY, "run", "config.json", "--quiet"],
        cwd=tmp_path,
        preexec_fn=_limit_fds,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    folders = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert len(folders) == groups
    for folder in folders[:: groups // 100] + [folders[-1]]:  # 101 groups read back
        files = sorted((tmp_path / "out" / folder).iterdir())
        assert [path.name for path in files] == ["part_0000.jl.gz"], files
        number = int(folder[1:])
        wanted = [{"id": number + groups * k, "g": folder} for k in range(ITEMS_PER_GROUP)]
        assert read_json_lines(files[0]) == wanted
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert (stats["items_written"], stats["files_written"]) == (len(items), groups)


# -- 100,000-key S3 listing ----------------------------------------------------------------------------------
LISTING = """
import json, resource, sys
from airflow_provider_ozzy.readers.s3_reader import S3Reader

def rss_kib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])

reader = S3Reader({"bucket": sys.argv[1], "prefix": sys.argv[2], "host": sys.argv[3]})
reader.s3.call("head_bucket", Bucket=sys.argv[1])  # client built, imports done
before = rss_kib()
streams = reader.get_read_streams()
print(json.dumps({"streams": len(streams), "first": streams[0].name, "last": streams[-1].name,
                  "rss_before_kib": before, "rss_after_kib": rss_kib(),
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _put_keys(client: Any, bucket: str, prefix: str, count: int) -> None:
    def put(start: int) -> None:
        for number in range(start, min(start + 1000, count)):
            client.put_object(Bucket=bucket, Key=f"{prefix}{number:06d}.jl", Body=b"{}\n")

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, range(0, count, 1000)))


def _listing(bucket: str, prefix: str, host: str, env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", LISTING, bucket, prefix, host],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_100000_key_s3_listing_has_flat_memory(request: pytest.FixtureRequest) -> None:
    moto = request.getfixturevalue("moto_server")
    client = moto.client("s3")
    bucket = moto.create_bucket()
    env = legacy_s3_env(writer=False)
    _put_keys(client, bucket, "small/", 10_000)
    _put_keys(client, bucket, "big/", 100_000)
    small = _listing(bucket, "small/", moto.endpoint_url, env)
    big = _listing(bucket, "big/", moto.endpoint_url, env)
    print(f"S3-LISTING 10,000 keys: {small}; 100,000 keys: {big}")
    assert (small["streams"], big["streams"]) == (10_000, 100_000)
    assert (big["first"], big["last"]) == ("big/000000.jl", "big/099999.jl")
    # the listing pages through 1,000 keys at a time; what it keeps per key is a name and an ETag
    assert big["peak_rss_kib"] <= small["peak_rss_kib"] * 1.5, (small, big)
