"""Ozzy: resumable data exports for Apache Airflow.

Importing the package must stay cheap (no Airflow import): the ``ozzy`` command line and the
engine start in well under a second for local exports.
"""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-ozzy",
        "name": "Ozzy",
        "description": "Resumable data exports: readers, filters, transforms, groupers, formatters, writers.",
        "versions": [__version__],
        "notifications": [
            "airflow_provider_ozzy.notifications.airflow_notifiers.WebhookNotifierCallback",
            "airflow_provider_ozzy.notifications.airflow_notifiers.SESMailNotifierCallback",
        ],
        "connection-types": [
            {
                "connection-type": "ozzy_scrapy_cloud",
                "hook-class-name": "airflow_provider_ozzy.hooks.scrapy_cloud_hook.ScrapyCloudHook",
                "hook-name": "Scrapy Cloud (Ozzy)",
                "conn-fields": {
                    "dash_endpoint": {
                        "label": "Dashboard API URL (optional)",
                        "description": "Default: $SHUB_APIURL or https://app.zyte.com/api/",
                        "schema": {"type": ["string", "null"]},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"password": "API key", "host": "Storage endpoint (optional)"},
                    "placeholders": {"host": "https://storage.scrapinghub.com/"},
                },
            },
            {
                "connection-type": "ozzy_kafka",
                "hook-class-name": "airflow_provider_ozzy.hooks.kafka_hook.OzzyKafkaHook",
                "hook-name": "Kafka (Ozzy, kafka-python)",
                "conn-fields": {
                    "security_protocol": {
                        "label": "Security protocol",
                        "description": "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                        "schema": {"type": ["string", "null"]},
                    },
                    "sasl_mechanism": {
                        "label": "SASL mechanism",
                        "description": "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (login and password are the SASL user)",
                        "schema": {"type": ["string", "null"]},
                    },
                    "ssl_cafile": {"label": "SSL CA file", "schema": {"type": ["string", "null"]}},
                    "ssl_certfile": {
                        "label": "SSL client certificate file",
                        "schema": {"type": ["string", "null"]},
                    },
                    "ssl_keyfile": {"label": "SSL client key file", "schema": {"type": ["string", "null"]}},
                    "ssl_password": {
                        "label": "SSL key password",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                },
                "ui-field-behaviour": {
                    "hidden-fields": ["schema"],
                    "relabeling": {
                        "host": "Bootstrap servers",
                        "login": "SASL user",
                        "password": "SASL password",
                    },
                    "placeholders": {
                        "host": "broker1:9092,broker2:9092",
                        "port": "9092 (hosts without a port)",
                    },
                },
            },
        ],
    }
