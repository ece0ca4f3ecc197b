"""Parquet output against JSON lines on the same FS->FS job, in one run (ratios, not absolute times).

    .venv/bin/python benchmarks/bench_parquet.py [--n 200000] [--repeat 3]

Input: ``shared/bench/gen_items.py`` items (10 fields, a list and nested objects), as for
``run.py``. Cases, each an ``ozzy run`` process, round-robin: JSON lines gzip (the reference),
Parquet snappy with an inferred schema (structs), Parquet zstd flattened, Parquet snappy with a
declared schema. Shown: median wall seconds, items/s, ratio to JSON lines, CPU seconds, peak RSS
and output bytes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import (  # noqa: E402
    WORK,
    load,
    make_input,
    ozzy_command,
    ozzy_config,
    run_cases,
    run_child,
    warm_up,
)

SCHEMA = {
    "id": "int64",
    "user_id": "int64",
    "score": "float64",
    "price": "float64",
    "name": "string",
    "country": "string",
    "active": "bool",
    "tags": "list<string>",
    "address": "struct<city: string, zip: string, geo: struct<lat: float64, lon: float64>>",
    "ts": "string",
}


def case(source: Path, formatter: dict[str, Any], compression: str) -> Any:
    def build(folder: Path) -> tuple[list[str], bool, None]:
        config = ozzy_config(source, formatter)
        config["writer"]["options"]["compression"] = compression
        return ozzy_command(folder, config), True, None

    return build


def output_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in (folder / "out").iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    source = make_input(args.n)
    warm_up()
    parquet = "ParquetExportFormatter"
    cases = {
        "ozzy jl gz": case(source, {"name": "JsonExportFormatter"}, "gz"),
        "ozzy parquet snappy, inferred": case(source, {"name": parquet}, "none"),
        "ozzy parquet zstd, flattened": case(
            source, {"name": parquet, "options": {"compression": "zstd", "flatten": True}}, "none"
        ),
        "ozzy parquet snappy, declared": case(
            source, {"name": parquet, "options": {"schema": SCHEMA}}, "none"
        ),
    }
    sizes: dict[str, int] = {}
    for name, build in cases.items():  # one run each for the output sizes
        folder = WORK / "parquet-sizes"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        command, _, env = build(folder)
        run_child(command, folder, env)
        sizes[name] = output_bytes(folder)
    print(f"# {args.n:,} items, {args.repeat} round(s), load {load()}, {os.cpu_count()} CPUs", flush=True)
    results = run_cases(cases, args.repeat)
    reference = results["ozzy jl gz"].seconds
    print("| case | median s | items/s | vs jl gz | CPU s | peak RSS MiB | output MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, result in results.items():
        print(
            f"| {name} | {result.seconds:.2f} | {args.n / result.seconds:,.0f} | "
            f"{reference / result.seconds:.2f}x | {result.cpu:.2f} | {result.peak_kib / 1024:.0f} | "
            f"{sizes[name] / 1e6:.1f} |"
        )


if __name__ == "__main__":
    main()
