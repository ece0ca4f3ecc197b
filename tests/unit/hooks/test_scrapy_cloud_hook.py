"""``ScrapyCloudHook`` and its connection type: provider registration and credentials from connections.

Connections come from ``AIRFLOW_CONN_*`` variables (no metadata DB). Reading collections through
the hook against a server is in ``tests/integration/test_hubstorage.py``.
"""

from __future__ import annotations

import importlib
import json

import pytest

from airflow_provider_ozzy import get_provider_info
from airflow_provider_ozzy.errors import OzzyError


def test_the_connection_type_is_registered_with_its_hook() -> None:
    entries = [
        each
        for each in get_provider_info()["connection-types"]
        if each["connection-type"] == "ozzy_scrapy_cloud"
    ]
    assert len(entries) == 1
    module_name, _, class_name = entries[0]["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(module_name), class_name)
    assert hook.conn_type == "ozzy_scrapy_cloud" and hook.conn_name_attr == "scrapy_cloud_conn_id"
    assert hook.get_ui_field_behaviour()["relabeling"]["password"] == "API key"


def test_credentials_and_clients_from_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_ozzy.hooks.scrapy_cloud_hook import ScrapyCloudHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_SC_FULL",
        json.dumps(
            {
                "conn_type": "ozzy_scrapy_cloud",
                "host": "storage.example.com",
                "port": 8002,
                "password": "k1",
                "extra": {"dash_endpoint": "https://dash.example.com/api/"},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SC_PLAIN", json.dumps({"conn_type": "ozzy_scrapy_cloud", "password": "k2"})
    )
    monkeypatch.setenv("AIRFLOW_CONN_SC_NOKEY", json.dumps({"conn_type": "ozzy_scrapy_cloud", "host": "h"}))
    assert ScrapyCloudHook("sc_full").credentials() == (
        "k1",
        "https://storage.example.com:8002/",
        "https://dash.example.com/api/",
    )
    assert ScrapyCloudHook("sc_plain").credentials() == ("k2", None, None)
    client = ScrapyCloudHook("sc_full").get_client()
    assert client._hsclient.endpoint == "https://storage.example.com:8002/"
    assert client._hsclient.auth == ("k1", "")
    hubstorage = ScrapyCloudHook("sc_plain").get_hubstorage_client(endpoint="http://127.0.0.1:9/")
    assert hubstorage.endpoint == "http://127.0.0.1:9/" and hubstorage.auth == ("k2", "")
    with pytest.raises(OzzyError, match="connection 'sc_nokey' has no API key"):
        ScrapyCloudHook("sc_nokey").credentials()
    with pytest.raises(OzzyError, match="cannot get Airflow connection 'sc_missing'"):
        ScrapyCloudHook("sc_missing").credentials()
