"""SPEC §3: ``kill -9`` the real ``ozzy`` process at random moments, resume, get exactly the input.

Every scenario reads several gzip JSON-lines files with ``FSReader`` and writes with ``FSWriter``;
small batches (50) and small files (120 items, not a multiple of the batch size) make files finish
in the middle of batches, so kills land between a file reaching the destination and the next
commit, inside batches, and inside commits. The harness (``tests/crash_harness.py``) chooses the
interruption points from outside the process with ``random.Random(seed)``; a failure prints the
seed, the points and the logs.

The default run kills at 16 seeded points across 13 jobs (three crash twice: the resume is killed
too), kills twice between the final flush and the final commit, and stops twice with SIGTERM/SIGINT.
``test_crash_stress_20_random_points`` (marked ``slow``; run with ``-m slow``) kills 20 more jobs.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import os
import random
import shutil
import signal
import uuid
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.crash_harness import CrashHarness, CrashReport, Trigger, check_exact_output
from tests.helpers import (
    STRESS_POINTS,
    STRESS_SEED,
    decompress,
    final_stats,
    output_files,
    read_json_lines,
    run_stress_points,
    seeded_item,
    skip_unless_slow_requested,
    write_input_files,
)

INPUT_FILES = 5
ITEMS_PER_INPUT_FILE = 8000
TOTAL_ITEMS = INPUT_FILES * ITEMS_PER_INPUT_FILE
COUNTRIES = ["es", "uk", "us", "fr"]
KINDS = ["alpha", "beta", "gamma"]
RARE_EVERY = 500  # one item in 500 goes to the group "rare"
CSV_FIELDS = ["id", "country", "name", "value"]
MD5_FILE = "md5checksum.md5"


def _item_fields(number: int, rng: random.Random) -> dict[str, Any]:
    return {
        "kind": "rare" if number % RARE_EVERY == 137 else rng.choice(KINDS),
        "name": f"item {number} " + "x" * rng.randint(0, 40),
        "value": round(rng.random() * 1000, 3),
        "nested": {"n": number, "tags": ["t"] * rng.randint(0, 3)},
    }


def make_item(number: int) -> dict[str, Any]:
    return seeded_item(number, COUNTRIES, _item_fields)


@dataclass(frozen=True)
class Scenario:
    name: str
    formatter: dict[str, Any] = field(default_factory=lambda: {"name": "JsonExportFormatter"})
    compression: str = "gz"
    group_key: str | None = None
    items_per_file: int = 120
    size_per_file: int = 0  # size_per_buffer_write (formatted bytes), JSON lines only
    batch_size: int = 50
    items_limit: int = 0
    buffers_elsewhere: bool = False  # buffer files on another file system: FSWriter copies, then renames
    generate_md5: bool = False

    @property
    def extension(self) -> str:
        name = self.formatter["name"]
        ext = {"JsonExportFormatter": "jl", "CSVExportFormatter": "csv", "XMLExportFormatter": "xml"}[name]
        return f".{ext}" + ("" if self.compression == "none" else f".{self.compression}")

    def config(self, input_dir: Path) -> dict[str, Any]:
        writer: dict[str, Any] = {
            "filebase": "out/{groups[0]}/part_" if self.group_key else "out/part_",
            "items_per_buffer_write": self.items_per_file,
            "compression": self.compression,
        }
        if self.size_per_file:
            writer["size_per_buffer_write"] = self.size_per_file
        if self.items_limit:
            writer["items_limit"] = self.items_limit
        if self.generate_md5:
            writer["generate_md5"] = True
        config: dict[str, Any] = {
            "reader": {
                "name": "FSReader",
                "options": {"input": {"dir": str(input_dir)}, "batch_size": self.batch_size},
            },
            "writer": {"name": "FSWriter", "options": writer},
            "exporter_options": {"formatter": self.formatter},
        }
        if self.group_key:
            config["grouper"] = {"name": "FileKeyGrouper", "options": {"keys": [self.group_key]}}
        return config

    def expected(self, items: list[dict[str, Any]]) -> dict[str, list[int]]:
        """File sequence -> ids it must hold, in order."""
        if self.items_limit:
            items = items[: self.items_limit]
        sequences: dict[str, list[int]] = {}
        for item in items:
            prefix = f"{item[self.group_key]}/part_" if self.group_key else "part_"
            sequences.setdefault(prefix + self.extension, []).append(item["id"])
        return sequences

    def layout(self, items: list[dict[str, Any]]) -> dict[str, list[int]]:
        """File sequence -> number of items in each of its files, as an uninterrupted run writes them."""
        by_id = {item["id"]: item for item in items}
        layout: dict[str, list[int]] = {}
        for sequence, ids in self.expected(items).items():
            counts = layout.setdefault(sequence, [])
            count = size = 0
            for item_id in ids:
                if self.size_per_file:
                    size += len(orjson.dumps(by_id[item_id])) + (1 if count else 0)
                count += 1
                if count >= self.items_per_file or (self.size_per_file and size >= self.size_per_file):
                    counts.append(count)
                    count = size = 0
            if count:
                counts.append(count)
        return layout

    def total_files(self, items: list[dict[str, Any]]) -> int:
        return sum(len(counts) for counts in self.layout(items).values())

    def total_batches(self) -> int:
        return -(-(self.items_limit or TOTAL_ITEMS) // self.batch_size)

    def parse(self, path: Path) -> list[int]:
        if self.compression == "zip":
            with zipfile.ZipFile(path) as archive:  # one member, named as the file without ".zip"
                members = archive.namelist()
            assert members == [path.name.removesuffix(".zip")], f"{path}: zip members {members}"
        name = self.formatter["name"]
        if name == "JsonExportFormatter":
            return [item["id"] for item in read_json_lines(path)]
        text = decompress(path).decode("utf-8")
        if name == "CSVExportFormatter":
            rows = list(csv.reader(io.StringIO(text)))
            assert rows and rows[0] == CSV_FIELDS, f"{path}: bad CSV title row {rows[:1]}"
            return [int(row[0]) for row in rows[1:]]
        return [int(element.findtext("id") or "") for element in ElementTree.fromstring(text).findall("item")]


JSON_GZ = Scenario("json-gz")
GROUPED = Scenario("grouped-country", group_key="country")
LIMITED = Scenario("grouped-items-limit", group_key="country", items_limit=23_456)
PLAIN_LIMITED = Scenario("items-limit", items_limit=17_777)
CSV_NONE = Scenario(
    "csv-none",
    formatter={"name": "CSVExportFormatter", "options": {"fields": CSV_FIELDS}},
    compression="none",
)
JSON_MD5 = Scenario("json-gz-md5", generate_md5=True)
GROUPED_MD5 = Scenario("grouped-md5", group_key="country", generate_md5=True)
XML_ZSTD = Scenario("xml-zstd", formatter={"name": "XMLExportFormatter"}, compression="zstd")
# the group "rare" gets 1 item in 500: its file stays open for most of the run, holding the
# watermark back, while the other groups finish files every few batches
RARE_GROUP = Scenario("rare-group", group_key="kind", items_per_file=35)
CROSS_FS = Scenario("buffers-on-other-fs", group_key="country", buffers_elsewhere=True)
GROUPED_ZIP = Scenario("grouped-zip", group_key="country", compression="zip")
GROUPED_BZ2 = Scenario("grouped-bz2", group_key="country", compression="bz2")
# batches of 1000: every group fills two files within one batch and opens a third
BIG_BATCHES = Scenario("grouped-big-batches", group_key="country", batch_size=1000)
# files end on formatted bytes (about 70 items), not on an item count
SIZE_LIMITED = Scenario("size-limited", items_per_file=100_000, size_per_file=9_000)

SCENARIOS = [
    JSON_GZ,
    GROUPED,
    LIMITED,
    PLAIN_LIMITED,
    CSV_NONE,
    XML_ZSTD,
    RARE_GROUP,
    CROSS_FS,
    JSON_MD5,
    GROUPED_MD5,
    BIG_BATCHES,
    SIZE_LIMITED,
    GROUPED_ZIP,
    GROUPED_BZ2,
]


@pytest.fixture(scope="module")
def crash_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("crash-input")
    items = [make_item(number) for number in range(TOTAL_ITEMS)]
    return write_input_files(folder, items, INPUT_FILES, "part-{:02d}.jl.gz"), items


@pytest.fixture
def buffer_env(tmp_path: Path) -> Iterator[Callable[[Scenario], dict[str, str]]]:
    """TMPDIR of the child: buffer files of killed runs stay inside the test's folders."""
    made: list[Path] = []

    def env_for(scenario: Scenario) -> dict[str, str]:
        if scenario.buffers_elsewhere and os.path.isdir("/dev/shm"):
            folder = Path("/dev/shm") / f"ozzy-crash-{uuid.uuid4().hex}"
        else:
            folder = tmp_path / "buffers"
        folder.mkdir(parents=True, exist_ok=True)
        made.append(folder)
        return {"TMPDIR": str(folder)}

    yield env_for
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


def check_job(
    harness: CrashHarness, scenario: Scenario, items: list[dict[str, Any]], report: CrashReport
) -> None:
    """The destination holds exactly the input (and a correct md5 list), and the job is finished."""
    context = f"\n{report.describe()}\n{report.log_tails()}"
    problems = check_exact_output(
        harness.output,
        scenario.expected(items),
        scenario.parse,
        layout=scenario.layout(items),
        extra_files=[MD5_FILE] if scenario.generate_md5 else [],
    )
    if scenario.generate_md5 and not problems:
        problems = md5_problems(harness.output)
    assert not problems, "destination is not exactly the input:\n  " + "\n  ".join(problems) + context
    state = harness.committed_state()
    assert state and state.get("finished"), "the job state is not marked finished" + context
    stats = final_stats(report)
    written = sum(len(ids) for ids in scenario.expected(items).values())
    assert (stats["items_written"], stats["files_written"]) == (written, scenario.total_files(items)), (
        f"the final stats count {stats['items_written']} items in {stats['files_written']} files, "
        f"the destination holds {written} in {scenario.total_files(items)}" + context
    )


def md5_problems(output: Path) -> list[str]:
    """``md5checksum.md5`` lists every data file once, with its md5."""
    listed: collections.Counter[str] = collections.Counter()
    problems = []
    for line in (output / MD5_FILE).read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] += 1
        path = output.parent / name  # names are relative to the job's working directory
        if not path.exists():
            problems.append(f"{MD5_FILE} lists {name}, which does not exist")
        elif hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() != digest:
            problems.append(f"{MD5_FILE}: wrong md5 for {name}")
    files = {f"{output.name}/{name}" for name in output_files(output) if name != MD5_FILE}
    twice = sorted(name for name, count in listed.items() if count > 1)
    if twice:
        problems.append(f"{MD5_FILE} lists {len(twice)} file(s) more than once, e.g. {twice[:5]}")
    unlisted = sorted(files - set(listed))
    if unlisted:
        problems.append(f"{MD5_FILE} misses {len(unlisted)} file(s), e.g. {unlisted[:5]}")
    return problems


def run_crash_scenario(
    scenario: Scenario,
    seed: int,
    interruptions: int,
    workdir: Path,
    crash_input: tuple[Path, list[dict[str, Any]]],
    env: dict[str, str],
) -> CrashReport:
    """Crash the export ``interruptions`` times at seeded points, resume to the end, check exactness."""
    input_dir, items = crash_input
    harness = CrashHarness(workdir, scenario.config(input_dir), env=env)
    rng = random.Random(seed)
    total = scenario.total_files(items)
    plan = harness.random_plan(rng, total, scenario.total_batches(), interruptions)
    report = harness.run(plan, seed=seed, label=scenario.name)
    assert report.interruptions >= 1, (
        "no interruption landed inside the run: the test proved nothing\n" + report.describe()
    )
    check_job(harness, scenario, items, report)
    print(report.describe())
    return report


# (scenario, seed, interruptions): 16 interruption points in all, three of them on a resume
DEFAULT_POINTS = [
    (JSON_GZ, 1, 1),
    (JSON_GZ, 2, 2),
    (GROUPED, 3, 1),
    (GROUPED, 4, 2),
    (LIMITED, 5, 1),
    (CSV_NONE, 6, 1),
    (XML_ZSTD, 7, 1),
    (RARE_GROUP, 8, 2),
    (CROSS_FS, 9, 1),
    (JSON_MD5, 10, 1),
    (BIG_BATCHES, 11, 1),
    (SIZE_LIMITED, 12, 1),
    (GROUPED_ZIP, 13, 1),
]


@pytest.mark.parametrize(
    ("scenario", "seed", "interruptions"),
    DEFAULT_POINTS,
    ids=[f"{scenario.name}-seed{seed}-x{count}" for scenario, seed, count in DEFAULT_POINTS],
)
def test_kill_9_then_resume_gives_exact_output(
    scenario: Scenario,
    seed: int,
    interruptions: int,
    tmp_path: Path,
    crash_input: tuple[Path, list[dict[str, Any]]],
    buffer_env: Callable[[Scenario], dict[str, str]],
) -> None:
    run_crash_scenario(scenario, seed, interruptions, tmp_path / "job", crash_input, buffer_env(scenario))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_graceful_stop_exits_130_and_resume_gives_exact_output(
    sig: int,
    tmp_path: Path,
    crash_input: tuple[Path, list[dict[str, Any]]],
    buffer_env: Callable[[Scenario], dict[str, str]],
) -> None:
    """SIGTERM/SIGINT: stop after the current batch, commit, clean up, exit 130; the resume finishes."""
    input_dir, items = crash_input
    scenario = GROUPED
    env = buffer_env(scenario)
    harness = CrashHarness(tmp_path / "job", scenario.config(input_dir), env=env)
    total = scenario.total_files(items)
    stopped = harness.attempt(Trigger("files", total // 3, sig))
    report = CrashReport(None, signal.Signals(sig).name, [stopped])
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert stopped.interrupted, "the run ended before the signal was sent" + context
    assert stopped.returncode == 130, context
    log = stopped.log.read_text()
    assert "Stop requested" in log and harness.uri in log, context
    state = harness.committed_state()
    assert state and not state.get("finished"), context
    assert 0 < state["writer"]["files_written"] < total, context
    leftovers = list(Path(env["TMPDIR"]).glob("ozzy-buffers-*"))
    assert not leftovers, f"a stopped run left its buffer files: {leftovers}" + context
    resumed = harness.attempt(None)
    report.attempts.append(resumed)
    assert resumed.returncode == 0, f"\n{report.describe()}\n{report.log_tails()}"
    check_job(harness, scenario, items, report)


@pytest.mark.parametrize("scenario", [GROUPED, GROUPED_MD5], ids=lambda scenario: scenario.name)
def test_kill_9_during_the_final_flush_then_resume(
    scenario: Scenario,
    tmp_path: Path,
    crash_input: tuple[Path, list[dict[str, Any]]],
    buffer_env: Callable[[Scenario], dict[str, str]],
) -> None:
    """Kill between the final flush and the final commit, then resume.

    The last file of every group (none holds a multiple of 120 items) is written by the final
    flush, one group after the other: killing once the first of them appears lands before the
    final commit. The resume must rewrite those files under the same names, not add new ones, and
    a second resume of the finished job must change nothing.
    """
    input_dir, items = crash_input
    layout = scenario.layout(items)
    assert all(counts[-1] < scenario.items_per_file for counts in layout.values())
    last_files = tuple(
        sequence.replace("part_", f"part_{len(counts) - 1:04d}") for sequence, counts in layout.items()
    )
    trigger = Trigger("exists", paths=last_files)
    tries = []
    for placement in range(3):
        harness = CrashHarness(
            tmp_path / f"job-{placement}", scenario.config(input_dir), env=buffer_env(scenario)
        )
        killed = harness.attempt(trigger)
        state = harness.committed_state()
        tries.append(killed.describe())
        if killed.interrupted and state and not state.get("finished"):
            break
    else:
        pytest.fail("3 kills in a row missed the window before the final commit:\n" + "\n".join(tries))
    report = CrashReport(None, f"{scenario.name}-final-flush", [killed])
    resumed = harness.attempt(None)
    report.attempts.append(resumed)
    assert resumed.returncode == 0, f"\n{report.describe()}\n{report.log_tails()}"
    check_job(harness, scenario, items, report)
    before = {name: (harness.output / name).read_bytes() for name in output_files(harness.output)}
    again = harness.attempt(None)
    report.attempts.append(again)
    assert again.returncode == 0, f"\n{report.describe()}\n{report.log_tails()}"
    assert "already finished" in again.log.read_text(), report.log_tails()
    after = {name: (harness.output / name).read_bytes() for name in output_files(harness.output)}
    assert after == before, "resuming a finished job changed the destination"
    print(report.describe())


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_crash_stress_20_random_points(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    crash_input: tuple[Path, list[dict[str, Any]]],
    buffer_env: Callable[[Scenario], dict[str, str]],
) -> None:
    """20 random ``kill -9`` points, each its own job, over every scenario; every one must be exact.

    ``OZZY_CRASH_SEED`` and ``OZZY_CRASH_POINTS`` change the master seed and the number of jobs.
    """
    skip_unless_slow_requested(request.config)

    def scenario_at(point: int) -> Scenario:
        return SCENARIOS[point % len(SCENARIOS)]

    def run_point(point: int, seed: int) -> CrashReport:
        scenario = scenario_at(point)
        interruptions = 2 if point % 4 == 3 else 1
        return run_crash_scenario(
            scenario, seed, interruptions, tmp_path / f"job-{point}", crash_input, buffer_env(scenario)
        )

    failures, landed = run_stress_points(run_point, name=lambda point: scenario_at(point).name)
    print(
        f"stress (OZZY_CRASH_SEED={STRESS_SEED}): {STRESS_POINTS - len(failures)}/{STRESS_POINTS} jobs exact, "
        f"{landed} interruptions landed"
    )
    assert not failures, "\n\n".join(failures)
