"""Which HTTP answers ``retries.is_transient`` retries: the one rule every service's translation uses."""

from __future__ import annotations

import time

import pytest

from airflow_provider_ozzy.core.retries import RetryPolicy, TransientError, call_with_retries, is_transient


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


def test_the_first_attempts_time_counts_against_the_retry_budget() -> None:
    """``call_with_retries`` makes its first attempt before building the policy: that attempt's time
    still counts against ``max_seconds`` (no attempt starts later than that after the first)."""
    calls: list[float] = []

    def slow_then_dropped() -> str:
        calls.append(time.monotonic())
        if len(calls) == 1:
            time.sleep(0.3)
            raise ConnectionResetError("the server closed the connection")  # retried without a wait
        return "done"

    assert call_with_retries(slow_then_dropped, policy=RetryPolicy(5, 1.0)) == "done"
    calls.clear()
    with pytest.raises(ConnectionResetError):
        call_with_retries(slow_then_dropped, policy=RetryPolicy(5, 0.2))
    assert len(calls) == 1, "a second attempt started after the 0.2 s budget"
