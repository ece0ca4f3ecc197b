"""What ``ozzy run`` and ``ozzy modules`` show a person at a terminal.

The progress test runs ``ozzy run`` on a real pseudo-terminal of 80 columns (``pty``), so the
output is what a terminal receives: ``\\r`` redraws a line, ``\\n`` starts the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.cli import main
from tests.helpers import OZZY, write_config

COLUMNS = 80
# a log line starts with its time: Ozzy's format, or Airflow's once a module resolved a connection
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")
COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # Airflow's log lines are coloured on a terminal


FS_WRITER = {"name": "FSWriter", "options": {"filebase": "out/items_"}}
# resolving an Airflow connection hands logging to Airflow: its own handlers replace the CLI's
SQL_WRITER = {"name": "OdoWriter", "options": {"sql_conn_id": "ozzy_terminal_db", "table": "items"}}


def _random_export(
    folder: Path, items: int = 5000, persistence: bool = True, writer: dict[str, Any] = FS_WRITER
) -> None:
    config: dict[str, Any] = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": items, "batch_size": 250}},
        "writer": writer,
    }
    if persistence:
        config["persistence"] = {"name": "PicklePersistence", "options": {"file_path": "state"}}
    write_config(folder / "config.json", config)


def _run_on_a_terminal(
    folder: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None, sized: bool = True
) -> tuple[int, str]:
    """``ozzy ARGS`` with a pseudo-terminal as standard output and error (``COLUMNS`` wide, or
    ``sized=False``: a terminal that reports no size, 0 x 0, and no ``COLUMNS``): its exit code
    and every byte it wrote there."""
    controller, terminal = pty.openpty()
    env = dict(os.environ, TERM="xterm", **(env or {}))
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    if sized:
        env.update(COLUMNS=str(COLUMNS), LINES="24")
    process = subprocess.Popen(
        [*OZZY, *args], cwd=folder, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    return code, received.decode()


@pytest.mark.parametrize("writer", ["fs", "sql through an Airflow connection"])
def test_the_progress_bar_fits_an_80_column_terminal_and_log_lines_start_on_their_own(
    tmp_path: Path, writer: str
) -> None:
    env = {}
    if writer == "fs":
        _random_export(tmp_path)
    else:
        _random_export(tmp_path, writer=SQL_WRITER)
        env = {
            "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
            "AIRFLOW_CONN_OZZY_TERMINAL_DB": f"sqlite:///{tmp_path / 'items.db'}",
        }
    code, screen = _run_on_a_terminal(tmp_path, "run", "config.json", env=env)
    assert code == 0, screen[-3000:]
    screen = COLOURS.sub("", screen)
    lines = screen.replace("\r\n", "\n").split("\n")  # the terminal's own \r\n ends a line
    bars = [line for line in lines if line.startswith("\r")]
    assert bars, f"no progress bar drawn:\n{screen[-3000:]}"
    for line in bars:
        for drawn in line.split("\r")[1:]:
            assert len(drawn) < COLUMNS, f"a bar of {len(drawn)} columns wraps: {drawn!r}"
    assert bars[-1].split("\r")[-1].startswith("[" + "#" * 10), bars[-1]  # the finished bar, full
    stats = [line for line in lines if "Export stats" in line]
    assert len(stats) == 1 and LOG_LINE.match(stats[0]), f"stats line glued to the bar: {stats!r}"
    for line in lines:  # every log line starts at the left edge, none follows a bar on its line
        if LOG_LINE.search(line):
            assert LOG_LINE.match(line), f"log line glued to the bar: {line[:160]!r}"
    assert json.loads(next(line for line in lines if line.startswith("{")))["items_written"] == 5000
    if writer != "fs":  # the items are in the table
        with contextlib.closing(sqlite3.connect(tmp_path / "items.db")) as database:
            assert database.execute("SELECT count(*) FROM items").fetchone() == (5000,)


def test_a_terminal_that_reports_no_size_gets_an_80_column_bar(tmp_path: Path) -> None:
    _random_export(tmp_path, items=1000)
    code, screen = _run_on_a_terminal(tmp_path, "run", "config.json", sized=False)
    assert code == 0, screen[-3000:]
    drawn = [each for line in screen.split("\n") for each in line.split("\r")[1:] if each.strip()]
    assert drawn and all(len(each) == 79 and each.startswith("[") for each in drawn), drawn


def test_ozzy_run_says_where_the_job_state_went(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No ``persistence`` section: the state goes to ``.ozzy-state/`` in the current directory, and
    the last line of ``ozzy run`` says so, with the folder's absolute path and how to move it."""
    _random_export(tmp_path, items=100, persistence=False)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "config.json", "--quiet"]) == 0
    captured = capsys.readouterr()
    job_id = json.loads(captured.out.strip().splitlines()[-1])["job_id"]
    assert (tmp_path / ".ozzy-state" / job_id).is_file()
    assert captured.err.strip().splitlines()[-1] == (
        f"ozzy: job state kept at pickle:.ozzy-state/{job_id} (folder {tmp_path / '.ozzy-state'}; "
        "set persistence.options.file_path or OZZY_STATE_DIR to move it)"
    )


def test_every_module_is_listed_with_a_whole_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_ozzy.engine.registry import all_modules

    assert main(["modules", "--json"]) == 0
    listing = {
        f"{entry['kind']}.{entry['name']}": entry["doc"] for entry in json.loads(capsys.readouterr().out)
    }
    assert set(listing) == {f"{kind}.{name}" for kind, name, _ in all_modules()}
    for name, doc in listing.items():
        assert doc, f"{name}: no description"
        assert doc.endswith((".", "!", "?")) and not doc.endswith(("e.g.", "i.e.")), f"{name}: {doc!r}"
        assert doc.count("``") % 2 == 0 and doc.count("(") == doc.count(")"), f"{name} cut: {doc!r}"
    assert main(["modules"]) == 0
    text = capsys.readouterr().out
    assert "readers.S3Reader: Reads the objects of ``bucket`` selected by" in text
    for name, doc in listing.items():
        assert f"{name}: {doc}\n" in text
    # the JSON Schema (`ozzy schema`, editors' tooltips) describes the modules alike
    assert main(["schema"]) == 0
    schema_text = capsys.readouterr().out
    for doc in listing.values():
        assert json.dumps(doc) in schema_text, doc
