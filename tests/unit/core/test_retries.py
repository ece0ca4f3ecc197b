"""Which HTTP answers ``retries.is_transient`` retries: the one rule every service's translation uses."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.core.retries import TransientError, call_with_retries, is_transient


@pytest.mark.parametrize(("status", "transient"), [(408, True), (429, True), (500, True), (400, False)])
def test_a_request_timeout_is_retried_like_throttling_and_server_errors(status: int, transient: bool) -> None:
    # Azure and GCS turn a 408 into a TransientError(..., 408): it must get another attempt
    assert is_transient(TransientError("AzureBlobWriter: container, x: 408", status)) is transient


def test_a_408_answered_once_succeeds_on_the_next_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZZY_RETRY_MAX_WAIT", "0")
    answers = [TransientError("GCSWriter: gs://b/k: HTTP 408", 408)]

    def upload() -> str:
        if answers:
            raise answers.pop()
        return "done"

    assert call_with_retries(upload, attempts=2) == "done"
