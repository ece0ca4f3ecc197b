"""Ozzy: resumable data exports for Apache Airflow.

Importing the package must stay cheap (no Airflow import): the ``ozzy`` command line and the
engine start in well under a second for local exports.
"""

from __future__ import annotations

__version__ = "0.1.0"

_EXPORTS = "Ozzy exports"
_KAFKA = "Apache Kafka (Ozzy)"
_SCRAPY_CLOUD = "Scrapy Cloud (Ozzy)"

# The operator extra link classes (Airflow's "extra-links", ``BaseOperatorLink`` subclasses that
# operators list in ``operator_extra_links``).
EXTRA_LINKS: list[str] = [
    "airflow_provider_ozzy.operators.links.OzzyOutputLink",
    "airflow_provider_ozzy.operators.links.OzzyExportsLink",
]


def get_provider_info() -> dict:
    """Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

    Shaped like the ``get_provider_info`` Airflow generates from a provider's ``provider.yaml``;
    ``airflow providers get airflow-provider-ozzy --full`` shows it. Airflow sets
    ``documentation-url`` itself, from the package's ``Project-URL: Documentation`` (pyproject.toml).
    """
    from airflow_provider_ozzy.hooks.connection_forms import connection_types

    return {
        "package-name": "airflow-provider-ozzy",
        "name": "Ozzy",
        "description": "Resumable data exports: readers, filters, transforms, groupers, formatters, writers.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": _EXPORTS, "tags": ["software"]},
            {
                "integration-name": _KAFKA,
                "external-doc-url": "https://kafka.apache.org/",
                "tags": ["apache", "service"],
            },
            {
                "integration-name": _SCRAPY_CLOUD,
                "external-doc-url": "https://docs.zyte.com/scrapy-cloud.html",
                "tags": ["service"],
            },
        ],
        "operators": [
            {
                "integration-name": _EXPORTS,
                "python-modules": [
                    "airflow_provider_ozzy.operators.ozzy_export",
                    "airflow_provider_ozzy.operators.sharded_export",
                ],
            }
        ],
        "triggers": [
            {"integration-name": _EXPORTS, "python-modules": ["airflow_provider_ozzy.operators.triggers"]}
        ],
        "hooks": [
            {"integration-name": _KAFKA, "python-modules": ["airflow_provider_ozzy.hooks.kafka_hook"]},
            {
                "integration-name": _SCRAPY_CLOUD,
                "python-modules": ["airflow_provider_ozzy.hooks.scrapy_cloud_hook"],
            },
        ],
        "notifications": [
            "airflow_provider_ozzy.notifications.airflow_notifiers.WebhookNotifierCallback",
            "airflow_provider_ozzy.notifications.airflow_notifiers.SESMailNotifierCallback",
        ],
        "extra-links": list(EXTRA_LINKS),
        "connection-types": connection_types(),
    }
