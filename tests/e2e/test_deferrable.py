"""``deferrable=True`` on a real Airflow: scheduler, dag-processor, api-server and ``airflow triggerer``.

LocalExecutor with ``[core] parallelism=1`` (one task process at a time) and PostgreSQL as the
metadata DB (``tests/airflow_stack.py``), plus a triggerer process. An incremental FS export
(XComPersistence) reads the inbox's first file in DAG run 1. In run 2 nothing is new: the task
defers. A second deferrable export (an empty inbox, a short ``defer_timeout``) then runs in the
only slot and defers too, so both wait at once while no task holds a slot; it ends skipped at its
deadline. A file that sorts *before* the one read arrives; the waiting task resumes in the same
try and exports exactly that file. The triggers poll every second; the stack's start is most of
the CPU the test costs.
"""

from __future__ import annotations

import subprocess
import textwrap
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.airflow_stack import AIRFLOW, AirflowStack
from tests.helpers import output_files, read_json_lines, write_json_lines_gz

pytestmark = pytest.mark.timeout(900)

DAG_FILE = textwrap.dedent(
    '''
    """Two deferrable incremental exports; their folders come from the test's environment."""

    import os
    from datetime import datetime, timedelta

    from airflow.sdk import DAG

    from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator


    def export(inbox, out, **waiting):
        return OzzyExportOperator(
            task_id="export",
            reader={"name": "FSReader", "options": {"input": {"dir": inbox}}},
            writer={"name": "FSWriter", "options": {"filebase": f"{out}/items_"}},
            persistence={"name": "XComPersistence"},
            deferrable=True,
            poll_interval=1.0,
            # a task start the loaded machine times out is tried again (not what the test checks)
            retries=2,
            retry_delay=timedelta(seconds=2),
            **waiting,
        )


    with DAG("ozzy_deferrable", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        export(os.environ["OZZY_DEFER_INBOX"], os.environ["OZZY_DEFER_OUT"], defer_timeout=600)

    with DAG("ozzy_deferrable_timeout", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as late:
        export(os.environ["OZZY_DEFER_EMPTY"], os.environ["OZZY_DEFER_OUT"] + "-never", defer_timeout=25)
    '''
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgresql_server: Any) -> Iterator[SimpleNamespace]:
    base = tmp_path_factory.mktemp("deferrable")
    (base / "dags").mkdir()
    (base / "dags" / "ozzy_deferrable.py").write_text(DAG_FILE)
    for folder in ("inbox", "empty"):
        (base / folder).mkdir()
    env = {
        "OZZY_DEFER_INBOX": str(base / "inbox"),
        "OZZY_DEFER_EMPTY": str(base / "empty"),
        "OZZY_DEFER_OUT": str(base / "out"),
    }
    airflow = AirflowStack(base / "dags", parallelism=1, extra_env=env)
    with airflow.kept_until_done():
        airflow.start()
        with open(airflow.home / "triggerer.log", "wb") as log:  # stopped and logged with the others
            airflow.processes["triggerer"] = subprocess.Popen(
                [AIRFLOW, "triggerer"],
                env=airflow.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        airflow.wait_for_dag("ozzy_deferrable")
        airflow.wait_for_dag("ozzy_deferrable_timeout")
        yield SimpleNamespace(airflow=airflow, base=base)


def _trigger(airflow: AirflowStack, dag_id: str, day: int) -> str:
    body = {"logical_date": f"2026-03-{day:02d}T00:00:00Z", "conf": {}}
    return str(airflow.api("POST", f"/dags/{dag_id}/dagRuns", body)["dag_run_id"])


def _export(airflow: AirflowStack, dag_id: str, run_id: str) -> dict[str, Any]:
    return dict(airflow.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/export"))


def _export_state(airflow: AirflowStack, dag_id: str, run_id: str) -> str:
    return str(_export(airflow, dag_id, run_id)["state"])


def _wait_for_state(airflow: AirflowStack, dag_id: str, run_id: str, state: str) -> int:
    """Waits for the export task of the run to reach ``state``; the try it is in."""

    def reached() -> int | None:
        now = _export(airflow, dag_id, run_id)
        ended = {"success", "failed", "skipped", "upstream_failed", "removed"} - {state}
        assert now["state"] not in ended, (
            f"{dag_id} {run_id} is {now['state']}, not {state}\n{airflow.logs()}"
        )
        return int(now["try_number"]) if now["state"] == state else None

    return int(airflow.wait_for(reached, 600, f"{dag_id} {run_id} to be {state}", interval=1.0))


def test_a_deferred_export_holds_no_slot_and_resumes_when_a_file_arrives(stack: SimpleNamespace) -> None:
    airflow, base = stack.airflow, stack.base
    first = [{"id": number} for number in range(10)]
    write_json_lines_gz(base / "inbox" / "b.jl.gz", first)
    run_1 = _trigger(airflow, "ozzy_deferrable", 1)
    assert airflow.wait_for_run("ozzy_deferrable", run_1, timeout=600) == "success", airflow.logs()
    assert airflow.xcom("ozzy_deferrable", run_1, "export")["items_read_this_run"] == 10

    run_2 = _trigger(airflow, "ozzy_deferrable", 2)  # nothing new: it waits
    waiting_try = _wait_for_state(airflow, "ozzy_deferrable", run_2, "deferred")
    late = _trigger(airflow, "ozzy_deferrable_timeout", 1)
    _wait_for_state(airflow, "ozzy_deferrable_timeout", late, "deferred")  # it ran in the one slot
    assert _export_state(airflow, "ozzy_deferrable", run_2) == "deferred"
    pool = airflow.api("GET", "/pools/default_pool")
    assert pool["running_slots"] == 0 and pool["deferred_slots"] == 2, pool

    _wait_for_state(airflow, "ozzy_deferrable_timeout", late, "skipped")  # its deadline passed
    assert _export_state(airflow, "ozzy_deferrable", run_2) == "deferred"

    second = [{"id": number} for number in range(10, 15)]
    write_json_lines_gz(base / "a.jl.gz.part", second)  # sorts before b.jl.gz, which was read
    (base / "a.jl.gz.part").rename(base / "inbox" / "a.jl.gz")
    arrived = time.monotonic()
    assert airflow.wait_for_run("ozzy_deferrable", run_2, timeout=600) == "success", airflow.logs()
    print(f"\nresumed and exported in {time.monotonic() - arrived:.1f} s after the file arrived")

    stats = airflow.xcom("ozzy_deferrable", run_2, "export")
    assert stats["items_read_this_run"] == 5 and stats["items_written"] == 5, stats
    tries = {row["try_number"]: row["state"] for row in airflow.tries("ozzy_deferrable", run_2, "export", -1)}
    assert tries[waiting_try] == "success" and max(tries) == waiting_try, tries  # resumed, not retried
    assert output_files(base / "out") == ["items_0000.jl.gz", "items_0001.jl.gz"]
    assert read_json_lines(base / "out" / "items_0000.jl.gz") == first
    assert read_json_lines(base / "out" / "items_0001.jl.gz") == second
    assert not (base / "out-never").exists()
