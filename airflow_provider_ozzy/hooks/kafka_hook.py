"""``OzzyKafkaHook``: an Airflow connection (type ``ozzy_kafka``) for kafka-python clients.

The community Kafka provider is built on confluent-kafka (librdkafka); Ozzy reads with kafka-python
(pure Python, pinned to 3.0.12 because 3.x renamed admin methods and changed consumer defaults), so
it has its own connection type. Fields:

- host: bootstrap servers, ``host:port`` separated by commas (a host without a port takes the
  connection's port, else 9092);
- login / password: SASL user and password;
- extra: ``security_protocol`` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), ``sasl_mechanism``
  (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...), ``ssl_cafile``, ``ssl_certfile``, ``ssl_keyfile``,
  ``ssl_password``, ``ssl_check_hostname``, ``client_id``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from airflow_provider_ozzy.services.kafka import SECURITY_SETTINGS, security_problems

DEFAULT_PORT = 9092
EXTRA_SETTINGS = tuple(name for name in SECURITY_SETTINGS if not name.startswith("sasl_plain_")) + (
    "client_id",
)

# Declarative form fields (Airflow 3.2+ reads them from get_provider_info without importing the hook).
CONN_FIELDS: dict[str, dict[str, Any]] = {
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
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["schema"],
    "relabeling": {"host": "Bootstrap servers", "login": "SASL user", "password": "SASL password"},
    "placeholders": {"host": "broker1:9092,broker2:9092", "port": "9092 (for hosts without a port)"},
}


class OzzyKafkaHook(BaseHook):
    """kafka-python client settings from an ``ozzy_kafka`` connection.

    :param kafka_conn_id: the Airflow connection id.
    """

    conn_name_attr = "kafka_conn_id"
    default_conn_name = "ozzy_kafka_default"
    conn_type = "ozzy_kafka"
    hook_name = "Kafka (Ozzy, kafka-python)"

    def __init__(self, kafka_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.kafka_conn_id = kafka_conn_id

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form (Airflow before 3.2; later ones use ``CONN_FIELDS``)."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import PasswordField, StringField

        widgets: dict[str, Any] = {}
        for name, field in CONN_FIELDS.items():
            if field["schema"].get("format") == "password":
                widgets[name] = PasswordField(lazy_gettext(field["label"]), widget=BS3PasswordFieldWidget())
            else:
                widgets[name] = StringField(lazy_gettext(field["label"]), widget=BS3TextFieldWidget())
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return UI_FIELD_BEHAVIOUR

    def client_config(self) -> dict[str, Any]:
        """Keyword arguments for ``KafkaConsumer`` / ``KafkaAdminClient`` (bootstrap, security)."""
        connection = self.get_connection(self.kafka_conn_id)
        return config_from_connection(
            connection.host, connection.port, connection.login, connection.password, connection.extra_dejson
        )

    def get_consumer(self, **kwargs: Any) -> Any:
        from kafka import KafkaConsumer

        return KafkaConsumer(**{**self.client_config(), **kwargs})

    def get_admin_client(self, **kwargs: Any) -> Any:
        from kafka import KafkaAdminClient

        return KafkaAdminClient(**{**self.client_config(), **kwargs})

    def test_connection(self) -> tuple[bool, str]:
        """Fetch the cluster's topics (what the UI's Test button calls)."""
        try:
            consumer = self.get_consumer(bootstrap_timeout_ms=5000)
            try:
                topics = consumer.topics()
            finally:
                consumer.close()
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"
        return True, f"Connected; {len(topics)} topic(s) visible"


def config_from_connection(
    host: str | None, port: int | None, login: str | None, password: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """kafka-python settings from connection fields; invalid fields are a ``ValueError``."""
    servers = []
    for part in (host or "").split(","):
        part = part.strip()
        if not part:
            continue
        if ":" not in part.rsplit("]", 1)[-1]:
            part = f"{part}:{port or DEFAULT_PORT}"
        servers.append(part)
    if not servers:
        raise ValueError("the connection has no bootstrap servers in its host field")
    unknown = sorted(set(extra) - set(EXTRA_SETTINGS))
    if unknown:
        raise ValueError(f"unknown extra field(s) {unknown} (known: {', '.join(EXTRA_SETTINGS)})")
    config: dict[str, Any] = {"bootstrap_servers": servers}
    config.update({name: value for name, value in extra.items() if value not in (None, "")})
    if login:
        config["sasl_plain_username"] = login
    if password:
        config["sasl_plain_password"] = password
    if login and "security_protocol" not in config:
        config["security_protocol"] = "SASL_PLAINTEXT"
    if login and "sasl_mechanism" not in config:
        config["sasl_mechanism"] = "PLAIN"
    problems = security_problems(config)
    if problems:
        raise ValueError("; ".join(problems))
    return config
