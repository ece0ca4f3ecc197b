"""Benchmarks: Ozzy against baseline loops measured in the same run (ratios, not absolute times).

    .venv/bin/python benchmarks/run.py [--n 200000] [--repeat 3] [parts...] [--big] [--compare-with DIR]

Parts (all of them when none is named):

``--throughput``  FS->FS exports (JSON lines, CSV, XML, gzip; with a JqTransform and a
                  PythonexpFilter) against the limit loop (orjson + zlib, one thread, same
                  formatting) and the plain loop (json + gzip).
``--ceiling``     FS->FS JSON lines gzip against the two-thread loops (orjson on the main thread,
                  compression on a second, batches of 10,000): zlib level 6, the two-core ceiling
                  of today's output, and isal levels 0-3; Ozzy with zlib and with the isal choice.
                  Prints the output size of every case.
``--memory``      peak RSS and items/s of the JSON lines export on 1M items; ``--big`` adds 10M
                  (generated once into benchmarks/work/, about 700 MB and 5 minutes).
``--operator``    the same config through ``OzzyExportOperator`` with ``dag.test()`` against
                  ``ozzy run``, at two sizes: the difference must not grow with the items.
``--processing``  per-item cost of filters and transforms against plain Python
                  (``bench_processing.py``).
``--profile``     cProfile of the JSON lines export (``profile_run.py``): where the time goes.
``--kafka``       KafkaScannerReader -> FSWriter against plain kafka-python consumer loops on a
                  local broker (``bench_kafka.py``).
``--modules``     every reader and writer that has a test server here (S3, GCS, Azure Blob, SFTP,
                  FTP, Kafka, Scrapy Cloud collections, SMTP, PostgreSQL, MariaDB, SQLite) against
                  the plain client loop doing the same transfer (``bench_modules.py``, about 6
                  minutes; its own sizes, ``--repeat`` rounds).

``--compare-with DIR`` (repeatable) adds the Ozzy jl/csv/xml cases (``--ceiling``: the jl zlib case)
run with the package copy in DIR (put first on PYTHONPATH): before/after figures for a change,
measured in the same run.

Every case runs as its own process (interpreter start included), ``--repeat`` times; tables show
the median wall time, items/s, ratios to the baselines, CPU seconds (user + system, all threads)
and peak RSS. Input comes from ``shared/bench/gen_items.py`` (10 fields, nested), cached in
``benchmarks/work/`` (gitignored).
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
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
PYTHON = sys.executable
CSV_FIELDS = ["id", "user_id", "score", "price", "name", "country", "active", "tags", "address", "ts"]
# the exporters 0.6.18 benchmark configs (shared/reference/exporters-inventory.md §5.4)
JQ_FILTER = "{id, name, country, score, tags, city: .address.city}"
PYEXP = "item['score'] > 0.5 and item['country'] in ['US', 'ES', 'DE', 'FR']"
PARTS = ("throughput", "ceiling", "memory", "operator", "processing", "profile", "kafka", "modules")


class Result(NamedTuple):
    seconds: float  # median wall
    cpu: float  # median user + system
    peak_kib: int  # max RSS over the repeats
    output_bytes: int = 0  # the .gz files the case wrote (last round)


# -- inputs and processes ---------------------------------------------------------------------------
def gen_items_script() -> Path:
    candidates = [
        os.environ.get("OZZY_GEN_ITEMS", ""),
        str(ROOT.parent / "shared" / "bench" / "gen_items.py"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    sys.exit("benchmarks: cannot find gen_items.py (set OZZY_GEN_ITEMS)")


def make_input(n: int) -> Path:
    """``benchmarks/work/items-N.jl.gz``, generated (streamed by gen_items.py) on first use."""
    target = WORK / f"items-{n}.jl.gz"
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        print(f"# generating {n:,} items into {target} ...", flush=True)
        subprocess.run([PYTHON, str(gen_items_script()), "--out", str(partial), "--n", str(n)], check=True)
        partial.rename(target)
    return target


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every measured process: bytecode cached in benchmarks/work/pycache.

    With PYTHONDONTWRITEBYTECODE (set on the development machines) every start compiles each
    imported module from source again: 0.1 s for ``ozzy run``, several seconds for Airflow. Real
    installations have their bytecode cached, so the children use a cache of their own (nothing
    is written into the virtualenv or the source tree).
    """
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(WORK / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra or {})
    return env


def run_child(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS (KiB) and stdout of one child process."""
    stdout_path = cwd / "stdout.txt"
    with open(stdout_path, "wb") as stdout, open(cwd / "stderr.txt", "wb") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=stderr, env=env or child_env())
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
    if status != 0:
        tail = (cwd / "stderr.txt").read_text(errors="replace")[-3000:]
        raise SystemExit(f"benchmarks: {' '.join(command)} failed (status {status}):\n{tail}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stdout_path.read_text()


def fresh_folder(name: str = "case") -> Path:
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def ozzy_config(
    source: Path, formatter: dict[str, Any], folder: Path | None = None, **sections: Any
) -> dict[str, Any]:
    """The FS->FS job of the exporters benchmark; paths relative to the case folder unless ``folder``."""
    base = f"{folder}/" if folder else ""
    config = {
        "reader": {"name": "FSReader", "options": {"input": str(source)}},
        "writer": {"name": "FSWriter", "options": {"filebase": f"{base}out/items_", "compression": "gz"}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": f"{base}state"}},
        "exporter_options": {"formatter": formatter},
    }
    config.update(sections)
    return config


def ozzy_command(folder: Path, config: dict[str, Any]) -> list[str]:
    (folder / "config.json").write_text(json.dumps(config))
    return [PYTHON, "-m", "airflow_provider_ozzy.cli", "run", "config.json", "--quiet"]


def check_stats(stdout: str, name: str) -> dict[str, Any]:
    """The stats line of ``ozzy run``; the export must have gone through the item pipeline."""
    stats: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    if not stats.get("finished") or "bypass" in stats:
        raise SystemExit(f"benchmarks: {name}: unexpected stats {stats}")
    return stats


def run_cases(cases: dict[str, Any], repeat: int) -> dict[str, Result]:
    """Run every case ``repeat`` times, round-robin (so that load changes hit all cases alike).

    ``cases`` maps names to ``build(folder) -> (command, is_ozzy, env)``; each run gets a fresh folder.
    """
    runs: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in cases}
    for round_number in range(repeat):
        for name, build in cases.items():
            folder = fresh_folder()
            command, is_ozzy, env = build(folder)
            wall, cpu, peak, stdout = run_child(command, folder, env)
            if is_ozzy:
                check_stats(stdout, name)
            written = sum(path.stat().st_size for path in folder.rglob("*.gz"))
            runs[name].append((wall, cpu, peak, written))
        print(f"#   round {round_number + 1}/{repeat} done (load {load()})", flush=True)
    return {
        name: Result(
            statistics.median(run[0] for run in values),
            statistics.median(run[1] for run in values),
            max(run[2] for run in values),
            values[-1][3],
        )
        for name, values in runs.items()
    }


def warm_up(operator: bool = False) -> None:
    """One small export (and one through the operator) so that the bytecode cache is filled."""
    source = make_input(1000)
    folder = fresh_folder()
    run_child(ozzy_command(folder, ozzy_config(source, {"name": "JsonExportFormatter"})), folder)
    if operator:
        folder = fresh_folder()
        (folder / "job.json").write_text(
            json.dumps(ozzy_config(source, {"name": "JsonExportFormatter"}, folder))
        )
        run_child([PYTHON, str(HERE / "operator_run.py"), "job.json", "result.json"], folder, airflow_env())


# -- machine ------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# -- parts --------------------------------------------------------------------------------------------
def throughput(n: int, repeat: int, compare: list[str]) -> None:
    source = make_input(n)
    loops = str(HERE / "loops.py")

    def loop(call: str) -> Any:
        code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import loops; loops.{call}"
        return lambda folder: ([PYTHON, "-c", code], False, None)

    def ozzy(formatter: dict[str, Any], package: str | None = None, **sections: Any) -> Any:
        env = child_env({"PYTHONPATH": package}) if package else None
        return lambda folder: (ozzy_command(folder, ozzy_config(source, formatter, **sections)), True, env)

    jl = {"name": "JsonExportFormatter"}
    csv = {"name": "CSVExportFormatter", "options": {"fields": CSV_FIELDS}}
    xml = {"name": "XMLExportFormatter"}
    cases: dict[str, tuple[Any, str]] = {  # name: (build, baseline)
        "limit loop (orjson + zlib, 1 thread)": (
            lambda folder: ([PYTHON, loops, "limit", str(source), "out.jl.gz"], False, None),
            "limit",
        ),
        "plain loop (json + gzip)": (
            lambda folder: ([PYTHON, loops, "plain", str(source), "out.jl.gz"], False, None),
            "limit",
        ),
        "ozzy FS->FS jl gz": (ozzy(jl), "limit"),
        "limit CSV loop (csv module)": (
            loop(f"limit_csv_loop({str(source)!r}, 'out.csv.gz', {CSV_FIELDS!r})"),
            "limit CSV",
        ),
        "ozzy FS->FS csv gz": (ozzy(csv), "limit CSV"),
        "limit XML loop (typed XML by hand)": (
            loop(f"limit_xml_loop({str(source)!r}, 'out.xml.gz')"),
            "limit XML",
        ),
        "ozzy FS->FS xml gz": (ozzy(xml), "limit XML"),
        "ozzy jl gz + JqTransform (exporters' jq config)": (
            ozzy(jl, transform={"name": "JqTransform", "options": {"jq_filter": JQ_FILTER}}),
            "limit",
        ),
        "ozzy jl gz + PythonexpFilter (keeps 10 %)": (
            ozzy(jl, filter_before={"name": "PythonexpFilter", "options": {"python_expression": PYEXP}}),
            "limit",
        ),
    }
    for package in compare:  # another copy of the package (before/after a change), same run
        label = Path(package).name
        for format_name, formatter, limit_name in (
            ("jl", jl, "limit"),
            ("csv", csv, "limit CSV"),
            ("xml", xml, "limit XML"),
        ):
            cases[f"ozzy FS->FS {format_name} gz [{label}]"] = (ozzy(formatter, package), limit_name)
    results = run_cases({name: build for name, (build, _) in cases.items()}, repeat)
    baselines = {
        "limit": results["limit loop (orjson + zlib, 1 thread)"].seconds,
        "limit CSV": results["limit CSV loop (csv module)"].seconds,
        "limit XML": results["limit XML loop (typed XML by hand)"].seconds,
    }
    plain = results["plain loop (json + gzip)"].seconds
    print(f"\n## Throughput: {n:,} items, median of {repeat} (load at the end {load()})\n")
    print("| case | median s | items/s | vs limit (same format) | vs plain loop | CPU s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, result in results.items():
        baseline_name = cases[name][1]
        baseline = baselines[baseline_name]
        label = "" if baseline_name == "limit" else f" ({baseline_name.split()[1]})"
        print(
            f"| {name} | {result.seconds:.2f} | {n / result.seconds:,.0f} | "
            f"{baseline / result.seconds:.2f}x{label} | {plain / result.seconds:.2f}x | "
            f"{result.cpu:.2f} | {result.peak_kib / 1024:.0f} |"
        )
    print(
        "\nexporters 0.6.18 (Python 2.7, shared/reference/exporters-inventory.md §5.5): 23,500 items/s "
        "plain, 18,900 with the jq transform, 16,340 with the pythonexp filter, 33 MiB."
    )


ISAL_LEVELS = (0, 1, 2, 3)


def ceiling(n: int, repeat: int, compare: list[str]) -> None:
    """Ozzy's JSON lines gzip export against the two-thread loops, with the size each one writes."""
    source = make_input(n)
    loops = str(HERE / "loops.py")

    def loop(engine: str, level: int) -> Any:
        command = [PYTHON, loops, "two-thread", str(source), "out.jl.gz", engine, str(level)]
        return lambda folder: (command, False, None)

    def ozzy(package: str | None = None, **writer_options: Any) -> Any:
        env = child_env({"PYTHONPATH": package}) if package else None

        def build(folder: Path) -> tuple[list[str], bool, dict[str, str] | None]:
            config = ozzy_config(source, {"name": "JsonExportFormatter"})
            config["writer"]["options"].update(writer_options)
            return ozzy_command(folder, config), True, env

        return build

    zlib_loop = "two-thread loop, zlib 6"
    cases: dict[str, Any] = {zlib_loop: loop("zlib", 6), "ozzy FS->FS jl gz (zlib 6)": ozzy()}
    for package in compare:  # another copy of the package (before/after a change), same run
        cases[f"ozzy FS->FS jl gz (zlib 6) [{Path(package).name}]"] = ozzy(package)
    for level in ISAL_LEVELS:
        cases[f"two-thread loop, isal {level}"] = loop("isal", level)
    for level in ISAL_LEVELS:
        cases[f"ozzy FS->FS jl gz (isal {level})"] = ozzy(compression_engine="isal", compression_level=level)
    results = run_cases(cases, repeat)
    base = results[zlib_loop]
    print(
        f"\n## Two-thread ceiling: FS->FS jl gz, {n:,} items, median of {repeat} (load at the end {load()})\n"
    )
    print(
        "| case | median s | items/s | vs zlib loop (wall) | vs zlib loop (CPU) | CPU s | "
        "output MB | size vs zlib 6 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, result in results.items():
        print(
            f"| {name} | {result.seconds:.2f} | {n / result.seconds:,.0f} | "
            f"{base.seconds / result.seconds:.2f}x | {base.cpu / result.cpu:.2f}x | {result.cpu:.2f} | "
            f"{result.output_bytes / 1e6:.1f} | {result.output_bytes / base.output_bytes - 1:+.1%} |"
        )
    for level in ISAL_LEVELS:  # same engine and level: the loop is Ozzy's ceiling for that choice
        ozzy_isal = results[f"ozzy FS->FS jl gz (isal {level})"]
        loop_isal = results[f"two-thread loop, isal {level}"]
        print(
            f"- ozzy isal {level} against the isal {level} loop: {loop_isal.seconds / ozzy_isal.seconds:.2f}x"
        )


def memory(sizes: list[int]) -> None:
    rows = []
    for n in sizes:
        source = make_input(n)
        folder = fresh_folder()
        command = ozzy_command(folder, ozzy_config(source, {"name": "JsonExportFormatter"}))
        wall, cpu, peak, stdout = run_child(command, folder)
        stats = check_stats(stdout, f"memory {n}")
        if stats["items_written"] != n:
            raise SystemExit(f"benchmarks: memory {n}: wrote {stats['items_written']} items")
        rows.append((n, wall, cpu, peak))
        print(f"#   {n:,} items: {wall:.1f} s, {peak / 1024:.0f} MiB", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n## Memory: FS->FS jl gz, one run per size (load at the end {load()})\n")
    print("| items | wall s | items/s | CPU s | peak RSS MiB | RSS vs smallest |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, wall, cpu, peak in rows:
        print(
            f"| {n:,} | {wall:.1f} | {n / wall:,.0f} | {cpu:.1f} | {peak / 1024:.1f} | "
            f"{peak / rows[0][3]:.3f} |"
        )


def airflow_env() -> dict[str, str]:
    """A throw-away AIRFLOW_HOME under benchmarks/work, migrated once (SQLite)."""
    home = WORK / "airflow-home"
    env = child_env(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(HERE / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
        [
            {
                "name": "dags-folder",
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {},
            }
        ]
    )
    marker = home / ".ozzy-migrated"
    if not marker.exists():
        home.mkdir(parents=True, exist_ok=True)
        print("# airflow db migrate (once) ...", flush=True)
        airflow = Path(PYTHON).parent / "airflow"
        done = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"benchmarks: airflow db migrate failed:\n{done.stderr[-3000:]}")
        marker.touch()
    return env


def operator(sizes: list[int], repeat: int) -> None:
    """Whole processes, and the export inside them (``elapsed_seconds`` of the stats / the XCom)."""
    env = airflow_env()
    jl = {"name": "JsonExportFormatter"}
    variants = {  # key: (label, keep the config's PicklePersistence)
        "cli": ("`ozzy run`", True),
        "operator": ("operator, same config", True),
        "state": ("operator, task state store (its default)", False),
    }
    rows = []
    for n in sizes:
        source = make_input(n)
        walls: dict[str, list[float]] = {key: [] for key in variants}
        exports: dict[str, list[float]] = {key: [] for key in variants}
        for _ in range(repeat):
            for key, (_, pickle) in variants.items():
                folder = fresh_folder()
                config = ozzy_config(source, jl, folder)
                if not pickle:
                    del config["persistence"]
                if key == "cli":
                    wall, _, _, stdout = run_child(ozzy_command(folder, config), folder)
                    stats = check_stats(stdout, f"ozzy run {n}")
                else:
                    (folder / "job.json").write_text(json.dumps(config))
                    command = [PYTHON, str(HERE / "operator_run.py"), "job.json", "result.json"]
                    wall, _, _, _ = run_child(command, folder, env)
                    stats = json.loads((folder / "result.json").read_text())["stats"]
                if stats.get("items_written") != n:
                    raise SystemExit(f"benchmarks: operator part, {key} {n}: {stats}")
                walls[key].append(wall)
                exports[key].append(stats["elapsed_seconds"])
        wall_medians = {key: statistics.median(values) for key, values in walls.items()}
        export_medians = {key: statistics.median(values) for key, values in exports.items()}
        rows.append((n, wall_medians, export_medians))
        print(f"#   {n:,} items: processes {wall_medians}, exports {export_medians}", flush=True)
    print(f"\n## Operator overhead: median of {repeat} (load at the end {load()})\n")
    print(
        "Process: the whole child process (interpreter, imports, Airflow's dag.test() with its metadata "
        "database); export: the export's own `elapsed_seconds`.\n"
    )
    print(
        "| items | variant | process s | export s | process - `ozzy run` s | export - `ozzy run` export s |"
    )
    print("|---:|---|---:|---:|---:|---:|")
    for n, process, export in rows:
        for key, (label, _) in variants.items():
            extra = "" if key == "cli" else f"{process[key] - process['cli']:+.2f}"
            extra_export = "" if key == "cli" else f"{export[key] - export['cli']:+.2f}"
            print(f"| {n:,} | {label} | {process[key]:.2f} | {export[key]:.2f} | {extra} | {extra_export} |")
    if len(rows) >= 2:
        (n1, wall1, _), (n2, wall2, _) = rows[0], rows[-1]
        print()
        for key in ("operator", "state"):
            slope = ((wall2[key] - wall2["cli"]) - (wall1[key] - wall1["cli"])) / (n2 - n1) * 1e6
            print(
                f"- {variants[key][0]}: the difference changes by {slope:+.2f} µs per item between "
                f"{n1:,} and {n2:,} items (ozzy run: {wall2['cli'] / n2 * 1e6:.1f} µs per item)"
            )


def processing(n: int) -> None:
    print(f"\n## Processing modules: per-item cost against plain Python ({n:,} items)\n", flush=True)
    subprocess.run(
        [PYTHON, str(HERE / "bench_processing.py"), "--n", str(n), "--repeat", "3"],
        check=True,
        env=child_env(),
    )


def profile(n: int) -> None:
    source = make_input(n)
    folder = fresh_folder()
    (folder / "config.json").write_text(json.dumps(ozzy_config(source, {"name": "JsonExportFormatter"})))
    print(f"\n## Profile: ozzy FS->FS jl gz, {n:,} items (cProfile, main thread)\n", flush=True)
    subprocess.run(
        [PYTHON, str(HERE / "profile_run.py"), "config.json", "--dump", "profile.out"],
        cwd=folder,
        check=True,
        stderr=subprocess.DEVNULL,
        env=child_env(),
    )


def kafka(repeat: int) -> None:
    print("\n## Kafka: KafkaScannerReader -> FSWriter against plain kafka-python loops\n", flush=True)
    subprocess.run(
        [PYTHON, str(HERE / "bench_kafka.py"), "--repeat", str(repeat)], check=True, env=child_env()
    )


def modules(repeat: int) -> None:
    print("\n## Modules against plain client loops (bench_modules.py)\n", flush=True)
    subprocess.run(
        [PYTHON, str(HERE / "bench_modules.py"), "--repeat", str(repeat)],
        check=True,
        cwd=ROOT,
        env=child_env(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="items for throughput, processing, profile")
    parser.add_argument("--repeat", type=int, default=3)
    for part in PARTS:
        parser.add_argument(f"--{part}", action="store_true", help=f"run the {part} part")
    parser.add_argument("--big", action="store_true", help="memory: add the 10M-item run")
    parser.add_argument(
        "--compare-with",
        action="append",
        default=[],
        metavar="DIR",
        help="throughput, ceiling: also run the Ozzy cases with the package found in DIR (PYTHONPATH), "
        "e.g. a checkout of an earlier commit; repeatable",
    )
    parser.add_argument("--operator-sizes", default="200000,1000000", help="item counts of the operator part")
    args = parser.parse_args()
    chosen = [part for part in PARTS if getattr(args, part)] or list(PARTS)
    WORK.mkdir(exist_ok=True)
    print(
        f"# machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"load at start {load()}; parts: {', '.join(chosen)}",
        flush=True,
    )
    started = time.perf_counter()
    warm_up(operator="operator" in chosen)
    if "throughput" in chosen:
        throughput(args.n, args.repeat, [str(Path(d).resolve()) for d in args.compare_with])
    if "ceiling" in chosen:
        ceiling(args.n, args.repeat, [str(Path(d).resolve()) for d in args.compare_with])
    if "memory" in chosen:
        memory([1_000_000, 10_000_000] if args.big else [1_000_000])
    if "operator" in chosen:
        operator([int(size) for size in args.operator_sizes.split(",")], args.repeat)
    if "processing" in chosen:
        processing(args.n)
    if "profile" in chosen:
        profile(args.n)
    if "kafka" in chosen:
        kafka(args.repeat)
    if "modules" in chosen:
        modules(args.repeat)
    print(f"\n# done in {time.perf_counter() - started:.0f} s; load at the end {load()}")


if __name__ == "__main__":
    main()
