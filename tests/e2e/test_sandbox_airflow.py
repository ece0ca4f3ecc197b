"""Sandboxed expressions in a real Airflow task process (``tests/e2e/dags/ozzy_sandbox.py``).

``airflow dags test --use-executor`` with the supervised executor (see ``test_operator_runtime``),
so ``task_runner`` wires SIGTERM to ``on_kill()`` in a task process of its own, started with a
``PYTHONHASHSEED`` other than the CLI run's:

* a PythonExpGrouper over ``'-'.join(set(item['tags']))`` writes byte for byte what ``ozzy run``
  writes under another seed;
* SIGTERM twice while a filter expression loops in C: the try ends within seconds (before: the
  handler never ran, the task hung until killed).
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from tests.e2e.conftest import start_supervised_dags_test
from tests.helpers import output_files, run_ozzy, write_config, write_json_lines_gz


def _items() -> list[dict[str, object]]:
    rng = random.Random(11)
    words = [f"w{number}" for number in range(12)]
    return [{"id": number, "tags": rng.sample(words, 4)} for number in range(400)]


def _tree(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in output_files(folder)}


def test_grouping_matches_the_cli_and_a_second_sigterm_stops_mid_expression(
    airflow_db: str, tmp_path: Path
) -> None:
    source = write_json_lines_gz(tmp_path / "in.jl.gz", _items())
    cli = tmp_path / "cli"
    cli.mkdir()
    write_config(
        cli / "config.json",
        {
            "reader": {"name": "FSReader", "options": {"input": str(source), "batch_size": 50}},
            "grouper": {
                "name": "PythonExpGrouper",
                "options": {"python_expressions": ["'-'.join(set(item['tags']))"]},
            },
            "writer": {"name": "FSWriter", "options": {"filebase": "out/{groups[0]}/part_"}},
        },
    )
    result = run_ozzy("run", "config.json", "--quiet", cwd=cli, env={"PYTHONHASHSEED": "1"})
    assert result.returncode == 0, result.stderr[-3000:]

    output, evidence, log = tmp_path / "out", tmp_path / "evidence", tmp_path / "dags-test.log"
    output.mkdir()
    evidence.mkdir()
    process = start_supervised_dags_test(
        "ozzy_e2e_sandbox",
        log,
        PYTHONHASHSEED="2",
        OZZY_E2E_SANDBOX_INPUT=str(source),
        OZZY_E2E_SANDBOX_OUTPUT=str(output),
        OZZY_E2E_SANDBOX_EVIDENCE=str(evidence),
    )
    pid_file = evidence / "hang.pid"
    try:
        deadline = time.monotonic() + 180
        while not pid_file.exists():
            assert process.poll() is None, log.read_text()[-6000:]
            assert time.monotonic() < deadline, "task 'hang' never started:\n" + log.read_text()[-6000:]
            time.sleep(0.1)
        # batches 0-4 pass (a file of 10 items each), then batch 5 loops in C: poll for the 5 files
        # instead of sleeping a fixed 4 s (too long on an idle machine, maybe too short on a busy one)
        while len(output_files(output / "hang")) < 5:
            assert process.poll() is None, log.read_text()[-6000:]
            assert time.monotonic() < deadline, "task 'hang' wrote no 5 files:\n" + log.read_text()[-6000:]
            time.sleep(0.05)
        time.sleep(0.5)  # batch 5 read and inside the expression
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        time.sleep(1)
        signalled = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z":
            assert time.monotonic() < deadline, "the task process ignored the second SIGTERM"
            time.sleep(0.1)
        assert time.monotonic() - signalled < 20
        process.wait(timeout=120)
    finally:
        if pid_file.exists() and Path(f"/proc/{int(pid_file.read_text())}").exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)  # never leave a task spinning in C
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert "stopped at once on a second SIGTERM" in text, text[-6000:]
    assert _tree(output / "grouped") == _tree(cli / "out")
