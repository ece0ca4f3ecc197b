"""Ozzy's notifiers inside an Airflow run: as export notifications and as task callbacks.

``tests/e2e/dags/ozzy_notify.py`` fails on try 1 (a damaged input file) and succeeds on try 2. The
webhook server must hear, with dag, task, run and try fields: from the export, STARTED and FAILED
(try 1) then STARTED and COMPLETED (try 2); from the callbacks, STARTED per try, RETRYING (try 1,
with the exception) and COMPLETED (try 2, with the export's counters). SES (moto) must receive the
retry mail (team only) and the finish mail (client and team).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import load_dag
from tests.servers.http_server import RecordingHTTPServer
from tests.servers.moto_server import MotoServer

ITEMS = 3000


def _write_parts(folder: Path, repair: Path) -> None:
    """Three input files of 1,000 items; the third is cut short (a damaged gzip) until repaired."""
    folder.mkdir(parents=True)
    items = [{"id": number} for number in range(ITEMS)]
    for part in range(3):
        data = gzip.compress(
            b"".join(json.dumps(item).encode() + b"\n" for item in items[part * 1000 : (part + 1) * 1000])
        )
        (folder / f"part-{part}.jl.gz").write_bytes(data[: len(data) // 2] if part == 2 else data)
        if part == 2:
            repair.write_bytes(data)


def test_notifiers_report_the_retry_and_the_success_of_an_airflow_task(
    airflow_db: str,
    http_server: RecordingHTTPServer,
    moto_server: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http_server.reset()
    _write_parts(tmp_path / "in", tmp_path / "repair.jl.gz")
    monkeypatch.setenv("OZZY_E2E_NOTIFY_INPUT", str(tmp_path / "in"))
    monkeypatch.setenv("OZZY_E2E_NOTIFY_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("OZZY_E2E_NOTIFY_REPAIR_FROM", str(tmp_path / "repair.jl.gz"))
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_E2E_WEBHOOK", http_server.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_E2E_SES", moto_server.connection_json())

    with moto_server.recording_mails():
        run = load_dag("ozzy_notify.py", "ozzy_e2e_notify").test()

    assert run.state == "success"
    assert run.get_task_instance("export").try_number == 2
    identity = {"dag_id": "ozzy_e2e_notify", "task_id": "export", "run_id": run.run_id}

    from_export = [request.json for request in http_server.requests("/export")]
    assert [(event["job_status"], event["try_number"]) for event in from_export] == [
        ("STARTED", 1),
        ("FAILED", 1),
        ("STARTED", 2),
        ("COMPLETED", 2),
    ]
    for event in from_export:
        assert {key: event[key] for key in identity} == identity
        assert event["job_id"] == f"ozzy_e2e_notify/export/{run.run_id}/-1"
    assert "part-2.jl.gz" in from_export[1]["msg"] and "Traceback" in from_export[1]["stack_trace"]
    assert from_export[3]["stats"]["items_read"] == ITEMS
    assert 0 < from_export[3]["stats"]["items_read_this_run"] <= 1000  # try 2 resumed

    from_callbacks = [request.json for request in http_server.requests("/callbacks")]
    assert [(event["job_status"], event["try_number"]) for event in from_callbacks] == [
        ("STARTED", 1),
        ("RETRYING", 1),
        ("STARTED", 2),
        ("COMPLETED", 2),
    ]
    for event in from_callbacks:
        assert {key: event[key] for key in identity} == identity
    retrying, completed = from_callbacks[1], from_callbacks[3]
    assert retrying["airflow_state"] == "up_for_retry"
    assert "Ozzy export failed" in retrying["msg"] and "part-2.jl.gz" in retrying["msg"]
    assert "AirflowException" in retrying["stack_trace"]
    assert completed["airflow_state"] == "success"
    assert completed["stats"]["items_written"] == ITEMS  # the task's XCom

    mails = moto_server.recorded_mails()
    assert [(mail.subject, mail.to) for mail in mails] == [
        ("Failed export job for ozzy_e2e_notify (try 1, will be retried)", ["team@example.com"]),
        ("ozzy_e2e_notify export job finished", ["client@example.com", "team@example.com"]),
    ]
    assert "part-2.jl.gz" in mails[0].body and "Try: 1" in mails[0].body
    assert f"Total records exported: {ITEMS}." in mails[1].body and "Try: 2" in mails[1].body
