"""Ozzy: resumable data exports for Apache Airflow.

Importing the package must stay cheap (no Airflow import): the ``ozzy`` command line and the
engine start in well under a second for local exports.
"""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""
    from airflow_provider_ozzy.hooks.connection_forms import connection_types

    return {
        "package-name": "airflow-provider-ozzy",
        "name": "Ozzy",
        "description": "Resumable data exports: readers, filters, transforms, groupers, formatters, writers.",
        "versions": [__version__],
        "notifications": [
            "airflow_provider_ozzy.notifications.airflow_notifiers.WebhookNotifierCallback",
            "airflow_provider_ozzy.notifications.airflow_notifiers.SESMailNotifierCallback",
        ],
        "connection-types": connection_types(),
    }
