"""Assets, extra links and fail-fast errors of real ``dag.test()`` runs, read back from the metadata DB.

* An FS->FS export with no ``outlets`` leaves an asset event for its destination folder whose
  ``extra`` holds what it wrote; its extra links (output path, "Ozzy exports" page) are stored.
* A sharded export leaves one event for the whole, from its check task, with every shard's totals.
* With ``retries=3``, an error a retry cannot fix ends the task after one try; a fixable one (a
  damaged input, repaired by the retry callback) is retried.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.sharding.check import MANIFEST_NAME
from tests.e2e.conftest import load_dag
from tests.e2e.dag_runs import xcom
from tests.helpers import output_files


def _inputs(folder: Path, items: int = 100) -> None:
    folder.mkdir(parents=True)
    for part in range(2):
        lines = [json.dumps({"id": part * 1000 + n}) for n in range(items // 2)]
        (folder / f"part-{part}.jl").write_text("\n".join(lines) + "\n")


def _events(uri: str) -> list[Any]:
    """Asset events of the asset ``uri``, oldest first, with their source task."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == uri)
            .order_by(AssetEvent.id)
        )
        events = session.scalars(query).all()
        session.expunge_all()
    return list(events)


def _only_event(file_name: str, dag_id: str, destination: Path) -> tuple[Any, Any]:
    """Runs the DAG ``dag_id`` of ``file_name``: its run, and the one asset event it left for ``destination``."""
    run = load_dag(file_name, dag_id).test()
    assert run.state == "success"
    events = _events(f"file://{destination}")
    assert len(events) == 1, events
    return run, events[0]


@pytest.fixture
def asset_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _inputs(tmp_path / "in")
    monkeypatch.setenv("OZZY_E2E_ASSETS_INPUT", str(tmp_path / "in"))
    monkeypatch.setenv("OZZY_E2E_ASSETS_OUTPUT", str(tmp_path / "out"))
    return tmp_path


def test_an_export_without_outlets_leaves_an_event_for_its_destination(
    airflow_db: str, asset_paths: Path
) -> None:
    destination = asset_paths / "out" / "plain"
    run, event = _only_event("ozzy_assets.py", "ozzy_e2e_assets", destination)

    assert (event.source_dag_id, event.source_task_id, event.source_run_id) == (
        "ozzy_e2e_assets",
        "export",
        run.run_id,
    )
    extra = event.extra
    assert (extra["items"], extra["files"]) == (100, 3)
    assert extra["bytes"] == sum((destination / name).stat().st_size for name in output_files(destination))
    assert extra["written_under"] == f"{destination}/items_"
    assert extra["position"] == {
        "job_id": f"ozzy_e2e_assets/export/{run.run_id}/-1",
        "items_read": 100,
        "items_read_this_run": 100,
        "resumed": False,
        "already_finished": False,
    }
    # the source is the task's inlet asset (no event: it was read, not written)
    assert _events(f"file://{asset_paths / 'in'}") == []

    assert xcom(run, "export", "_link_OzzyOutputLink") == f"file://{destination}"
    page = xcom(run, "export", "_link_OzzyExportsLink")
    assert page.endswith("/ozzy/exports?dag_id=ozzy_e2e_assets&task_id=export"), page


def test_a_sharded_export_leaves_one_event_for_the_whole_from_its_check_task(
    airflow_db: str, asset_paths: Path
) -> None:
    destination = asset_paths / "out" / "sharded"
    _, event = _only_event("ozzy_assets_sharded.py", "ozzy_e2e_assets_sharded", destination)

    assert (event.source_task_id, event.source_map_index) == ("export_check", -1)
    extra = event.extra
    assert (extra["items"], extra["position"]["items_read"], extra["position"]["shards"]) == (100, 100, 2)
    files = [name for name in output_files(destination) if name != MANIFEST_NAME]
    assert extra["files"] == len(files) >= 2
    assert extra["bytes"] == sum((destination / name).stat().st_size for name in files)
    assert extra["position"]["resumed"] == 0


def test_a_permanent_error_ends_the_task_after_one_try_a_fixable_one_is_retried(
    airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _inputs(tmp_path / "in")
    output = tmp_path / "out"
    (output / "damaged").mkdir(parents=True)
    whole = gzip.compress(b"".join(json.dumps({"id": n}).encode() + b"\n" for n in range(2000)))
    (output / "whole.jl.gz").write_bytes(whole)
    (output / "damaged" / "part.jl.gz").write_bytes(whole[: len(whole) // 2])
    monkeypatch.setenv("OZZY_E2E_FAIL_FAST_INPUT", str(tmp_path / "in"))
    monkeypatch.setenv("OZZY_E2E_FAIL_FAST_OUTPUT", str(output))

    run = load_dag("ozzy_fail_fast.py", "ozzy_e2e_fail_fast").test()

    tries = {
        task_id: run.get_task_instance(task_id) for task_id in ("missing_connection", "bad_after_rendering")
    }
    for task_id, ti in tries.items():
        assert (ti.state, ti.try_number) == ("failed", 1), task_id
        assert not (output / f"{task_id}.retries").exists(), task_id
    fixable = run.get_task_instance("fixable")
    assert (fixable.state, fixable.try_number) == ("success", 2)
    assert (output / "fixable.retries").read_text() == "retry\n"
    assert len(output_files(output / "fixable")) == 1
