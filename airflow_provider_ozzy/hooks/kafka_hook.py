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

from airflow_provider_ozzy.hooks.connection_forms import KAFKA_CONN_FIELDS as CONN_FIELDS
from airflow_provider_ozzy.hooks.connection_forms import KAFKA_CONN_TYPE
from airflow_provider_ozzy.hooks.connection_forms import KAFKA_UI_FIELD_BEHAVIOUR as UI_FIELD_BEHAVIOUR
from airflow_provider_ozzy.services.kafka import (
    DEFAULT_PORT,
    EXTRA_SETTINGS,
    config_from_connection,
    connection_config,
)

__all__ = ["CONN_FIELDS", "DEFAULT_PORT", "EXTRA_SETTINGS", "OzzyKafkaHook", "config_from_connection"]


class OzzyKafkaHook(BaseHook):
    """kafka-python client settings from an ``ozzy_kafka`` connection.

    :param kafka_conn_id: the Airflow connection id.
    """

    conn_name_attr = "kafka_conn_id"
    default_conn_name = "ozzy_kafka_default"
    conn_type = KAFKA_CONN_TYPE
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
        return connection_config(self.kafka_conn_id)

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
