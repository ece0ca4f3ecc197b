"""``aws.as_retryable``: which botocore errors the one retry policy retries, and with what text."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from airflow_provider_ozzy.core.retries import TransientError, is_transient
from airflow_provider_ozzy.errors import OzzyError
from airflow_provider_ozzy.services.aws import as_retryable, error_text


def _client_error(status: int, code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SendRawEmail",
    )


@pytest.mark.parametrize(
    ("status", "code", "retried_as"),
    [(503, "ServiceUnavailable", 503), (400, "Throttling", 503), (429, "TooManyRequests", 429)],
)
def test_transient_client_errors_become_the_one_transient_error(
    status: int, code: str, retried_as: int
) -> None:
    error = _client_error(status, code)
    translated = as_retryable(error)
    assert isinstance(translated, TransientError) and isinstance(translated, OzzyError)
    assert translated.status_code == retried_as and is_transient(translated)
    assert str(translated) == error_text(error)


def test_permanent_client_errors_and_dropped_connections() -> None:
    refused = _client_error(403, "AccessDenied")
    assert as_retryable(refused) is refused and not is_transient(refused)
    dropped = as_retryable(EndpointConnectionError(endpoint_url="https://email.example"))
    assert type(dropped) is ConnectionError and is_transient(dropped)
