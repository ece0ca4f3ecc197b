"""Cross-run resume with XComPersistence: the second DAG run exports only what arrived since the first."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import load_dag
from tests.helpers import output_files, read_json_lines, write_json_lines_gz
from tests.integration.changing_inputs import FolderStore, IncrementalJob, S3Store, make_store


def test_the_next_run_continues_after_the_previous_runs_position(
    airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    first = [{"id": number} for number in range(250)]
    second = [{"id": number} for number in range(250, 330)]
    write_json_lines_gz(folder / "part-0.jl.gz", first[:120])
    write_json_lines_gz(folder / "part-1.jl.gz", first[120:])
    monkeypatch.setenv("OZZY_E2E_INPUT", str(folder))
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out"))

    run = load_dag("ozzy_incremental.py", "ozzy_e2e_incremental").test(
        logical_date=datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert run.state == "success"
    assert output_files(tmp_path / "out") == ["items_0000.jl.gz"]
    assert read_json_lines(tmp_path / "out" / "items_0000.jl.gz") == first

    write_json_lines_gz(folder / "part-2.jl.gz", second)
    run = load_dag("ozzy_incremental.py", "ozzy_e2e_incremental").test(
        logical_date=datetime(2026, 3, 2, tzinfo=UTC)
    )
    assert run.state == "success"
    assert output_files(tmp_path / "out") == ["items_0000.jl.gz", "items_0001.jl.gz"]
    assert read_json_lines(tmp_path / "out" / "items_0000.jl.gz") == first
    assert read_json_lines(tmp_path / "out" / "items_0001.jl.gz") == second

    run = load_dag("ozzy_incremental.py", "ozzy_e2e_incremental").test(
        logical_date=datetime(2026, 3, 3, tzinfo=UTC)
    )
    assert run.state == "success"
    # a run with nothing new writes nothing and overwrites nothing
    assert output_files(tmp_path / "out") == ["items_0000.jl.gz", "items_0001.jl.gz"]
    assert read_json_lines(tmp_path / "out" / "items_0001.jl.gz") == second


# -- inputs that change between DAG runs (issue "Exactly once, everywhere") -----------------------------


def _run(dag_file: str, dag_id: str, day: int) -> None:
    run = load_dag(dag_file, dag_id).test(logical_date=datetime(2026, 4, day, tzinfo=UTC))
    assert run.state == "success"


def _check(job: IncrementalJob) -> None:
    job.check()


@pytest.mark.parametrize("kind", ["fs", "s3"])
def test_dag_runs_over_inputs_that_sort_before_exported_ones_and_an_archived_inbox(
    airflow_db: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """orders-1..9, then orders-10 and orders-11 (sorting before orders-2), then the exported inputs
    archived and new ones arriving: each DAG run exports exactly what no earlier run read."""
    store = make_store(request, kind, tmp_path / "store")
    job = IncrementalJob(tmp_path, store)
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out"))
    if kind == "fs":
        assert isinstance(store, FolderStore)
        monkeypatch.setenv("OZZY_E2E_INPUT", str(store.inbox))
        dag = ("ozzy_incremental.py", "ozzy_e2e_incremental")
        monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out" / "all"))
    else:
        assert isinstance(store, S3Store)
        monkeypatch.setenv("OZZY_E2E_BUCKET", store.bucket)
        moto = request.getfixturevalue("moto_server")
        monkeypatch.setenv("AIRFLOW_CONN_OZZY_E2E_S3", moto.connection_json())
        dag = ("ozzy_incremental_s3.py", "ozzy_e2e_incremental_s3")

    def run(day: int) -> None:
        for items in job.present.values():
            for item in items:
                job.expected[(item["src"], item["n"])] = 1
        _run(*dag, day)
        _check(job)

    for number in range(1, 10):
        job.add(f"orders-{number}.jl.gz", 20)
    run(1)
    job.add("orders-10.jl.gz", 20)
    job.add("orders-11.jl.gz", 20)
    run(2)
    for name in list(job.present):
        job.archive(name)
    job.add("orders-0.jl.gz", 20)
    job.add("orders-12.jl.gz", 20)
    run(3)
    run(4)  # nothing new
