"""Where the "Ozzy output" extra link points for each destination, and the "Ozzy exports" page link.

The links of a finished task are checked end to end in ``tests/e2e/test_assets_dags.py``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_ozzy.operators.links import OzzyExportsLink, output_url


@pytest.mark.parametrize(
    ("writer", "url"),
    [
        (
            {"name": "S3Writer", "options": {"bucket": "bk", "filebase": "exp/%Y/x_"}},
            "https://s3.console.aws.amazon.com/s3/buckets/bk?prefix=exp%2F",
        ),
        (
            {"name": "S3Writer", "options": {"bucket": "bk", "filebase": "x_"}},
            "https://s3.console.aws.amazon.com/s3/buckets/bk",
        ),
        (
            {"name": "GStorageWriter", "options": {"bucket": "gb", "filebase": "a b/x_"}},
            "https://console.cloud.google.com/storage/browser/gb/a%20b",
        ),
        (
            {
                "name": "AzureBlobWriter",
                "options": {"account_name": "acct", "container": "c", "filebase": "d/x_"},
            },
            "https://acct.blob.core.windows.net/c/d",
        ),
        ({"name": "FSWriter", "options": {"filebase": "/data/out/x_"}}, "file:///data/out"),
        (
            {"name": "SFTPWriter", "options": {"host": "h", "port": 2222, "filebase": "/up/x_"}},
            "sftp://h:2222/up",
        ),
    ],
)
def test_the_output_link_points_at_the_destination(writer: dict[str, Any], url: str) -> None:
    assert output_url(writer) == url


def test_the_exports_page_link_is_under_the_api_servers_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/base/")
    key = SimpleNamespace(dag_id="daily sales", task_id="export")

    link = OzzyExportsLink().get_link(None, ti_key=key)

    assert link == "https://airflow.example.com/base/ozzy/exports?dag_id=daily+sales&task_id=export"
