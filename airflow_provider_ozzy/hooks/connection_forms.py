"""The connection forms of Ozzy's own connection types, declared once and without Airflow.

Each hook (``hooks/kafka_hook.py``, ``hooks/scrapy_cloud_hook.py``) serves its form from here, and
``get_provider_info`` builds its ``connection-types`` from ``connection_types()``: Airflow 3.2+ reads
the form from the provider info without importing the hook, so the two can never drift apart.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.services.kafka import CONN_TYPE as KAFKA_CONN_TYPE
from airflow_provider_ozzy.services.scrapy_cloud import CONN_TYPE as SCRAPY_CLOUD_CONN_TYPE

KAFKA_CONN_FIELDS: dict[str, dict[str, Any]] = {
    "security_protocol": {
        "label": "Security protocol",
        "description": "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
        "schema": {
            "type": ["string", "null"],
            "enum": ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", None],
        },
    },
    "sasl_mechanism": {
        "label": "SASL mechanism",
        "description": "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (user and password are the login fields)",
        "schema": {"type": ["string", "null"]},
    },
    "ssl_cafile": {"label": "SSL CA file", "schema": {"type": ["string", "null"]}},
    "ssl_certfile": {"label": "SSL client certificate file", "schema": {"type": ["string", "null"]}},
    "ssl_keyfile": {"label": "SSL client key file", "schema": {"type": ["string", "null"]}},
    "ssl_password": {
        "label": "SSL key password",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
}
KAFKA_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["schema"],
    "relabeling": {"host": "Bootstrap servers", "login": "SASL user", "password": "SASL password"},
    "placeholders": {"host": "broker1:9092,broker2:9092", "port": "9092 (for hosts without a port)"},
}

SCRAPY_CLOUD_CONN_FIELDS: dict[str, dict[str, Any]] = {
    "dash_endpoint": {
        "label": "Dashboard API URL (optional)",
        "description": "Default: $SHUB_APIURL or https://app.zyte.com/api/",
        "schema": {"type": ["string", "null"]},
    },
}
SCRAPY_CLOUD_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["schema", "login", "port"],
    "relabeling": {"password": "API key", "host": "Storage endpoint (optional)"},
    "placeholders": {
        "host": "https://storage.scrapinghub.com/",
        "extra": '{"dash_endpoint": "https://app.zyte.com/api/"}',
    },
}

# (type, hook class, hook name, form fields, field behaviour)
_FORMS = (
    (
        SCRAPY_CLOUD_CONN_TYPE,
        "airflow_provider_ozzy.hooks.scrapy_cloud_hook.ScrapyCloudHook",
        "Scrapy Cloud (Ozzy)",
        SCRAPY_CLOUD_CONN_FIELDS,
        SCRAPY_CLOUD_UI_FIELD_BEHAVIOUR,
    ),
    (
        KAFKA_CONN_TYPE,
        "airflow_provider_ozzy.hooks.kafka_hook.OzzyKafkaHook",
        "Kafka (Ozzy, kafka-python)",
        KAFKA_CONN_FIELDS,
        KAFKA_UI_FIELD_BEHAVIOUR,
    ),
)


def connection_types() -> list[dict[str, Any]]:
    """``get_provider_info()["connection-types"]``: the hooks' own declarations, in its spelling."""
    return [
        {
            "connection-type": conn_type,
            "hook-class-name": hook_class,
            "hook-name": hook_name,
            "conn-fields": conn_fields,
            "ui-field-behaviour": {key.replace("_", "-"): value for key, value in behaviour.items()},
        }
        for conn_type, hook_class, hook_name, conn_fields, behaviour in _FORMS
    ]
