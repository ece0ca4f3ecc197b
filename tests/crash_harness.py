"""Crash-and-resume harness: ``kill -9`` a real ``ozzy`` process at chosen moments, resume, check.

Used by the crash tests of every file-based writer. Nothing inside Ozzy is hooked or mocked: the
harness starts ``ozzy run CONFIG`` as a child process, watches it from the outside until an
interruption point is reached, sends a signal (``SIGKILL`` by default), then runs
``ozzy resume pickle:<state file>`` (or the URI of another persistence, see ``JobStateAccess``),
possibly interrupting that too, until a run exits 0.

Interruption points (``Trigger``) are observed from outside the process:

* ``files``: at least N destination files were written by this attempt (for the local file system:
  files whose mtime is after the attempt started; other writers pass their own ``count_written``);
* ``commits``: the job state file was replaced at least N times by this attempt;
* ``delay``: N seconds after the first commit of this attempt (so process start-up time, which
  varies with the machine's load, does not matter);
* ``exists``: one of some destination files exists (cheap to poll, so the signal lands within about
  a millisecond, e.g. inside the final flush).

Every random choice comes from ``random.Random(seed)``; ``CrashReport.describe()`` names the seed and
the interruption points, so a failure can be replayed.

``check_exact_output`` then compares the destination with the expected items: the same multiset,
each item once, in input order along each group's file sequence (``part_0000``, ``part_0001``, ...),
file numbers contiguous from 0, optionally the exact item count of every file, and no hidden
(partial) files left behind.

For writers to other destinations (S3, SFTP, ...), pass ``count_written`` (how many destination
files were written since a time) and download the destination into a local folder before
``check_exact_output``.
"""

from __future__ import annotations

import collections
import json
import os
import random
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import OZZY

CountWritten = Callable[[int], int]
"""``count_written(since_ns)``: destination files written at or after ``since_ns`` (``time.time_ns``)."""

POLL_SECONDS = 0.001
EXIT_STOPPED = 130  # ozzy's exit status after SIGTERM/SIGINT: stopped after a batch, resumable


# -- interruption points ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Trigger:
    """When to interrupt an attempt: ``kind`` is ``files``, ``commits`` or ``delay``."""

    kind: str
    value: float = 0
    signal: int = signal.SIGKILL
    paths: tuple[str, ...] = ()  # for ``exists``: destination files, relative to the output folder

    def __post_init__(self) -> None:
        if self.kind not in ("files", "commits", "delay", "exists"):
            raise ValueError(f"unknown trigger kind {self.kind!r}")

    def describe(self) -> str:
        name = signal.Signals(self.signal).name
        if self.kind == "delay":
            return f"{name} {self.value:.3f}s after the first commit"
        if self.kind == "exists":
            return f"{name} once any of {list(self.paths)} exists"
        return f"{name} after >= {int(self.value)} {self.kind}"


def random_trigger(
    rng: random.Random, files_left: int, batches_left: int, sig: int = signal.SIGKILL
) -> Trigger:
    """A seeded interruption point well inside a run that still has ``files_left`` files to write
    and ``batches_left`` batches (commits) to go."""
    kind = rng.choice(("files", "files", "commits", "delay"))
    if kind == "files":
        return Trigger("files", rng.randint(1, max(1, int(files_left * 0.9))), sig)
    if kind == "commits":
        # the harness polls, so it sees only part of the commits: stay well inside the run
        return Trigger("commits", rng.randint(1, max(1, int(batches_left * 0.4))), sig)
    return Trigger("delay", round(rng.uniform(0.0, 0.3), 3), sig)


# -- what happened -----------------------------------------------------------------------------------
@dataclass
class Attempt:
    number: int
    command: list[str]
    trigger: Trigger | None
    interrupted: bool  # the signal reached the running process (it died of it, or stopped with 130)
    returncode: int
    seconds: float
    observed: str  # destination files / commits seen by the harness when it sent the signal or the run ended
    log: Path

    def describe(self) -> str:
        verb = "run" if self.command[len(OZZY)] == "run" else "resume"
        if self.trigger is None:
            what = "no interruption"
        elif self.interrupted:
            what = f"interrupted: {self.trigger.describe()}"
        else:
            what = f"finished before {self.trigger.describe()}"
        return (
            f"  attempt {self.number}: ozzy {verb}; {what}; exit {self.returncode}; "
            f"{self.observed}; {self.seconds:.2f}s; log {self.log}"
        )


@dataclass
class CrashReport:
    seed: int | None
    label: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def interruptions(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.interrupted)

    @property
    def finished(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].returncode == 0

    def describe(self) -> str:
        lines = [f"crash scenario {self.label!r} seed={self.seed}: {self.interruptions} interruption(s)"]
        lines.extend(attempt.describe() for attempt in self.attempts)
        return "\n".join(lines)

    def log_tails(self, lines: int = 15) -> str:
        parts = []
        for attempt in self.attempts:
            text = attempt.log.read_text(errors="replace").splitlines() if attempt.log.exists() else []
            parts.append(f"--- attempt {attempt.number} ({attempt.log.name}) ---")
            parts.extend(text[-lines:])
        return "\n".join(parts)


# -- the harness -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobStateAccess:
    """Where the job's state lives when it is not the default pickle file (e.g. a database).

    ``section`` is the config's persistence section, ``uri`` what ``ozzy resume`` takes;
    ``job_exists()`` tells whether ``ozzy run`` already created the job (then the harness
    resumes), ``committed_state()`` returns the last committed state (or ``None``), and
    ``commit_token()`` a value that changes on every commit, read only for ``commits`` and
    ``delay`` triggers.
    """

    section: dict[str, Any]
    uri: str
    job_exists: Callable[[], bool]
    committed_state: Callable[[], dict[str, Any] | None]
    commit_token: Callable[[], Any]


class CrashHarness:
    """Runs one export job in ``workdir`` through crashes and resumes.

    ``config`` is a normal Ozzy config; the harness sets ``exporter_options.persistence_state_id``
    and a ``PicklePersistence`` under ``workdir/state_dir`` so the state file is known (``state``
    replaces it with another persistence, e.g. a database). Relative paths
    in the config are relative to ``workdir`` (the child's working directory).
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        config: dict[str, Any],
        *,
        state_id: str = "job1",
        state_dir: str = "state",
        output_dir: str = "out",
        env: dict[str, str] | None = None,
        timeout: float = 120.0,
        count_written: CountWritten | None = None,
        state: JobStateAccess | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state_id = state_id
        self.state_dir = state_dir
        self.output = self.workdir / output_dir
        self.timeout = timeout
        self.env = dict(os.environ, **(env or {}))
        self.count_written: CountWritten = count_written or FilesSince(self.output)
        config = json.loads(json.dumps(config))
        config.setdefault("exporter_options", {})["persistence_state_id"] = state_id
        self.state = state
        if state is None:
            config["persistence"] = {"name": "PicklePersistence", "options": {"file_path": state_dir}}
        else:
            config["persistence"] = state.section
        self.config = config
        self.config_path = self.workdir / "config.json"
        self.config_path.write_text(json.dumps(config, indent=2))
        self.logs = self.workdir / "logs"
        self.logs.mkdir(exist_ok=True)
        self._attempts = 0

    @property
    def state_path(self) -> Path:
        return self.workdir / self.state_dir / self.state_id

    @property
    def uri(self) -> str:
        if self.state is not None:
            return self.state.uri
        return f"pickle:{self.state_dir}/{self.state_id}"

    def committed_state(self) -> dict[str, Any] | None:
        """The last committed state (what ``ozzy resume`` will start from), or ``None``."""
        if self.state is not None:
            return self.state.committed_state()
        try:
            with open(self.state_path, "rb") as handle:
                return json.load(handle).get("state")
        except FileNotFoundError:
            return None

    def job_exists(self) -> bool:
        return self.state.job_exists() if self.state is not None else self.state_path.exists()

    def commit_token(self) -> Any:
        """A value that changes on every commit."""
        return self.state.commit_token() if self.state is not None else _stat_key(self.state_path)

    def command(self) -> list[str]:
        """``ozzy run`` while the job does not exist, ``ozzy resume`` afterwards."""
        if self.job_exists():
            return [*OZZY, "resume", self.uri, "--quiet"]
        return [*OZZY, "run", str(self.config_path.name), "--quiet"]

    def attempt(self, trigger: Trigger | None) -> Attempt:
        """Run or resume once; interrupt with ``trigger.signal`` when ``trigger`` is reached."""
        self._attempts += 1
        command = self.command()
        log_path = self.logs / f"attempt-{self._attempts}.log"
        started_ns = time.time_ns()
        started = time.monotonic()
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
            try:
                sent, observed = self._watch(process, trigger, started_ns, started)
                returncode = process.wait(timeout=self.timeout)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        # a signal sent to a process that had already exited (not yet reaped) interrupts nothing
        interrupted = sent and trigger is not None and returncode in (-trigger.signal, EXIT_STOPPED)
        if not interrupted:
            observed = f"{self.count_written(started_ns)} files written"
        return Attempt(
            self._attempts,
            command,
            trigger,
            interrupted,
            returncode,
            time.monotonic() - started,
            observed,
            log_path,
        )

    def _watch(
        self, process: subprocess.Popen[bytes], trigger: Trigger | None, started_ns: int, started: float
    ) -> tuple[bool, str]:
        if trigger is None:
            return False, ""
        commits = 0
        first_commit = 0.0
        # polling a database for commits costs queries (and SQLite locks): only when the trigger needs it
        watch_commits = self.state is None or trigger.kind in ("commits", "delay")
        last_stat = self.commit_token() if watch_commits else None
        deadline = started + self.timeout
        while process.poll() is None:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"ozzy did not reach {trigger.describe()} within {self.timeout}s")
            stat = self.commit_token() if watch_commits else None
            if stat is not None and stat != last_stat:
                commits += 1
                last_stat = stat
                first_commit = first_commit or now
            if trigger.kind == "commits":
                reached = commits >= trigger.value
            elif trigger.kind == "files":
                reached = self.count_written(started_ns) >= trigger.value
            elif trigger.kind == "exists":
                reached = any(os.path.exists(self.output / path) for path in trigger.paths)
            else:
                reached = bool(first_commit) and now - first_commit >= trigger.value
            if reached:
                try:
                    os.kill(process.pid, trigger.signal)
                except ProcessLookupError:  # exited between poll() and kill()
                    return False, ""
                files = self.count_written(started_ns)
                return True, f"{files} files written, {commits} commits seen"
            time.sleep(POLL_SECONDS)
        return False, ""

    def files_left(self, total_files: int) -> int:
        """Destination files a resume still has to write, judged from the committed state."""
        state = self.committed_state() or {}
        return total_files - int(state.get("writer", {}).get("files_written", 0))

    def batches_left(self, total_batches: int) -> int:
        """Batches a resume still has to read, judged from the committed state."""
        state = self.committed_state() or {}
        return total_batches - int(state.get("batch", 0))

    def run(
        self,
        triggers: Iterable[Trigger] | Callable[[int], Trigger | None],
        *,
        seed: int | None = None,
        label: str = "",
    ) -> CrashReport:
        """Interrupt the job at each trigger in turn, then resume without interruption until exit 0.

        ``triggers`` is a list, or a function of the attempt index returning the next trigger (or
        ``None`` to stop interrupting). An attempt that exits 0 before its trigger ends the job; any
        other exit status that was not caused by the harness is a failure (``CrashHarnessError``).
        """
        if callable(triggers):
            plan = triggers
        else:
            fixed = list(triggers)

            def plan(index: int) -> Trigger | None:
                return fixed[index] if index < len(fixed) else None

        report = CrashReport(seed, label)
        index = 0
        while (trigger := plan(index)) is not None:
            attempt = self.attempt(trigger)
            report.attempts.append(attempt)
            index += 1
            if not attempt.interrupted:
                if attempt.returncode == 0:
                    return report
                raise CrashHarnessError(
                    report, f"attempt {attempt.number} failed with exit {attempt.returncode}"
                )
        attempt = self.attempt(None)
        report.attempts.append(attempt)
        if attempt.returncode != 0:
            raise CrashHarnessError(report, f"attempt {attempt.number} failed with exit {attempt.returncode}")
        return report

    def random_plan(
        self,
        rng: random.Random,
        total_files: int,
        total_batches: int,
        interruptions: int,
        sig: int = signal.SIGKILL,
    ) -> Callable[[int], Trigger | None]:
        """``interruptions`` seeded random interruption points, each inside what is left of the job.

        ``total_files`` and ``total_batches`` describe an uninterrupted run; what is left is judged
        from the committed state before each attempt.
        """

        def plan(index: int) -> Trigger | None:
            if index >= interruptions:
                return None
            return random_trigger(rng, self.files_left(total_files), self.batches_left(total_batches), sig)

        return plan


class CrashHarnessError(AssertionError):
    def __init__(self, report: CrashReport, message: str) -> None:
        super().__init__(f"{message}\n{report.describe()}\n{report.log_tails()}")
        self.report = report


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


class FilesSince:
    """``count_written`` for a local folder: visible files modified at or after ``since_ns``.

    The harness asks every millisecond, so each file is looked at once, by name and inode (a file
    replaced by a rename is looked at again): a poll costs a directory listing, not a ``stat`` of
    every file written so far, which cost the test process more CPU than the ``ozzy`` run it watched.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.fspath(folder)
        self._since: int | None = None
        self._new: dict[tuple[str, int], bool] = {}

    def __call__(self, since_ns: int) -> int:
        if since_ns != self._since:
            self._since, self._new = since_ns, {}
        count = 0
        for entry in _visible_entries(self.folder):
            key = (entry.path, entry.inode())
            new = self._new.get(key)
            if new is None:
                try:
                    new = self._new[key] = entry.stat().st_mtime_ns >= since_ns
                except FileNotFoundError:
                    continue
            count += new
        return count


def _visible_entries(folder: str) -> Iterator[os.DirEntry[str]]:
    """Files under ``folder``, skipping hidden files and folders."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _visible_entries(entry.path)
            elif entry.is_file():
                yield entry
        except FileNotFoundError:
            continue


# -- checking the destination -------------------------------------------------------------------------
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\.[^/]+)$")


def file_sequences(folder: str | os.PathLike[str]) -> tuple[dict[str, list[tuple[int, str]]], list[str]]:
    """Visible files grouped by sequence (name without its number), sorted by number; and hidden files.

    ``es/part_0003.jl.gz`` is file 3 of the sequence ``es/part_.jl.gz``. Names without a number are
    sequences of their own with number -1.
    """
    sequences: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    hidden = []
    for root, _, files in os.walk(folder):
        for name in files:
            relative = os.path.relpath(os.path.join(root, name), folder)
            if any(part.startswith(".") for part in Path(relative).parts):
                hidden.append(relative)
                continue
            match = _NUMBERED.match(relative)
            if match:
                key = match["prefix"] + match["suffix"]
                sequences[key].append((int(match["number"]), relative))
            else:
                sequences[relative].append((-1, relative))
    for files in sequences.values():
        files.sort()
    return dict(sequences), sorted(hidden)


def check_exact_output(
    folder: str | os.PathLike[str],
    expected: dict[str, list[Any]],
    parse: Callable[[Path], list[Any]],
    *,
    items_per_file: int | None = None,
    layout: dict[str, list[int]] | None = None,
    extra_files: Iterable[str] = (),
) -> list[str]:
    """Every way the destination differs from ``expected``; an empty list when it is exact.

    ``expected`` maps each file sequence (see ``file_sequences``) to the item identities it must
    hold, in order; ``parse`` returns the item identities of one output file. ``items_per_file``:
    every file of a sequence but the last holds exactly that many items; ``layout``: the exact item
    count of every file of each sequence (file boundaries are deterministic, so a resumed run must
    cut files where an uninterrupted run does). ``extra_files`` are other files that must be there
    (such as ``md5checksum.md5``), checked by the caller.
    """
    folder = Path(folder)
    problems: list[str] = []
    sequences, hidden = file_sequences(folder)
    for name in extra_files:
        if sequences.pop(name, None) is None:
            problems.append(f"{name} is missing")
    if hidden:
        problems.append(f"hidden/partial files left at the destination: {hidden[:10]}")
    unexpected = sorted(set(sequences) - set(expected))
    if unexpected:
        problems.append(f"unexpected file sequences: {unexpected[:10]}")
    missing = sorted(key for key, items in expected.items() if items and key not in sequences)
    if missing:
        problems.append(f"missing file sequences: {missing[:10]}")
    found_all: collections.Counter[Any] = collections.Counter()
    for key in sorted(set(sequences) & set(expected)):
        files = sequences[key]
        numbers = [number for number, _ in files]
        if numbers != list(range(len(numbers))):
            problems.append(f"{key}: file numbers are not 0..{len(numbers) - 1}: {numbers[:20]}")
        found: list[Any] = []
        sizes = []
        for _, relative in files:
            items = parse(folder / relative)
            sizes.append(len(items))
            found.extend(items)
        if items_per_file is not None and (
            any(size != items_per_file for size in sizes[:-1]) or not 0 < sizes[-1] <= items_per_file
        ):
            problems.append(f"{key}: expected {items_per_file} items in every file but the last: {sizes}")
        if layout is not None and key in layout and sizes != layout[key]:
            problems.append(f"{key}: files hold {sizes} items, an uninterrupted run writes {layout[key]}")
        found_all.update(found)
        wanted = expected[key]
        if found != wanted:
            problems.append(f"{key}: {_difference(found, wanted)}")
    wanted_all = collections.Counter(item for items in expected.values() for item in items)
    if found_all != wanted_all and not problems:
        problems.append("item multiset differs from the input")
    duplicates = {item: count for item, count in found_all.items() if count > 1}
    if duplicates:
        sample = dict(list(sorted(duplicates.items()))[:10])
        problems.append(f"{len(duplicates)} item(s) written more than once, e.g. {sample}")
    lost = wanted_all - found_all
    if lost:
        problems.append(f"{sum(lost.values())} item(s) missing, e.g. {sorted(lost)[:10]}")
    return problems


def _difference(found: list[Any], wanted: list[Any]) -> str:
    """A short description of how two item sequences differ."""
    first = next(
        (index for index, (a, b) in enumerate(zip(found, wanted, strict=False)) if a != b),
        min(len(found), len(wanted)),
    )
    return (
        f"{len(found)} items found, {len(wanted)} expected; first difference at position {first}: "
        f"found {found[first : first + 5]}, expected {wanted[first : first + 5]}"
    )
