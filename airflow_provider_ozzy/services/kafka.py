"""How Kafka modules reach a broker: options, kafka-python client settings and error wording.

Give an Airflow connection (``kafka_conn_id``, type ``ozzy_kafka``, read by ``OzzyKafkaHook`` when
the first client is built, never at validation) or exporters' ``brokers`` with ``ssl_configs``.
Without a connection id no Airflow module is imported, so ``ozzy run`` stays quick. Secrets
(SASL password, SSL key password) never appear in messages.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.options import STR_LIST
from airflow_provider_ozzy.core.redaction import mask

# kafka-python settings a connection (or exporters' ``ssl_configs``) may set.
SECURITY_SETTINGS = (
    "security_protocol",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
    "sasl_kerberos_service_name",
    "sasl_kerberos_domain_name",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_password",
    "ssl_crlfile",
    "ssl_ciphers",
    "ssl_check_hostname",
)
SECRET_SETTINGS = ("sasl_plain_password", "ssl_password")
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER")

KAFKA_OPTIONS: dict[str, dict[str, Any]] = {
    "kafka_conn_id": {
        "type": (str, type(None)),
        "default": None,
        "help": "Airflow connection of type ozzy_kafka (bootstrap servers, security protocol, SASL, SSL "
        "files). Give this or 'brokers'.",
    },
    "brokers": {
        "type": (STR_LIST, type(None)),
        "default": None,
        "help": "Legacy: bootstrap servers as host:port strings (without kafka_conn_id).",
    },
    "ssl_configs": {
        "type": (dict, type(None)),
        "default": None,
        "secret": True,
        "help": "Legacy: kafka-python security settings with 'brokers' (security_protocol, ssl_cafile, "
        "ssl_certfile, ssl_keyfile, sasl_mechanism, sasl_plain_username, sasl_plain_password, ...).",
    },
    "timeout": {
        "type": (int, float),
        "minimum": 0.001,
        "maximum": 86400,
        "default": 30,
        "help": "Seconds to wait for the broker: connecting, and for messages known to exist.",
    },
}


def kafka_problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(option, message) for a contradictory or incomplete broker choice; no network access."""
    problems = []
    if values["kafka_conn_id"] and values["brokers"]:
        problems.append(
            ("brokers", "give either 'kafka_conn_id' (an Airflow connection) or 'brokers', not both")
        )
    elif not values["kafka_conn_id"] and not values["brokers"]:
        problems.append(("brokers", "give 'kafka_conn_id' (an Airflow connection) or 'brokers'"))
    for broker in values["brokers"] or []:
        host, _, port = broker.rpartition(":")
        if not host or not port.isdigit():
            problems.append(("brokers", f"option 'brokers' needs host:port entries, got {broker!r}"))
    ssl_configs = values["ssl_configs"] or {}
    if ssl_configs and values["kafka_conn_id"]:
        problems.append(("ssl_configs", "with 'kafka_conn_id' security settings come from the connection"))
    unknown = sorted(set(ssl_configs) - set(SECURITY_SETTINGS))
    if unknown:
        problems.append(
            (
                "ssl_configs",
                f"unknown setting(s) {unknown} in 'ssl_configs' (known: {', '.join(SECURITY_SETTINGS)})",
            )
        )
    problems.extend(("ssl_configs", message) for message in security_problems(ssl_configs))
    if values["timeout"] <= 0:
        problems.append(("timeout", "option 'timeout' must be a positive number of seconds"))
    return problems


def security_problems(settings: dict[str, Any]) -> list[str]:
    """Messages for security settings kafka-python would reject (shared with the hook)."""
    problems = []
    protocol = settings.get("security_protocol")
    if protocol is not None and protocol not in SECURITY_PROTOCOLS:
        problems.append(f"security_protocol must be one of {', '.join(SECURITY_PROTOCOLS)}, got {protocol!r}")
    mechanism = settings.get("sasl_mechanism")
    if mechanism is not None and mechanism not in SASL_MECHANISMS:
        problems.append(f"sasl_mechanism must be one of {', '.join(SASL_MECHANISMS)}, got {mechanism!r}")
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL") and not mechanism:
        problems.append(f"security_protocol {protocol} needs a sasl_mechanism")
    return problems


CONN_TYPE = "ozzy_kafka"  # the Airflow connection type (hooks/kafka_hook.py)
DEFAULT_PORT = 9092
EXTRA_SETTINGS = tuple(name for name in SECURITY_SETTINGS if not name.startswith("sasl_plain_")) + (
    "client_id",
)


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


def connection_config(conn_id: str) -> dict[str, Any]:
    """kafka-python settings from the ``ozzy_kafka`` Airflow connection ``conn_id`` (what
    ``OzzyKafkaHook.client_config`` serves too); Airflow is imported only here."""
    from airflow.providers.common.compat.sdk import BaseHook

    connection = BaseHook.get_connection(conn_id)
    return config_from_connection(
        connection.host, connection.port, connection.login, connection.password, connection.extra_dejson
    )


class KafkaConnection:
    """Client settings for one module, from its options; says which broker it talks to."""

    def __init__(self, owner: str, options: dict[str, Any]) -> None:
        self.owner = owner
        self.options = options
        self._settings: dict[str, Any] | None = None

    def settings(self) -> dict[str, Any]:
        """kafka-python keyword arguments shared by consumers and admin clients."""
        if self._settings is None:
            if self.options["kafka_conn_id"]:
                settings = connection_config(self.options["kafka_conn_id"])
            else:
                settings = {
                    "bootstrap_servers": list(self.options["brokers"]),
                    **(self.options["ssl_configs"] or {}),
                }
            timeout_ms = int(self.options["timeout"] * 1000)
            settings.setdefault("bootstrap_timeout_ms", timeout_ms)
            self._settings = settings
        return self._settings

    def consumer(self, group_id: str | None = None) -> Any:
        """A consumer that never commits by itself and fails on missing offsets instead of jumping."""
        from kafka import KafkaConsumer

        return KafkaConsumer(
            **self.settings(),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="none",
            allow_auto_create_topics=False,
        )

    def brokers(self) -> str:
        """The bootstrap servers, for messages (the connection id too, when one is used)."""
        if self._settings is None and self.options["kafka_conn_id"]:
            try:
                self.settings()
            except Exception:
                return f"(Airflow connection '{self.options['kafka_conn_id']}')"
        servers = self._settings["bootstrap_servers"] if self._settings else self.options["brokers"]
        text = ",".join(servers) if isinstance(servers, list) else str(servers)
        if self.options["kafka_conn_id"]:
            text += f" (connection '{self.options['kafka_conn_id']}')"
        return text

    def secrets(self) -> list[str]:
        found = [self.settings().get(name) for name in SECRET_SETTINGS] if self._settings else []
        found += [(self.options["ssl_configs"] or {}).get(name) for name in SECRET_SETTINGS]
        return [secret for secret in found if isinstance(secret, str) and secret]

    def describe(self, error: BaseException) -> str:
        """The error's text without any secret."""
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return mask(text, self.secrets())

    def failure(
        self,
        action: str,
        topic: str,
        error: BaseException | str,
        partition: int | None = None,
        offset: int | None = None,
    ) -> str:
        """A message naming the module, the topic (partition, offset) and the brokers."""
        where = f"topic '{topic}'"
        if partition is not None:
            where += f" partition {partition}"
        if offset is not None:
            where += f" offset {offset}"
        reason = error if isinstance(error, str) else self.describe(error)
        return f"{self.owner}: cannot {action} {where} on broker(s) {self.brokers()}: {reason}"
