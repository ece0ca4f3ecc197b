"""The compatibility suite: exporters' own tests, replayed as configs through the ``ozzy`` CLI.

``run_ozzy`` calls ``airflow_provider_ozzy.cli.main`` in this process (a subprocess per case would
cost about a second each) and returns the exit code, stdout, stderr (with log lines) and the stats.
Every case works in its own temporary folder, the current directory while it runs.
"""

from __future__ import annotations

import gzip
import json
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy import cli
from tests.helpers import decompress, write_config

# exporters' test data (tests/data of scrapinghub/exporters), byte for byte, kept small enough to inline
EXPORTERS_DATA = Path(__file__).parent / "data"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def stats(self) -> dict[str, Any]:
        """The stats JSON ``ozzy run`` prints last on stdout."""
        for line in reversed(self.out.strip().splitlines()):
            if line.startswith("{"):
                loaded: dict[str, Any] = json.loads(line)
                return loaded
        raise AssertionError(f"no stats on stdout (exit {self.code}):\n{self.out}\n{self.err}")

    @property
    def printed_items(self) -> list[dict[str, Any]]:
        """Items ConsoleWriter printed (JSON lines on stdout, the stats line excluded)."""
        lines = [line for line in self.out.splitlines() if line.startswith("{")]
        return [json.loads(line) for line in lines[:-1]]


RunOzzy = Callable[..., Result]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    return tmp_path


@pytest.fixture
def run_ozzy(
    work: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> Iterator[RunOzzy]:
    """``run_ozzy(config)`` runs ``ozzy run`` on a config (dict, written as JSON, or a path);
    ``run_ozzy("validate", path)`` any other command."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    counter = iter(range(10_000))
    caplog.set_level(logging.INFO)

    def run(*args: Any, name: str | None = None) -> Result:
        if len(args) == 1 and not isinstance(args[0], str):
            config = args[0]
            if isinstance(config, dict):
                config = write_config(work / (name or f"config{next(counter)}.json"), config)
            argv = ["run", "--quiet", str(config)]
        else:
            argv = [str(arg) for arg in args]
        capsys.readouterr()
        caplog.clear()
        root = logging.getLogger()
        handlers = list(root.handlers)
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            # a handler added meanwhile (Airflow's logging setup on first import) holds this case's
            # captured stderr, closed once the case ends
            for handler in root.handlers:
                if handler not in handlers:
                    root.removeHandler(handler)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err + caplog.text)

    yield run
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def files_under(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted relative paths (state folders left out)."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith(".ozzy") for part in path.relative_to(folder).parts)
    )


def items_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in decompress(path).decode("utf-8").splitlines() if line.strip()]


def write_jl_gz(path: Path, items: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(b"".join(json.dumps(item).encode() + b"\n" for item in items)))
    return path


def random_reader(number_of_items: int = 10, batch_size: int = 3) -> dict[str, Any]:
    return {
        "name": "exporters.readers.random_reader.RandomReader",
        "options": {"number_of_items": number_of_items, "batch_size": batch_size},
    }


def fs_input(folder: Path, items: list[dict[str, Any]], name: str = "in/data.jl.gz") -> dict[str, Any]:
    """An FSReader over ``items`` written as one gzip JSON lines file."""
    path = write_jl_gz(folder / name, items)
    return {"name": "exporters.readers.fs_reader.FSReader", "options": {"input": str(path)}}


def console() -> dict[str, Any]:
    return {"name": "exporters.writers.console_writer.ConsoleWriter"}


def check_module_output(
    run_ozzy: RunOzzy,
    work: Path,
    section: str,
    module: str,
    options: dict[str, Any],
    items: list[dict[str, Any]],
    expected: list[dict[str, Any]],
) -> Result:
    """Run ``items`` through ``module`` (config ``section``: a filter or transform) to the console.

    exporters' filter and transform tests fed items in and compared what came out.
    """
    result = run_ozzy(
        {"reader": fs_input(work, items), section: {"name": module, "options": options}, "writer": console()}
    )
    assert result.code == 0, result.err
    assert result.printed_items == expected
    assert result.stats["items_written"] == len(expected)
    return result


def bypass_refusals(grouper: str) -> list[tuple[str, dict[str, Any]]]:
    """exporters' ``*BypassConditionsTest`` refusals: (test name, what the config adds) for a filter,
    a grouper (named ``grouper``) and ``items_limit``, each of which keeps a bypass from copying."""
    return [
        (
            "test_custom_filter_should_not_meet_conditions",
            {
                "filter": {
                    "name": "exporters.filters.PythonexpFilter",
                    "options": {"python_expression": "True"},
                }
            },
        ),
        (
            "test_custom_grouper_should_not_meet_conditions",
            {"grouper": {"name": grouper, "options": {"keys": ["name"]}}},
        ),
        ("test_items_limit_should_not_meet_conditions", {"items_limit": 10}),
    ]
