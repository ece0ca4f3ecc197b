"""Airflow retries resume an export from the committed position (task state store by default)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import load_dag
from tests.helpers import output_files, read_json_lines


def _write_parts(folder: Path, repair: Path) -> list[dict]:
    """Three input files of 1,000 items; the third is cut short (a damaged gzip) until repaired."""
    folder.mkdir(parents=True)
    items = [{"id": number, "part": number // 1000} for number in range(3000)]
    for part in range(3):
        data = gzip.compress(
            b"".join(json.dumps(item).encode() + b"\n" for item in items[part * 1000 : (part + 1) * 1000])
        )
        target = repair if part == 2 else folder / f"part-{part}.jl.gz"
        target.write_bytes(data)
    (folder / "part-2.jl.gz").write_bytes(repair.read_bytes()[: len(repair.read_bytes()) // 2])
    return items


@pytest.mark.parametrize("persistence", ["airflow", "pickle"])
def test_a_failed_try_is_retried_and_continues_from_the_committed_position(
    airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, persistence: str
) -> None:
    repair = tmp_path / "repair.jl.gz"
    items = _write_parts(tmp_path / "in", repair)
    monkeypatch.setenv("OZZY_E2E_INPUT", str(tmp_path / "in"))
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("OZZY_E2E_REPAIR_FROM", str(repair))
    if persistence == "pickle":
        section = {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}}
        monkeypatch.setenv("OZZY_E2E_PERSISTENCE", json.dumps(section))
    else:
        monkeypatch.delenv("OZZY_E2E_PERSISTENCE", raising=False)

    run = load_dag("ozzy_retry.py", "ozzy_e2e_retry").test()

    assert run.state == "success"
    export = run.get_task_instance("export")
    assert export.try_number == 2
    written = [
        item for name in output_files(tmp_path / "out") for item in read_json_lines(tmp_path / "out" / name)
    ]
    assert sorted(item["id"] for item in written) == [item["id"] for item in items]
    assert written == items
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["items_read"] == 3000
    assert stats["items_written"] == 3000
    # the retry read only what the first try had not committed: part of part-2, never parts 0 and 1
    assert 0 < stats["items_read_this_run"] <= 1000
