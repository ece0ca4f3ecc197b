"""Cost of positions that name inputs by identity, at 10k, 100k and 1M listed objects.

For each listing size N (names like an hourly-partitioned bucket,
``events/2026/12/07/13/part-0001234.jl.gz``, with sizes) this measures, in one process:

- **finished state**: the JSON size of the position a finished job commits (every input done),
  and the time to build it;
- **next run open**: the time and peak traced memory of opening the next run of that job over a
  listing with 1% new inputs spread among the old ones (decode, plan);
- **commit, mid-run**: a run that has read half of the listing, the worst case for the read log
  (a rare group holds the committed position at the start): the JSON size of the committed
  position and the time of one commit (build the position and serialise it, as the persistence
  does), as the median of 200 commits, each after one more input; and one commit of that state to
  a PicklePersistence state file (JSON, written to a temporary file, fsynced, renamed), median of 20.

    .venv/bin/python benchmarks/bench_positions.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from typing import Any, BinaryIO

import orjson

from airflow_provider_ozzy.persistence.pickle_persistence import PicklePersistence
from airflow_provider_ozzy.readers.base_stream_reader import Stream, StreamBasedReader


def listing(count: int, new_every: int = 0) -> list[Stream]:
    streams = []
    for number in range(count):
        hour = number // 3600
        name = f"events/2026/12/{7 + hour // 24:02d}/{hour % 24:02d}/part-{number:07d}.jl.gz"
        streams.append(Stream(name, 1_000_000 + number % 997, f'"{number:032x}"'))
        if new_every and number % new_every == 0:
            streams.append(Stream(name.replace("part-", "late-"), 5000, None))
    return streams


class ListedReader(StreamBasedReader):
    """A stream reader over a fixed listing (nothing is opened: positions only)."""

    def __init__(self, streams: list[Stream]) -> None:
        super().__init__({})
        self.streams = streams

    def get_read_streams(self) -> list[Stream]:
        return list(self.streams)

    def open_stream(self, stream: Stream) -> BinaryIO:  # pragma: no cover - never read here
        raise NotImplementedError


def measure(count: int) -> dict[str, Any]:
    old = listing(count)
    reader = ListedReader(old)
    reader.open(None)
    started = time.perf_counter()
    finished = reader.position_after(old)
    finished_bytes = len(orjson.dumps(finished))
    finished_seconds = time.perf_counter() - started

    grown = listing(count, new_every=100)
    fresh = ListedReader(grown)
    tracemalloc.start()
    fresh.open(None)  # the first run over the same listing, for comparison
    _, fresh_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del fresh
    nxt = ListedReader(grown)
    tracemalloc.start()
    started = time.perf_counter()
    nxt.open(finished)
    open_seconds = time.perf_counter() - started
    _, open_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(nxt._streams) == len(grown) - len(old)

    mid = ListedReader(old)
    mid.open(None)
    mid._index = count // 2
    cursor = {"index": 0, "offset": 0, "stream_name": old[0].name}  # the rare group's batch
    orjson.dumps(mid.committable_position(cursor))  # chunks before the half are encoded once
    times, size = [], 0
    for _ in range(200):
        mid._index += 1
        started = time.perf_counter()
        size = len(orjson.dumps(mid.committable_position(cursor)))
        times.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder:
        persistence = PicklePersistence({"file_path": folder})
        persistence.open("bench", {"reader": {"name": "FSReader", "options": {"input": "x"}}}, None)
        state = {"version": 1, "batch": 1, "reader": mid.committable_position(cursor), "writer": {}}
        file_times = []
        for _ in range(20):
            started = time.perf_counter()
            persistence.commit(state)
            file_times.append(time.perf_counter() - started)
        persistence.close()
    return {
        "listed": count,
        "state_file_commit_ms": statistics.median(file_times) * 1000,
        "fresh_open_peak_mib": fresh_peak / 2**20,
        "finished_state_kib": finished_bytes / 1024,
        "finished_build_s": finished_seconds,
        "bytes_per_input": finished_bytes / count,
        "next_open_s": open_seconds,
        "next_open_peak_mib": open_peak / 2**20,
        "mid_state_kib": size / 1024,
        "commit_ms": statistics.median(times) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    print(
        "| listed | finished state KiB | bytes/input | build s | next run open s | open peak MiB "
        "(first run) | mid-run state KiB | position + JSON ms | state file commit ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count in sizes:
        row = measure(count)
        print(
            f"| {row['listed']:,} | {row['finished_state_kib']:,.1f} | {row['bytes_per_input']:.2f} "
            f"| {row['finished_build_s']:.2f} | {row['next_open_s']:.2f} | {row['next_open_peak_mib']:.0f} "
            f"({row['fresh_open_peak_mib']:.0f}) | {row['mid_state_kib']:,.1f} | {row['commit_ms']:.2f} "
            f"| {row['state_file_commit_ms']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
