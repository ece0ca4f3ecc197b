"""``ozzy run CONFIG`` under cProfile, with the CPU time of the compression thread (run.py --profile).

    .venv/bin/python benchmarks/profile_run.py CONFIG [--top 20] [--dump FILE]

cProfile sees only the main thread; the compression thread (zlib, md5, file writes) is timed
separately with ``time.thread_time()`` around each of its tasks. Prints the functions with the most
own time (tottime), the same grouped by kind of work, and the thread times.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airflow_provider_ozzy.core.ordered_worker import OrderedWorker  # noqa: E402

# (label, substrings of the pstats function key "file:line(name)"); the first match wins
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("parse JSON (orjson.loads)", ("orjson.loads", "stream_deserializers.py:69(<listcomp>)")),
    ("format JSON (orjson.dumps)", ("orjson.dumps", "json_export_formatter.py:33(<listcomp>)")),
    ("format CSV (csv writer)", ("_csv.writer", "csv_export_formatter.py")),
    ("format XML", ("xml_export_formatter.py", "saxutils.py", "'sub' of 're.Pattern'", "'match' of")),
    ("wait for the compression thread", ("'acquire' of '_thread.lock'",)),
    ("gzip decompression (isal)", ("isal_zlib.Decompress",)),
    ("split lines / join formatted items", ("'split' of 'bytes'", "'join' of 'bytes'", "'rfind' of 'bytes'")),
    ("write buffer bookkeeping", ("write_buffers/base.py", "'len'", "builtins.sum", "compression.py")),
    ("free finished batches (exporter loop)", ("basic_exporter.py",)),
    ("fsync of finished files and state", ("posix.fsync",)),
    (
        "interpreter start: imports, regex compiles",
        ("importlib", "marshal.loads", "builtins.compile", "_compiler.py", "_parser.py", "create_dynamic"),
    ),
]


def timed_tasks(busy: list[float]) -> None:
    """Wrap every task of the background threads (compression, deliveries: ``OrderedWorker``) to add
    its thread CPU time to ``busy[0]``."""
    submit = OrderedWorker.submit

    def timed_submit(self: OrderedWorker, task: Callable[[], None]) -> Future[None]:
        def timed() -> None:
            started = time.thread_time()
            try:
                task()
            finally:
                busy[0] += time.thread_time() - started

        return submit(self, timed)

    OrderedWorker.submit = timed_submit  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--dump", help="also save the raw profile (for snakeviz, pstats)")
    args = parser.parse_args()
    busy = [0.0]
    timed_tasks(busy)
    from airflow_provider_ozzy.cli import main as ozzy

    profile = cProfile.Profile()
    wall, cpu = time.perf_counter(), time.thread_time()
    with contextlib.redirect_stdout(io.StringIO()):  # the stats line of ozzy run
        code = profile.runcall(ozzy, ["run", args.config, "--quiet"])
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    if code != 0:
        sys.exit(f"ozzy run exited with {code}")
    if args.dump:
        profile.dump_stats(args.dump)
    stats = pstats.Stats(profile)
    rows = []  # (tottime, ncalls, key)
    for (file, line, name), (_, ncalls, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        key = f"{Path(file).name}:{line}({name})" if line else name
        if "/airflow_provider_ozzy/" in file:
            key = f"{file.split('/airflow_provider_ozzy/', 1)[1]}:{line}({name})"
        rows.append((tottime, ncalls, key))
    total = sum(row[0] for row in rows)
    rows.sort(reverse=True)
    print(
        f"profiled wall {wall:.2f} s; main thread CPU {cpu:.2f} s (profiler overhead included); "
        f"compression thread CPU {busy[0]:.2f} s (zlib level 6, md5, file writes; not profiled)"
    )
    print(f"\nTop {args.top} functions of the main thread by own time (tottime; {total:.2f} s in all):\n")
    print("| tottime s | share | calls | function |")
    print("|---:|---:|---:|---|")
    for tottime, ncalls, key in rows[: args.top]:
        print(f"| {tottime:.3f} | {tottime / total:5.1%} | {ncalls} | `{key}` |")
    grouped: dict[str, float] = {}
    for tottime, _, key in rows:
        label = next((label for label, marks in CATEGORIES if any(mark in key for mark in marks)), "other")
        grouped[label] = grouped.get(label, 0.0) + tottime
    print("\nMain thread by kind of work:\n")
    print("| work | s | share |")
    print("|---|---:|---:|")
    for label, seconds in sorted(grouped.items(), key=lambda pair: -pair[1]):
        print(f"| {label} | {seconds:.2f} | {seconds / total:5.1%} |")


if __name__ == "__main__":
    main()
