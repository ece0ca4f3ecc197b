"""Notifications of real exports, delivered over the wire to a recording HTTP server and to moto's SES.

* A successful export sends STARTED then COMPLETED, the latter with its counters.
* A failed export sends STARTED then FAILED with the error text and stack trace, never COMPLETED,
  whether the reader hits a broken file or the writer fails at the final flush.
* A webhook answering 500 is retried; an unreachable one is logged and the export still succeeds.
* SESMailNotifier mails go through moto (Airflow connection via ``SesHook``, and exporters' keys).
* No secret value appears in any payload, mail, log line or command output.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.errors import ReaderError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import output_files, run_ozzy, write_config
from tests.servers.http_server import RecordingHTTPServer
from tests.servers.moto_server import SENDER, MotoServer

# SesHook imports Airflow in this process: never let it write to the user's ~/airflow
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="ozzy-airflow-home-"))

PARTS = 3
PER_PART = 100
TEAM = "team@example.com"
CLIENT = "client@example.com"
ACCESS_KEY = "AKIAOZZYNOTIFYTEST42"
SECRET_KEY = "ozzy-notify-secret/9f8e7d6c5b4a"


def _inputs(folder: Path, broken_part: int | None = None) -> list[dict[str, Any]]:
    """``PARTS`` gzip JSON-lines files; ``broken_part`` is cut in half (a damaged gzip)."""
    folder.mkdir(parents=True, exist_ok=True)
    items = [{"id": number, "part": number // PER_PART} for number in range(PARTS * PER_PART)]
    for part in range(PARTS):
        lines = items[part * PER_PART : (part + 1) * PER_PART]
        data = gzip.compress(b"".join(json.dumps(item).encode() + b"\n" for item in lines))
        if part == broken_part:
            data = data[: len(data) // 2]
        (folder / f"part-{part}.jl.gz").write_bytes(data)
    return items


def _config(tmp_path: Path, notifications: list[dict[str, Any]], **writer: Any) -> dict[str, Any]:
    writer.setdefault("filebase", str(tmp_path / "out" / "items_"))
    return {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "in")}, "batch_size": 50}},
        "writer": {"name": "FSWriter", "options": writer},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
        "exporter_options": {"notifications": notifications},
    }


def _webhook(server: RecordingHTTPServer, path: str) -> dict[str, Any]:
    return {"name": "WebhookNotifier", "options": {"endpoints": [f"{server.url}{path}"]}}


def _statuses(server: RecordingHTTPServer, path: str) -> list[str]:
    return [request.json["job_status"] for request in server.requests(path)]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- webhook ---------------------------------------------------------------------------------------


def test_a_successful_export_notifies_started_then_completed_with_its_counts(
    http_server: RecordingHTTPServer, tmp_path: Path
) -> None:
    http_server.reset()
    _inputs(tmp_path / "in")
    config = _config(tmp_path, [_webhook(http_server, "/ok")], items_per_buffer_write=200)

    stats = BasicExporter(config).export()

    assert _statuses(http_server, "/ok") == ["STARTED", "COMPLETED"]
    started, completed = (request.json for request in http_server.requests("/ok"))
    assert started["job_id"] == completed["job_id"] == stats["job_id"] != ""
    assert started["stats"]["items_read"] == 0
    counters = completed["stats"]
    assert counters["items_read"] == counters["items_written"] == PARTS * PER_PART
    assert counters["files_written"] == 2 == len(output_files(tmp_path / "out"))
    sizes = sum(path.stat().st_size for path in (tmp_path / "out").iterdir())
    assert counters["bytes_written"] == sizes
    assert counters["elapsed_seconds"] >= 0 and counters["finished"] is True
    assert "msg" not in completed and "stack_trace" not in completed
    assert "dag_id" not in completed  # outside Airflow there is no dag, task, run or try
    for request in http_server.requests("/ok"):
        assert request.method == "POST"
        assert request.headers["Content-Type"] == "application/json"


def test_a_broken_input_file_notifies_failed_with_the_error_and_never_completed(
    http_server: RecordingHTTPServer, tmp_path: Path
) -> None:
    http_server.reset()
    _inputs(tmp_path / "in", broken_part=1)
    exporter = BasicExporter(_config(tmp_path, [_webhook(http_server, "/broken")]))

    with pytest.raises(ReaderError) as caught:
        exporter.export()

    assert _statuses(http_server, "/broken") == ["STARTED", "FAILED"]
    failed = http_server.requests("/broken")[1].json
    assert failed["msg"] == str(caught.value)
    assert "part-1.jl.gz" in failed["msg"]
    assert failed["stack_trace"].startswith("Traceback (most recent call last)")
    assert "ReaderError" in failed["stack_trace"]
    assert failed["job_id"] == exporter.job_id
    assert PER_PART <= failed["stats"]["items_read"] < PARTS * PER_PART


def test_a_failure_at_the_final_flush_notifies_failed_not_completed(
    http_server: RecordingHTTPServer, tmp_path: Path
) -> None:
    http_server.reset()
    _inputs(tmp_path / "in")
    (tmp_path / "blocker").write_text("a file where the writer needs a directory")
    config = _config(
        tmp_path, [_webhook(http_server, "/flush")], filebase=str(tmp_path / "blocker" / "out" / "items_")
    )

    with pytest.raises(Exception) as caught:  # noqa: B017 (whatever the writer raises)
        BasicExporter(config).export()

    assert _statuses(http_server, "/flush") == ["STARTED", "FAILED"]
    failed = http_server.requests("/flush")[1].json
    assert failed["msg"] == str(caught.value) and "blocker" in failed["msg"]
    # every item was read and nothing written: the failure came at the final flush
    assert failed["stats"]["items_read"] == PARTS * PER_PART
    assert failed["stats"]["files_written"] == 0


def test_a_webhook_answering_500_is_retried(
    http_server: RecordingHTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    http_server.reset()
    _inputs(tmp_path / "in")
    http_server.fail_next(2)

    with caplog.at_level(logging.WARNING):
        stats = BasicExporter(_config(tmp_path, [_webhook(http_server, "/flaky")])).export()

    assert stats["finished"] is True
    answered = [(request.json["job_status"], request.status) for request in http_server.requests("/flaky")]
    assert answered == [("STARTED", 500), ("STARTED", 500), ("STARTED", 200), ("COMPLETED", 200)]
    bodies = {request.body for request in http_server.requests("/flaky")[:3]}
    assert len(bodies) == 1  # the same document, sent again
    retries = [record for record in caplog.records if "answered HTTP 500" in record.getMessage()]
    assert len(retries) == 2
    assert not [record for record in caplog.records if "not delivered" in record.getMessage()]


def test_an_unreachable_webhook_does_not_fail_the_export(
    http_server: RecordingHTTPServer, tmp_path: Path
) -> None:
    http_server.reset()
    _inputs(tmp_path / "in")
    dead = f"http://127.0.0.1:{_closed_port()}/hook"
    config = _config(
        tmp_path,
        [
            {"name": "WebhookNotifier", "options": {"endpoints": [dead, f"{http_server.url}/alive"]}},
        ],
    )
    config["exporter_options"]["disable_retries"] = True  # one attempt each: keep the test short
    path = write_config(tmp_path / "job.json", config)

    result = run_ozzy("run", "--quiet", str(path), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["items_written"] == PARTS * PER_PART
    assert len(output_files(tmp_path / "out")) == 1
    assert _statuses(http_server, "/alive") == ["STARTED", "COMPLETED"]  # the next endpoint still hears
    not_delivered = [line for line in result.stderr.splitlines() if "notification not delivered" in line]
    assert len(not_delivered) == 2, result.stderr
    assert "cannot reach http://127.0.0.1" in not_delivered[0] and "Connection refused" in not_delivered[0]
    assert "Traceback" not in result.stderr


# -- SES -------------------------------------------------------------------------------------------


def _ses(**options: Any) -> dict[str, Any]:
    defaults = {"team_mails": [TEAM], "client_mails": [CLIENT], "client_name": "ACME", "mail_from": SENDER}
    return {"name": "SESMailNotifier", "options": dict(defaults, **options)}


def test_ses_mails_go_through_an_airflow_connection(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_SES", moto_server.connection_json())
    for name in ("EXPORTERS_MAIL_AWS_ACCESS_KEY", "EXPORTERS_MAIL_AWS_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    good, bad = tmp_path / "good", tmp_path / "bad"
    _inputs(good / "in")
    _inputs(bad / "in", broken_part=2)
    sent_before = moto_server.sent_count()

    with moto_server.recording_mails():
        BasicExporter(_config(good, [_ses(aws_conn_id="ozzy_test_ses")])).export()
        with pytest.raises(ReaderError) as caught:
            BasicExporter(_config(bad, [_ses(aws_conn_id="ozzy_test_ses")])).export()

    mails = moto_server.recorded_mails()
    assert len(mails) == 4
    # moto counts one per recipient: every recorded mail was accepted, none bounced
    assert moto_server.sent_count() - sent_before == sum(len(mail.to) for mail in mails)
    assert [(mail.subject, mail.to) for mail in mails] == [
        ("Started ACME export job", [CLIENT, TEAM]),
        ("ACME export job finished", [CLIENT, TEAM]),
        ("Started ACME export job", [CLIENT, TEAM]),
        ("Failed export job for ACME", [TEAM]),  # failures go to the team only
    ]
    assert all(mail.source == SENDER for mail in mails)
    assert "Writer: FSWriter" in mails[0].body and f"Filebase: {good}/out/items_" in mails[0].body
    assert f"Total records exported: {PARTS * PER_PART}." in mails[1].body
    failure = mails[3].body
    assert str(caught.value) in failure
    assert "Stacktrace:\nTraceback (most recent call last)" in failure
    assert '"aws_conn_id": "ozzy_test_ses"' in failure  # the configuration, as JSON


def test_no_secret_value_in_payloads_mails_or_output(
    http_server: RecordingHTTPServer, moto_server: MotoServer, tmp_path: Path
) -> None:
    """exporters' key options (legacy path, no Airflow): the keys work, yet are never shown."""
    http_server.reset()
    _inputs(tmp_path / "in", broken_part=1)
    config = _config(
        tmp_path,
        [
            _ses(access_key=ACCESS_KEY, secret_key=SECRET_KEY),
            _webhook(http_server, "/secrets"),
        ],
    )
    path = write_config(tmp_path / "job.json", config)
    env = {"AWS_ENDPOINT_URL_SES": moto_server.endpoint_url, "EXPORTERS_MAIL_FROM": "unused@example.com"}

    with moto_server.recording_mails():
        result = run_ozzy("--debug", "run", "--quiet", str(path), cwd=tmp_path, env=env)

    assert result.returncode != 0
    mails = moto_server.recorded_mails()
    assert [mail.subject for mail in mails] == ["Started ACME export job", "Failed export job for ACME"]
    assert '"secret_key": "***"' in mails[1].body and '"access_key": "***"' in mails[1].body
    assert _statuses(http_server, "/secrets") == ["STARTED", "FAILED"]
    shown = [
        result.stdout,
        result.stderr,
        *(mail.body for mail in mails),
        *(mail.subject for mail in mails),
        *(request.body.decode() for request in http_server.requests()),
    ]
    for text in shown:
        assert SECRET_KEY not in text
        assert ACCESS_KEY not in text
