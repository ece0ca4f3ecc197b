"""OzzyKafkaHook's connection type: form fields, provider info, and kafka-python settings from fields."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy import get_provider_info
from airflow_provider_ozzy.hooks.kafka_hook import (
    CONN_FIELDS,
    EXTRA_SETTINGS,
    OzzyKafkaHook,
    config_from_connection,
)


def test_provider_info_declares_the_connection_type_with_its_fields() -> None:
    entry = next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == "ozzy_kafka")
    assert entry["hook-class-name"] == "airflow_provider_ozzy.hooks.kafka_hook.OzzyKafkaHook"
    assert set(entry["conn-fields"]) == set(CONN_FIELDS) and set(CONN_FIELDS) <= set(EXTRA_SETTINGS)
    assert entry["conn-fields"]["ssl_password"]["schema"]["format"] == "password"
    assert OzzyKafkaHook.conn_type == "ozzy_kafka"
    assert OzzyKafkaHook.get_ui_field_behaviour()["relabeling"]["host"] == "Bootstrap servers"


def test_settings_from_connection_fields() -> None:
    assert config_from_connection("a:1, b ,[::1]:3", 9093, None, None, {}) == {
        "bootstrap_servers": ["a:1", "b:9093", "[::1]:3"]
    }
    config = config_from_connection("k:9092", None, "user", "pw", {"ssl_cafile": "/ca.pem", "client_id": ""})
    assert config == {
        "bootstrap_servers": ["k:9092"],
        "ssl_cafile": "/ca.pem",
        "sasl_plain_username": "user",
        "sasl_plain_password": "pw",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
    }
    config = config_from_connection(
        "k", None, "u", "p", {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512"}
    )
    assert config["bootstrap_servers"] == ["k:9092"] and config["sasl_mechanism"] == "SCRAM-SHA-512"


@pytest.mark.parametrize(
    ("host", "extra", "message"),
    [
        ("", {}, "no bootstrap servers"),
        ("k:1", {"colour": "red"}, "unknown extra field"),
        ("k:1", {"security_protocol": "TLS"}, "security_protocol must be one of"),
        ("k:1", {"security_protocol": "SASL_SSL"}, "needs a sasl_mechanism"),
    ],
)
def test_bad_connection_fields_are_errors(host: str, extra: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_from_connection(host, None, None, None, extra)
