"""Sandboxed Python is bounded, stoppable, side-effect free and deterministic: real ``ozzy`` processes.

Every case runs ``ozzy run``/``ozzy validate``/``ozzy resume`` as a child process on real files:

* bombs (C loops that never return to the bytecode loop, catastrophic regular expressions, huge
  factorials and fractions, memory bombs) stop at the module's ``time_budget_seconds`` or
  ``memory_budget_mib`` with a one-line error naming the module, the option and the expression;
* a second SIGINT/SIGTERM stops ``ozzy`` at once (exit 130) even in the middle of such an
  expression, keeping what was committed;
* ``ozzy validate`` and DAG parsing never run ReduceWriter's top-level code;
* module functions with side effects (``calendar.prcal``, ``calendar.setfirstweekday``,
  ``re.DEBUG``) and reserved names (``imports: {ozzy_pow: math}``) are refused;
* a grouper iterating a set of strings gives the same output whatever the ``ozzy`` process's
  ``PYTHONHASHSEED``, also across a ``kill -9`` and a resume under another seed.

Hangs are bounded by the subprocess timeouts (and pytest-timeout).
"""

from __future__ import annotations

import json
import os
import pickle
import random
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.crash_harness import CrashHarness, Trigger
from tests.helpers import OZZY, output_files, run_ozzy, write_config, write_json_lines_gz

ITEMS = [{"id": number, "tags": [f"t{number % 7}", f"u{number % 5}", "v"]} for number in range(100)]
TIME_BUDGET = 3
MEMORY_BUDGET = 256
# the longest a bounded bomb may take, start-up of two interpreters included (a loaded machine)
BOUNDED = 45


def _config(tmp_path: Path, batch_size: int = 10, **sections: Any) -> Path:
    write_json_lines_gz(tmp_path / "in/items.jl.gz", ITEMS)
    config = {
        "reader": {"name": "FSReader", "options": {"input": "in/items.jl.gz", "batch_size": batch_size}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_"}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
        "exporter_options": {"persistence_state_id": "job"},
        **sections,
    }
    return write_config(tmp_path / "config.json", config)


def _budgets(**options: Any) -> dict[str, Any]:
    return {"time_budget_seconds": TIME_BUDGET, "memory_budget_mib": MEMORY_BUDGET, **options}


def _committed(workdir: Path, job: str = "job") -> dict[str, Any] | None:
    """The job's committed state (a JSON state file; a pickle in older Ozzy versions)."""
    try:
        data = (workdir / "state" / job).read_bytes()
        record = pickle.loads(data) if data[:1] == b"\x80" else json.loads(data)  # noqa: S301 - ours
    except (FileNotFoundError, ValueError, EOFError, pickle.UnpicklingError):
        return None
    state: dict[str, Any] | None = record.get("state")
    return state


# -- 1. bombs stop at the budget -------------------------------------------------------------------
BOMBS = {
    "endless C loop in a filter": (
        {
            "filter_before": {
                "name": "PythonexpFilter",
                "options": _budgets(python_expression="any(iter(int, 1))"),
            }
        },
        "filter PythonexpFilter",
        "time_budget_seconds",
        "any(iter(int, 1))",
    ),
    "catastrophic regular expression": (
        {
            "filter_before": {
                "name": "PythonexpFilter",
                "options": _budgets(python_expression="re.match('(a+)+$', 'a' * 40 + 'b')"),
            }
        },
        "filter PythonexpFilter",
        "time_budget_seconds",
        "re.match('(a+)+$'",
    ),
    "huge factorial in a transform": (
        {
            "transform": {
                "name": "PythonexpTransform",
                "options": _budgets(python_expressions=["item.update({'f': math.factorial(10 ** 7)})"]),
            }
        },
        "transform PythonexpTransform",
        "time_budget_seconds",
        "math.factorial(10 ** 7)",
    ),
    "huge fraction in a map": (
        {
            "transform": {
                "name": "PythonmapTransform",
                "options": _budgets(
                    map="{'f': str(fractions.Fraction('1e300000000'))}", imports={"fractions": "fractions"}
                ),
            }
        },
        "transform PythonmapTransform",
        "time_budget_seconds",
        "fractions.Fraction('1e300000000')",
    ),
    "endless loop in a grouper": (
        {
            "grouper": {
                "name": "PythonExpGrouper",
                "options": _budgets(python_expressions=["any(iter(int, 1))"]),
            }
        },
        "grouper PythonExpGrouper",
        "time_budget_seconds",
        "any(iter(int, 1))",
    ),
    "10 GB string": (
        {
            "filter_before": {
                "name": "PythonexpFilter",
                "options": _budgets(python_expression="len('a'.ljust(10 ** 10)) > 0"),
            }
        },
        "filter PythonexpFilter",
        "memory_budget_mib",
        "'a'.ljust(10 ** 10)",
    ),
    "10 GB format width": (
        {
            "filter_before": {
                "name": "PythonexpFilter",
                "options": _budgets(python_expression="len(format(1, '10000000000')) > 0"),
            }
        },
        "filter PythonexpFilter",
        "memory_budget_mib",
        "format(1, '10000000000')",
    ),
    "endless itertools.repeat": (
        {
            "filter_before": {
                "name": "PythonexpFilter",
                "options": _budgets(python_expression="len(list(itertools.repeat(item))) > 0"),
            }
        },
        "filter PythonexpFilter",
        "_budget_",
        "itertools.repeat(item)",
    ),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_bombs_stop_at_the_budget_with_a_located_one_line_error(name: str, tmp_path: Path) -> None:
    sections, module, option, expression = BOMBS[name]
    _config(tmp_path, **sections)
    started = time.monotonic()
    result = run_ozzy("run", "config.json", "--quiet", cwd=tmp_path, timeout=BOUNDED + 30)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("ozzy:")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert module in errors[0] and option in errors[0] and expression in errors[0], errors[0]
    assert elapsed < BOUNDED, f"took {elapsed:.1f}s"


def test_reduce_writer_endless_loop_stops_at_the_budget(tmp_path: Path) -> None:
    code = "def reduce_function(item, accumulator=None):\n    for x in iter(int, 1):\n        pass\n    return 0\n"
    _config(tmp_path, writer={"name": "ReduceWriter", "options": _budgets(code=code)})
    started = time.monotonic()
    result = run_ozzy("run", "config.json", "--quiet", cwd=tmp_path, timeout=BOUNDED + 30)
    assert result.returncode == 1, result.stderr[-3000:]
    error = result.stderr.strip().splitlines()[-1]
    assert "writer ReduceWriter" in error and "time_budget_seconds" in error and "reduce" in error, error
    assert time.monotonic() - started < BOUNDED


# -- 2. a second signal stops at once ------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_second_signal_stops_mid_expression_keeping_the_commits(signum: int, tmp_path: Path) -> None:
    expression = "item['id'] < 50 or any(iter(int, 1))"  # batches 0-4 pass, batch 5 never ends
    _config(
        tmp_path,
        filter_before={
            "name": "PythonexpFilter",
            "options": {"python_expression": expression},  # the default budget: 60 s
        },
        writer={"name": "FSWriter", "options": {"filebase": "out/items_", "items_per_buffer_write": 10}},
    )
    process = subprocess.Popen(
        [*OZZY, "run", "config.json", "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while ((_committed(tmp_path) or {}).get("batch") or 0) < 5:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the first batches were never committed"
            time.sleep(0.05)
        time.sleep(1.0)  # now inside the endless expression
        process.send_signal(signum)
        time.sleep(0.5)
        assert process.poll() is None, "the first signal must only ask for a stop after the batch"
        stopped = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=20)
        assert process.returncode == 130, stderr[-3000:]
        assert time.monotonic() - stopped < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    state = _committed(tmp_path)
    assert state is not None and state["batch"] == 5 and not state.get("finished"), state


# -- 3. validation never runs user code -----------------------------------------------------------
@pytest.mark.parametrize(
    "top_level", ["x = any(iter(int, 1))", "x = len('a'.ljust(10 ** 10))"], ids=["endless", "10GB"]
)
def test_validate_does_not_run_reduce_top_level_code(top_level: str, tmp_path: Path) -> None:
    code = f"{top_level}\ndef reduce_function(item, accumulator=None):\n    return (accumulator or 0) + x\n"
    _config(tmp_path, writer={"name": "ReduceWriter", "options": _budgets(code=code)})

    def four_gib() -> None:  # a 10 GB allocation fails here instead of swapping the machine
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    started = time.monotonic()
    result = subprocess.run(
        [*OZZY, "validate", "config.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=four_gib,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert time.monotonic() - started < 30
    run = run_ozzy("run", "config.json", "--quiet", cwd=tmp_path, timeout=BOUNDED + 30)
    assert run.returncode == 1, run.stderr[-3000:]
    error = run.stderr.strip().splitlines()[-1]
    assert "writer ReduceWriter" in error and "_budget_" in error, error


# -- 4. side channels --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"python_expression": "calendar.prcal(2024) is None"}, "'prcal'"),
        ({"python_expression": "calendar.setfirstweekday(6) is None"}, "'setfirstweekday'"),
        ({"python_expression": "calendar.TextCalendar().prmonth(2024, 1) is None"}, "'TextCalendar'"),
        ({"python_expression": "json.dump(item, None) is None"}, "'dump'"),
        ({"python_expression": "item['id'] ** 2 > 1", "imports": {"ozzy_pow": "math"}}, "'ozzy_pow'"),
        ({"python_expression": "item['id'] > 1", "imports": {"_getattr_": "math"}}, "'_getattr_'"),
    ],
)
def test_side_effects_and_reserved_names_are_refused_at_validation(
    options: dict[str, Any], message: str, tmp_path: Path
) -> None:
    _config(tmp_path, filter_before={"name": "PythonexpFilter", "options": options})
    result = run_ozzy("validate", "config.json", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "PythonexpFilter" in result.stderr, result.stderr


def test_console_output_holds_only_items(tmp_path: Path) -> None:
    """``re.DEBUG`` prints the compiled pattern on stdout, ConsoleWriter's data stream."""
    _config(
        tmp_path,
        writer={"name": "ConsoleWriter"},
        filter_before={
            "name": "PythonexpFilter",
            "options": {"python_expression": "re.compile('a+b', 128) is not None"},
        },
    )
    result = run_ozzy("run", "config.json", "--quiet", cwd=tmp_path, timeout=60)
    for line in result.stdout.splitlines():
        json.loads(line)  # items and the final stats, nothing else
    assert result.returncode == 1 and "DEBUG" in result.stderr, result.stderr[-3000:]


# -- 5. deterministic across processes ---------------------------------------------------------------
def _tags_items(count: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    words = [f"w{number}" for number in range(12)]
    return [{"id": number, "tags": rng.sample(words, 4)} for number in range(count)]


def _grouping_config(input_path: Path, batch_size: int) -> dict[str, Any]:
    return {
        "reader": {"name": "FSReader", "options": {"input": str(input_path), "batch_size": batch_size}},
        "grouper": {
            "name": "PythonExpGrouper",
            "options": {"python_expressions": ["'-'.join(set(item['tags']))"]},
        },
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/{groups[0]}/part_", "items_per_buffer_write": 40},
        },
    }


def _tree(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in output_files(folder)}


def test_set_order_in_a_grouper_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    source = write_json_lines_gz(tmp_path / "in.jl.gz", _tags_items(300))
    trees = []
    for seed in ("1", "2"):
        work = tmp_path / f"seed{seed}"
        work.mkdir()
        config = dict(
            _grouping_config(source, 50),
            persistence={"name": "PicklePersistence", "options": {"file_path": "state"}},
        )
        write_config(work / "config.json", config)
        result = run_ozzy(
            "run", "config.json", "--quiet", cwd=work, timeout=120, env={"PYTHONHASHSEED": seed}
        )
        assert result.returncode == 0, result.stderr[-3000:]
        trees.append(_tree(work / "out"))
    assert len(trees[0]) > 10
    assert trees[0] == trees[1]


def test_kill_9_and_resume_under_another_hash_seed_gives_the_exact_output(tmp_path: Path) -> None:
    source = write_json_lines_gz(tmp_path / "in.jl.gz", _tags_items(6000))
    clean = CrashHarness(tmp_path / "clean", _grouping_config(source, 20), env={"PYTHONHASHSEED": "7"})
    assert clean.attempt(None).returncode == 0
    expected = _tree(clean.output)
    crashed = CrashHarness(tmp_path / "crashed", _grouping_config(source, 20), env={"PYTHONHASHSEED": "1"})
    first = crashed.attempt(Trigger("commits", 5))
    assert first.interrupted, first
    committed = _committed(crashed.workdir, crashed.state_id)
    assert committed and not committed.get("finished")
    crashed.env = dict(os.environ, PYTHONHASHSEED="2")
    second = crashed.attempt(None)
    assert second.returncode == 0, second.log.read_text()[-3000:]
    assert _tree(crashed.output) == expected


def test_dag_parsing_does_not_run_reduce_top_level_code(tmp_path: Path) -> None:
    """The operator checks its config when the DAG file is parsed: the same checks as ``ozzy validate``."""
    dag_file = tmp_path / "reduce_dag.py"
    dag_file.write_text(
        textwrap.dedent(
            """
            from datetime import datetime
            from airflow.sdk import DAG
            from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

            CODE = "x = any(iter(int, 1))\\ndef reduce_function(item, accumulator=None):\\n    return x\\n"
            with DAG("reduce_parse", schedule=None, start_date=datetime(2026, 1, 1)):
                OzzyExportOperator(
                    task_id="reduce",
                    reader={"name": "RandomReader", "options": {"number_of_items": 10}},
                    writer={"name": "ReduceWriter", "options": {"code": CODE}},
                )
            print("parsed")
            """
        )
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(dag_file)], cwd=tmp_path, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0 and "parsed" in result.stdout, result.stderr[-3000:]
    assert time.monotonic() - started < 60
