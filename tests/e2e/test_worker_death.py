"""A task killed the way a worker dies, retried by Airflow, resumes with exact output.

``airflow dags test --use-executor`` runs ``tests/e2e/dags/ozzy_worker_death.py`` with the
supervised executor (``tests/e2e/supervised_executor.py``: Airflow's own ``supervise_task`` forks a
task process running ``task_runner.main()``, as on a worker). Try 1's task process gets ``SIGKILL``
mid-export (an OOM kill, a node lost: no handler runs, nothing is flushed or committed), try 2's
gets ``SIGTERM`` (``on_kill()``: stop after the batch in hand, commit, fail for retry). Airflow
retries each; try 3 resumes from the last commit and the destination, read back over the wire,
holds every item exactly once, in order, in contiguous files cut as an uninterrupted run cuts them.
Run for FSWriter and (marked ``slow``) for S3Writer on moto.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import start_supervised_dags_test, wait_for
from tests.helpers import legacy_s3_env, read_json_lines

ITEMS = 3000
BATCH = 100  # items per batch and per file (tests/e2e/dags/ozzy_worker_death.py)
PACE = 0.05  # seconds per batch: a try lasts long enough to be killed mid-run
FILES_BEFORE_KILL = 5  # files a try writes before the test kills it
KILLS = {1: signal.SIGKILL, 2: signal.SIGTERM}


def _expected_items() -> list[dict[str, Any]]:
    from airflow_provider_ozzy.readers.random_reader import RandomReader

    reader = RandomReader({"number_of_items": ITEMS, "batch_size": ITEMS})
    reader.open(None)
    return reader.get_next_batch()


def _try_states(dag_id: str) -> dict[int, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        history = session.execute(
            select(TaskInstanceHistory.try_number, TaskInstanceHistory.state).where(
                TaskInstanceHistory.dag_id == dag_id
            )
        ).all()
        current = session.execute(
            select(TaskInstance.try_number, TaskInstance.state).where(TaskInstance.dag_id == dag_id)
        ).one()
    states = {try_number: str(state) for try_number, state in history}
    states[current.try_number] = str(current.state)
    return states


class Destination:
    """Where the export writes, how many files it holds, and a download of them."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind = kind
        self.env: dict[str, str] = {}
        if kind == "fs":
            self.folder = tmp_path / "out"
            self.writer = {
                "name": "FSWriter",
                "options": {"filebase": f"{self.folder}/items_", "items_per_buffer_write": BATCH},
            }
            return
        moto = request.getfixturevalue("moto_server")
        self.client = moto.client("s3")
        self.bucket = moto.create_bucket()
        self.folder = tmp_path / "download"
        self.writer = {
            "name": "S3Writer",
            "options": {
                "bucket": self.bucket,
                "filebase": "out/items_",
                "items_per_buffer_write": BATCH,
                "host": moto.endpoint_url,
            },
        }
        self.env = legacy_s3_env(reader=False)

    def names(self) -> list[str]:
        if self.kind == "fs":
            return sorted(path.name for path in self.folder.glob("*")) if self.folder.exists() else []
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix="out/")
        return sorted(entry["Key"].removeprefix("out/") for entry in listing.get("Contents", []))

    def download(self) -> Path:
        if self.kind == "s3":
            self.folder.mkdir(exist_ok=True)
            for name in self.names():
                data = self.client.get_object(Bucket=self.bucket, Key=f"out/{name}")["Body"].read()
                (self.folder / name).write_bytes(data)
        return self.folder


def _wait(what: str, check: Callable[[], Any], process: subprocess.Popen[bytes], log: Path) -> Any:
    return wait_for(what, check, process, log, timeout=300)


# S3 costs another Airflow run (a minute or more on a loaded machine): in the stress run (-m slow)
@pytest.mark.parametrize("destination", ["fs", pytest.param("s3", marks=pytest.mark.slow)])
def test_sigkill_then_sigterm_of_the_task_process_are_retried_and_resume_exactly(
    airflow_db: str, destination: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = Destination(destination, request, tmp_path)
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    dag_id = f"ozzy_e2e_worker_death_{destination}_{uuid.uuid4().hex[:6]}"
    env = dict(
        **target.env,
        OZZY_E2E_DEATH_DAG_ID=dag_id,
        OZZY_E2E_DEATH_ITEMS=str(ITEMS),
        OZZY_E2E_DEATH_PACE=str(PACE),
        OZZY_E2E_DEATH_WRITER=json.dumps(target.writer),
        OZZY_E2E_DEATH_EVIDENCE=str(evidence),
    )
    log = tmp_path / "dags-test.log"
    process = start_supervised_dags_test(dag_id, log, **env)
    try:
        for try_number, sig in KILLS.items():
            pid_file = evidence / f"try-{try_number}.pid"
            _wait(f"try {try_number} to start", pid_file.exists, process, log)
            before = len(target.names())
            _wait(
                f"try {try_number} to write {FILES_BEFORE_KILL} files",
                lambda before=before: len(target.names()) >= before + FILES_BEFORE_KILL,
                process,
                log,
            )
            try:
                os.kill(int(pid_file.read_text()), sig)
            except ProcessLookupError:
                pytest.fail(
                    f"try {try_number} ended before the test could kill it:\n{log.read_text()[-6000:]}"
                )
        process.wait(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert process.returncode == 0, text[-6000:]
    assert sorted(path.name for path in evidence.glob("try-*.pid")) == ["try-1.pid", "try-2.pid", "try-3.pid"]
    # tries 1 (SIGKILL) and 2 (SIGTERM) failed and were retried; try 3 succeeded
    assert _try_states(dag_id) == {1: "failed", 2: "failed", 3: "success"}, text[-6000:]
    assert text.count("Stop requested: job") == 1, "try 2 did not stop through on_kill()"

    folder = target.download()
    names = sorted(path.name for path in folder.iterdir())
    assert names == [f"items_{number:04d}.jl.gz" for number in range(ITEMS // BATCH)], names
    written = [item for name in names for item in read_json_lines(folder / name)]
    assert [item["key"] for item in written] == list(range(ITEMS)), "items lost or written twice"
    assert written == _expected_items()
    assert all(len(read_json_lines(folder / name)) == BATCH for name in names)
