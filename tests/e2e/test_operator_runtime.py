"""The operator in a real task process: metrics to StatsD, SIGTERM/``on_kill()``, the ``progress`` key,
and provider discovery by the ``airflow`` command.

One DAG run (``tests/e2e/dags/ozzy_runtime.py``: ``ITEMS`` RandomReader items in batches of ``BATCH``,
``retries=2``) is started with ``airflow dags test --use-executor`` in a child process, with Airflow's
``[metrics]`` pointed at the session's StatsD listener through environment variables. The executor
is ``tests/e2e/supervised_executor.py``: Airflow's own supervisor (``supervise_task``, here inside
the ``airflow dags test`` process) forks a task process running ``task_runner.main()``, as on a
worker. That matters twice:

* ``dag.test()`` without an executor runs the task inside the calling process, where Airflow never
  calls ``stats.initialize()``: every ``Stats`` call there goes to ``NoStatsLogger``, so metrics
  cannot be observed that way. ``task_runner.main()`` initialises the backend from ``[metrics]``.
* ``task_runner`` installs the SIGTERM handler that calls ``on_kill()`` in a task process of its
  own, and the supervisor forwards a SIGTERM it receives (a worker or pod shutting down) to it.

While a try runs, the test reads the ``progress`` key of the task state store from its own process
(Airflow's state backend on the shared metadata DB) and, once the try has committed ``KILL_AFTER``
more items, sends SIGTERM: in try 1 to the task process (pid from an ``on_execute_callback``), in
try 2 to the supervisor. Each must stop after the batch in hand with its position committed and end
failed (up for retry), never success (apache/airflow#73006); try 3 must resume from the position
try 2 committed, so the destination holds every item exactly once.

Not covered: ``execution_timeout`` (Airflow raises ``AirflowTaskTimeout`` inside the batch in hand,
then calls ``on_kill()``: the batch is abandoned, not finished, and the retry resumes from the last
commit, as after any crash) and SIGKILL (the crash tests cover losing a task at any point).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import AIRFLOW, start_supervised_dags_test, wait_for
from tests.helpers import output_files, read_json_lines
from tests.servers.statsd_server import Metric, StatsdServer

DAG_ID = "ozzy_e2e_runtime"
TASK_ID = "export"
ITEMS = 3000
BATCH = 100
PACE = 0.06  # seconds per batch: try 1 lasts long enough to be signalled mid-run
KILL_AFTER = 500  # items a try commits (as the progress key tells) before the test signals it
SIGNALS = {1: "task", 2: "supervisor"}  # which process gets SIGTERM in try 1 and try 2; try 3 ends
PREFIX = "airflow"  # [metrics] statsd_prefix


@dataclass
class KilledRun:
    """What the test saw of a run whose tries 1 and 2 got SIGTERM."""

    returncode: int
    log: str
    run_id: str
    output: Path
    evidence: Path
    pids: dict[int, int]
    progress_at_kill: dict[int, dict[str, Any]]  # by try: the progress the test saw, then signalled
    progress_seen: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)

    def evidence_file(self, name: str) -> dict[str, Any]:
        path = self.evidence / name
        assert path.exists(), f"{name} missing; evidence: {sorted(p.name for p in self.evidence.iterdir())}"
        return json.loads(path.read_text())

    def ozzy_metrics(self, name: str) -> list[Metric]:
        return [metric for metric in self.metrics if metric.name == f"{PREFIX}.ozzy.{name}"]


def _state_store_value(run_id: str, key: str) -> Any:
    """A value of the export's task state store, read through Airflow's state backend."""
    from airflow.state import TaskScope, get_state_backend

    backend = get_state_backend()
    stored = backend.get(TaskScope(dag_id=DAG_ID, run_id=run_id, task_id=TASK_ID), key)
    return None if stored is None else backend.deserialize_task_state_store_from_ref(stored)


def _run_id() -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run_ids = session.scalars(select(DagRun.run_id).where(DagRun.dag_id == DAG_ID)).all()
    assert len(run_ids) <= 1, run_ids
    return run_ids[0] if run_ids else None


def _wait(what: str, check: Any, process: subprocess.Popen[bytes], log: Path) -> Any:
    # generous: on two loaded cores `airflow dags test` parses every e2e DAG (a minute) before try 1
    return wait_for(what, check, process, log, timeout=300)


# the tests of one killed run share it (module fixture): under pytest-xdist they run on one worker;
# the first test also waits for the run's three tries
pytestmark = [pytest.mark.xdist_group("killed-run"), pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def killed_run(
    airflow_db: str, statsd_server: StatsdServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KilledRun]:
    base = tmp_path_factory.mktemp("runtime")
    output, evidence = base / "out", base / "evidence"
    output.mkdir()
    evidence.mkdir()
    log = base / "dags-test.log"
    env = dict(
        **statsd_server.airflow_environment(prefix=PREFIX),
        OZZY_E2E_RUNTIME_ITEMS=str(ITEMS),
        OZZY_E2E_RUNTIME_BATCH=str(BATCH),
        OZZY_E2E_RUNTIME_PACE=str(PACE),
        OZZY_E2E_RUNTIME_OUTPUT=str(output),
        OZZY_E2E_RUNTIME_EVIDENCE=str(evidence),
    )
    # import Airflow's models and state backend here (seconds), not while a try races on
    assert _run_id() is None
    assert _state_store_value("no-such-run", "progress") is None
    statsd_server.reset()
    process = start_supervised_dags_test(DAG_ID, log, **env)
    try:
        seen: list[dict[str, Any]] = []
        at_kill: dict[int, dict[str, Any]] = {}
        run_id = ""
        for try_number, target in SIGNALS.items():
            started = evidence / f"start-{try_number}.json"  # written after the pid file
            _wait(f"try {try_number} to start", started.exists, process, log)
            run_id = run_id or _wait("the DAG run", _run_id, process, log)
            before = (json.loads(started.read_text())["progress"] or {}).get("items_read", 0)

            def enough_progress(before: int = before, run_id: str = run_id) -> dict[str, Any] | None:
                progress = _state_store_value(run_id, "progress")
                if progress is not None:
                    seen.append(progress)
                return progress if progress and progress["items_read"] >= before + KILL_AFTER else None

            at_kill[try_number] = _wait(f"progress of try {try_number}", enough_progress, process, log)
            pid = int((evidence / f"try-{try_number}.pid").read_text()) if target == "task" else process.pid
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pytest.fail(
                    f"try {try_number} ended before the test could signal it:\n{log.read_text()[-6000:]}"
                )
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"airflow dags test did not finish:\n{log.read_text()[-6000:]}")
        # UDP datagrams sent before the task processes exited are in the socket buffer by now
        time.sleep(0.3)
        pids = {int(path.stem.split("-")[1]): int(path.read_text()) for path in evidence.glob("try-*.pid")}
        yield KilledRun(
            returncode=process.returncode,
            log=log.read_text(),
            run_id=run_id,
            output=output,
            evidence=evidence,
            pids=pids,
            progress_at_kill=at_kill,
            progress_seen=seen,
            metrics=statsd_server.metrics(),
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _try_states(run_id: str) -> dict[int, str]:
    """State of every finished try of the export task: history rows, then the current try."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        history = session.execute(
            select(TaskInstanceHistory.try_number, TaskInstanceHistory.state).where(
                TaskInstanceHistory.dag_id == DAG_ID,
                TaskInstanceHistory.run_id == run_id,
                TaskInstanceHistory.task_id == TASK_ID,
            )
        ).all()
        current = session.execute(
            select(TaskInstance.try_number, TaskInstance.state).where(
                TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run_id, TaskInstance.task_id == TASK_ID
            )
        ).one()
    states = {try_number: str(state) for try_number, state in history}
    states[current.try_number] = str(current.state)
    return states


def _written_items(output: Path) -> list[dict[str, Any]]:
    return [item for name in output_files(output) for item in read_json_lines(output / name)]


def _expected_items() -> list[dict[str, Any]]:
    from airflow_provider_ozzy.readers.random_reader import RandomReader

    reader = RandomReader({"number_of_items": ITEMS, "batch_size": ITEMS})
    reader.open(None)
    return reader.get_next_batch()


# -- 2. SIGTERM -> on_kill() ---------------------------------------------------------------------------
def _check_stopped_try(run: KilledRun, try_number: int) -> int:
    """Try ``try_number`` stopped after the batch in hand and committed; returns the items committed."""
    assert run.returncode == 0, run.log[-6000:]
    retry = run.evidence_file(f"retry-{try_number}.json")
    assert "stopped on request after committing its position" in retry["exception"], retry
    before = run.evidence_file(f"start-{try_number}.json")
    # what the try committed, as the next try found it in the task state store before its export ran
    after = run.evidence_file(f"start-{try_number + 1}.json")
    state = after["ozzy_state"]["state"]
    committed = state["read_items"]
    assert state.get("finished") is not True
    # stopped at a batch boundary right after the signal: the batch in hand (the progress the test
    # saw may lag a batch or two behind; a batch takes PACE seconds at least), never the whole export
    seen = run.progress_at_kill[try_number]["items_read"]
    assert seen <= committed <= seen + 4 * BATCH < ITEMS, (seen, committed)
    assert committed % BATCH == 0
    assert state["writer"]["items_written"] == committed
    assert after["progress"]["items_read"] == committed
    assert after["progress"]["items_read_this_run"] == committed - (
        (before["progress"] or {}).get("items_read", 0)
    )
    return int(committed)


def test_sigterm_to_the_task_process_stops_after_the_current_batch_and_commits(killed_run: KilledRun) -> None:
    assert killed_run.evidence_file("start-1.json") == {"progress": None, "ozzy_state": None}  # a fresh run
    assert _check_stopped_try(killed_run, 1) >= KILL_AFTER


def test_sigterm_to_the_supervisor_is_forwarded_to_on_kill_and_commits(killed_run: KilledRun) -> None:
    assert "Received signal, forwarding to task subprocess" in killed_run.log
    committed_1 = _check_stopped_try(killed_run, 1)
    assert _check_stopped_try(killed_run, 2) >= committed_1 + KILL_AFTER


def test_the_stopped_tries_are_retried_and_the_last_resumes_exactly(killed_run: KilledRun) -> None:
    run = killed_run
    assert run.returncode == 0, run.log[-6000:]
    assert sorted(run.pids) == [1, 2, 3] and len(set(run.pids.values())) == 3, run.pids
    # tries 1 and 2 failed and were retried (Airflow's history records a retried try as "failed";
    # the retry callbacks prove the retries); try 3 succeeded
    assert _try_states(run.run_id) == {1: "failed", 2: "failed", 3: "success"}
    callbacks = sorted(path.name for path in run.evidence.glob("*.json"))
    assert callbacks == [
        "retry-1.json",
        "retry-2.json",
        "start-1.json",
        "start-2.json",
        "start-3.json",
        "success-3.json",
    ], callbacks
    assert run.log.count("Stop requested: job") == 2

    # try 3 read only what try 2 had not committed, and every item is at the destination once
    committed = run.evidence_file("start-3.json")["ozzy_state"]["state"]["read_items"]
    final = run.evidence_file("success-3.json")["progress"]
    assert final["items_read"] == ITEMS
    assert final["items_read_this_run"] == ITEMS - committed
    written = _written_items(run.output)
    assert [item["key"] for item in written] == list(range(ITEMS))
    assert written == _expected_items()


# -- 1. metrics -----------------------------------------------------------------------------------------
def test_metrics_reach_statsd_tagged_with_dag_and_task_and_counted_once_across_tries(
    killed_run: KilledRun,
) -> None:
    run = killed_run
    assert run.returncode == 0, run.log[-6000:]
    ozzy = [metric for metric in run.metrics if metric.name.startswith(f"{PREFIX}.ozzy.")]
    assert ozzy, f"no Ozzy metric among {len(run.metrics)} received: {[m.raw for m in run.metrics][:40]}"
    for metric in ozzy:
        assert metric.tags.get("dag_id") == DAG_ID and metric.tags.get("task_id") == TASK_ID, metric.raw

    files = output_files(run.output)
    total_bytes = sum((run.output / name).stat().st_size for name in files)
    counters = {
        name: [metric for metric in run.ozzy_metrics(name) if metric.type == "c"]
        for name in ("items_read", "items_written", "files_written", "bytes_written")
    }
    # each try counted only its own work: the sums are the export's totals
    assert sum(metric.value for metric in counters["items_read"]) == ITEMS
    assert sum(metric.value for metric in counters["items_written"]) == ITEMS
    assert sum(metric.value for metric in counters["files_written"]) == len(files)
    assert sum(metric.value for metric in counters["bytes_written"]) == total_bytes

    # one timing per batch and stage, over all tries
    assert len([m for m in run.ozzy_metrics("stage.read") if m.type == "ms"]) == ITEMS // BATCH

    # the end of the export (try 3 only): gauges of the totals and the duration
    gauges = {name: run.ozzy_metrics(f"export.{name}") for name in ("items_read", "items_written")}
    assert [(m.type, m.value) for m in gauges["items_read"]] == [("g", ITEMS)]
    assert [(m.type, m.value) for m in gauges["items_written"]] == [("g", ITEMS)]
    duration = run.ozzy_metrics("export.duration")
    assert [m.type for m in duration] == ["ms"], [m.raw for m in duration]
    final = run.evidence_file("success-3.json")["progress"]
    assert duration[0].value == pytest.approx(final["elapsed_seconds"] * 1000.0, abs=1.0)


# -- 3. the progress key ---------------------------------------------------------------------------------
def test_progress_key_in_the_task_state_store_while_and_after_the_run(killed_run: KilledRun) -> None:
    run = killed_run
    assert run.returncode == 0, run.log[-6000:]
    # while try 1 ran: read from outside the task, through Airflow's state backend
    running = run.progress_at_kill[1]
    assert running["done"] is False and 0 < running["fraction"] < 1
    assert running["items_read"] >= KILL_AFTER and running["items_read"] % BATCH == 0
    assert running["items_written"] == running["items_read"]
    assert running["items_read"] / ITEMS == pytest.approx(running["fraction"])
    counts_seen = [progress["items_read"] for progress in run.progress_seen]
    assert counts_seen == sorted(counts_seen) and counts_seen[-1] == run.progress_at_kill[2]["items_read"]

    # after the run: the final counts, from outside and as the task itself saw them
    after = _state_store_value(run.run_id, "progress")
    assert after == run.evidence_file("success-3.json")["progress"]
    assert after["done"] is True and after["fraction"] == 1.0 and after["finished"] is True
    assert (after["items_read"], after["items_written"]) == (ITEMS, ITEMS)
    assert after["files_written"] == len(output_files(run.output))


# -- 4. provider discovery --------------------------------------------------------------------------------
def test_airflow_lists_ozzy_as_a_provider_with_its_notifiers(tmp_path: Path) -> None:
    """``airflow providers list`` / ``notifications`` on a throw-away AIRFLOW_HOME (no DB needed)."""
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "home"))
    commands = {
        "list": [str(AIRFLOW), "providers", "list", "-o", "json"],
        "notifications": [str(AIRFLOW), "providers", "notifications", "-o", "json"],
    }
    running = {
        name: subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, command in commands.items()
    }
    results = {name: process.communicate(timeout=120) for name, process in running.items()}
    for name, process in running.items():
        assert process.returncode == 0, results[name][1][-3000:]
        assert "airflow_provider_ozzy" not in results[name][1], results[name][1][-3000:]  # no import error

    import airflow_provider_ozzy

    providers = {entry["package_name"]: entry for entry in json.loads(results["list"][0])}
    assert providers["airflow-provider-ozzy"]["version"] == airflow_provider_ozzy.__version__

    listed = {entry["notification_class_name"] for entry in json.loads(results["notifications"][0])}
    ozzy_notifiers = {name for name in listed if name.startswith("airflow_provider_ozzy.")}
    assert ozzy_notifiers == {
        "airflow_provider_ozzy.notifications.airflow_notifiers.WebhookNotifierCallback",
        "airflow_provider_ozzy.notifications.airflow_notifiers.SESMailNotifierCallback",
    }
    import importlib

    from airflow.sdk import BaseNotifier

    for name in ozzy_notifiers:
        module, _, cls = name.rpartition(".")
        assert issubclass(getattr(importlib.import_module(module), cls), BaseNotifier), name
