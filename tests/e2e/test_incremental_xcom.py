"""Cross-run resume with XComPersistence: the second DAG run exports only what arrived since the first."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import load_dag
from tests.helpers import output_files, read_json_lines, write_json_lines_gz


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
