"""Benchmarks: Ozzy against baseline loops measured in the same run (ratios, not absolute times).

    .venv/bin/python benchmarks/run.py [--n 200000] [--repeat 3]

Each case runs as its own process (interpreter start included for every case), ``--repeat`` times;
the table shows the median wall time, items/s, the ratio to the limit loop and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
PYTHON = sys.executable
CSV_FIELDS = ["id", "user_id", "score", "price", "name", "country", "active", "tags", "address", "ts"]


def gen_items_script() -> Path:
    candidates = [os.environ.get("OZZY_GEN_ITEMS", ""), ROOT.parent / "shared" / "bench" / "gen_items.py"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    sys.exit("benchmarks: cannot find gen_items.py (set OZZY_GEN_ITEMS)")


def make_input(n: int) -> Path:
    target = WORK / f"items-{n}.jl.gz"
    if not target.exists():
        subprocess.run([PYTHON, str(gen_items_script()), "--out", str(target), "--n", str(n)], check=True)
    return target


def timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(
            f"benchmarks: {' '.join(command)} failed: {child.stderr.read().decode() if child.stderr else ''}"
        )
    return elapsed, usage.ru_maxrss


def ozzy_config(source: Path, formatter: dict, extra: dict | None = None) -> dict:
    config = {
        "reader": {"name": "FSReader", "options": {"input": str(source)}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_", "compression": "gz"}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
        "exporter_options": {"formatter": formatter},
    }
    config.update(extra or {})
    return config


def cases(source: Path) -> dict[str, tuple[list[str], dict | None]]:
    loops = str(HERE / "loops.py")
    return {
        "limit (orjson+zlib loop)": ([PYTHON, loops, "limit", str(source), "out.jl.gz"], None),
        "plain (json+gzip loop)": ([PYTHON, loops, "plain", str(source), "out.jl.gz"], None),
        "ozzy FS->FS jl gz": ([], ozzy_config(source, {"name": "JsonExportFormatter"})),
        "limit CSV loop": (
            [
                PYTHON,
                "-c",
                f"import sys; sys.path.insert(0, {str(HERE)!r}); import loops; "
                f"loops.limit_csv_loop({str(source)!r}, 'out.csv.gz', {CSV_FIELDS!r})",
            ],
            None,
        ),
        "ozzy FS->FS csv gz": (
            [],
            ozzy_config(source, {"name": "CSVExportFormatter", "options": {"fields": CSV_FIELDS}}),
        ),
        "limit XML loop": (
            [
                PYTHON,
                "-c",
                f"import sys; sys.path.insert(0, {str(HERE)!r}); import loops; "
                f"loops.limit_xml_loop({str(source)!r}, 'out.xml.gz')",
            ],
            None,
        ),
        "ozzy FS->FS xml gz": ([], ozzy_config(source, {"name": "XMLExportFormatter"})),
    }


def run_case(command: list[str], config: dict | None, repeat: int) -> tuple[float, int]:
    times, peaks = [], []
    for _ in range(repeat):
        folder = WORK / "case"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        if config is not None:
            (folder / "config.json").write_text(json.dumps(config))
            command = [PYTHON, "-m", "airflow_provider_ozzy.cli", "run", "config.json", "--quiet"]
        seconds, peak = timed(command, folder)
        times.append(seconds)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    source = make_input(args.n)
    results = {
        name: run_case(command, config, args.repeat) for name, (command, config) in cases(source).items()
    }
    limit = results["limit (orjson+zlib loop)"][0]
    limit_csv = results["limit CSV loop"][0]
    limit_xml = results["limit XML loop"][0]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.2f}; {args.n:,} items, median of {args.repeat}"
    )
    print("| case | median s | items/s | vs limit | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for name, (seconds, peak) in results.items():
        baseline = limit_csv if "csv" in name.lower() else limit_xml if "xml" in name.lower() else limit
        print(
            f"| {name} | {seconds:.2f} | {args.n / seconds:,.0f} | {baseline / seconds:.2f}x | {peak / 1024:.0f} |"
        )


if __name__ == "__main__":
    main()
