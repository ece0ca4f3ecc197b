"""Notifiers without servers: option validation at config time, payloads, mails, redaction."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_ozzy.core.redaction import REDACTED
from airflow_provider_ozzy.engine.config import ExportConfig, check
from airflow_provider_ozzy.engine.secret_options import redact_configuration
from airflow_provider_ozzy.notifications.base_notifier import (
    COMPLETED,
    FAILED,
    RETRYING,
    STARTED,
    JobEvent,
)
from airflow_provider_ozzy.notifications.ses_mail_notifier import SESMailNotifier
from airflow_provider_ozzy.notifications.webhook_notifier import WebhookNotifier, shown_url


def _config(*notifiers: dict) -> ExportConfig:
    return ExportConfig(
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
            "writer": {"name": "ConsoleWriter"},
            "exporter_options": {"notifications": list(notifiers)},
        }
    )


def test_bad_notifier_options_are_all_reported_at_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPORTERS_MAIL_FROM", raising=False)
    errors = check(
        _config(
            {"name": "WebhookNotifier", "options": {}},
            {"name": "WebhookNotifier", "options": {"endpoints": ["hooks/ozzy", "ftp://x/y"]}},
            {
                "name": "exporters.notifications.ses_mail_notifier.SESMailNotifier",
                "options": {"team_mails": ["team@example.com", "nobody"], "client_mails": ["a@b\nBcc: x@y"]},
            },
            {"name": "FSWriter"},
        )
    )
    text = "\n".join(errors)
    assert "notifications 0 (WebhookNotifier): give at least one endpoint URL, or an http_conn_id" in text
    assert "'hooks/…' is not an http(s) URL (relative paths need an http_conn_id)" in text
    assert "endpoint 'ftp://x/y' is not an http(s) URL\n" in text + "\n"
    assert "notifications 2 (SESMailNotifier): missing mandatory option 'mail_from'" in text
    assert "EXPORTERS_MAIL_FROM" in text
    assert "notifications 3: unknown notifications module 'FSWriter': FSWriter is a writers module" in text
    assert len(errors) == 5, errors  # the bad addresses come once mail_from is known, see below

    monkeypatch.setenv("EXPORTERS_MAIL_FROM", "ozzy@example.com")
    errors = check(
        _config(
            {
                "name": "SESMailNotifier",
                "options": {"team_mails": ["team@example.com", "nobody"], "client_mails": ["a@b\nBcc: x@y"]},
            }
        )
    )
    assert len(errors) == 2, errors
    assert "team_mails: 'nobody' is not an e-mail address" in errors[0]
    assert "client_mails: 'a@b\\nBcc: x@y' is not an e-mail address" in errors[1]


def test_validation_touches_no_connection_and_hides_secret_values() -> None:
    good = _config(
        {"name": "WebhookNotifier", "options": {"http_conn_id": "no_such_conn", "endpoints": ["/hook"]}},
        {
            "name": "SESMailNotifier",
            "options": {"mail_from": "ozzy@example.com", "aws_conn_id": "no_such_conn"},
        },
    )
    assert check(good) == []
    errors = check(
        _config(
            {
                "name": "SESMailNotifier",
                "options": {
                    "mail_from": "ozzy@example.com",
                    "access_key": 98765432123,
                    "secret_key": "s3cr3t-v4lue",
                },
            }
        )
    )
    assert (
        len(errors) == 1
        and "option 'access_key' must be a string or null, got integer from value" in errors[0]
    )
    assert "98765432123" not in errors[0] and "s3cr3t-v4lue" not in errors[0]


def test_redaction_masks_declared_and_obvious_secrets_only() -> None:
    data: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "/in", "password": "p1"}}},
        "writer": {
            "name": "some.plugin.Writer",
            "options": {"filebase": "/out/x_", "api_key": "k1", "passive": 1},
        },
        "exporter_options": {
            "notifications": [
                {
                    "name": "SESMailNotifier",
                    "options": {"access_key": "AK", "secret_key": "SK", "client_name": "C"},
                }
            ]
        },
    }
    redacted = redact_configuration(data)
    text = json.dumps(redacted)
    for secret in ("p1", "k1", '"AK"', '"SK"'):
        assert secret not in text
    notifier = redacted["exporter_options"]["notifications"][0]["options"]
    assert notifier == {"access_key": REDACTED, "secret_key": REDACTED, "client_name": "C"}
    assert redacted["writer"]["options"] == {"filebase": "/out/x_", "api_key": REDACTED, "passive": 1}
    assert data["exporter_options"]["notifications"][0]["options"]["secret_key"] == "SK"  # a copy


def test_webhook_payload_carries_identity_counters_and_failure() -> None:
    event = JobEvent(
        FAILED,
        job={
            "job_id": "j1",
            "dag_id": "d",
            "task_id": "t",
            "run_id": "r",
            "try_number": 2,
            "map_index": None,
        },
        stats={
            "items_read": 5,
            "items_written": 3,
            "resume_uri": "postgresql://u:pw@h/db",
            "finished": False,
        },
        message="boom",
        stack_trace="Traceback ...",
    )
    payload = WebhookNotifier.payload(event)
    assert payload["job_status"] == "FAILED"
    assert {k: payload[k] for k in ("job_id", "dag_id", "task_id", "run_id", "try_number")} == {
        "job_id": "j1",
        "dag_id": "d",
        "task_id": "t",
        "run_id": "r",
        "try_number": 2,
    }
    assert "map_index" not in payload
    assert payload["stats"] == {"items_read": 5, "items_written": 3, "finished": False}
    assert payload["msg"] == "boom" and payload["stack_trace"] == "Traceback ..."


def test_shown_urls_keep_tokens_out_of_logs() -> None:
    assert shown_url("https://user:pw@hooks.example.com/services/T0/B0/XYZ?token=1") == (
        "https://hooks.example.com/services/…"
    )
    assert shown_url("http://127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"


def test_mail_subjects_and_bodies_follow_exporters() -> None:
    notifier = SESMailNotifier(
        {"mail_from": "ozzy@example.com", "client_name": "ACME", "team_mails": ["t@example.com"]}
    )
    config = {
        "writer": {"name": "ozzy.writers.s3_writer.S3Writer", "options": {"bucket": "b", "filebase": "x/"}}
    }
    subject, body = notifier.compose(JobEvent(STARTED, job={"job_id": "j"}, configuration=config))
    assert subject == "Started ACME export job"
    assert "Writer: S3Writer\nBucket: b\nFilebase: x/\n" in body
    subject, body = notifier.compose(JobEvent(COMPLETED, stats={"items_written": 42}))
    assert subject == "ACME export job finished"
    assert "Total records exported: 42." in body
    subject, body = notifier.compose(
        JobEvent(
            RETRYING,
            job={"try_number": 1},
            message="bad file",
            stack_trace="Traceback: x",
            configuration=config,
        )
    )
    assert subject == "Failed export job for ACME (try 1, will be retried)"
    assert "bad file" in body and "Stacktrace:\nTraceback: x" in body and '"bucket": "b"' in body
