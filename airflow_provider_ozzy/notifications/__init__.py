"""Notifiers: tell people or systems that an export started, completed or failed.

``WebhookNotifier`` and ``SESMailNotifier`` run inside exports (``exporter_options.notifications``).
Their Airflow counterparts, ``WebhookNotifierCallback`` and ``SESMailNotifierCallback``, are
``BaseNotifier`` callbacks; they live in ``airflow_notifiers`` and are loaded on first use here so
that importing this package costs no Airflow import.
"""

from __future__ import annotations

from typing import Any

_CALLBACKS = ("WebhookNotifierCallback", "SESMailNotifierCallback")


def __getattr__(name: str) -> Any:
    if name in _CALLBACKS:
        from airflow_provider_ozzy.notifications import airflow_notifiers

        return getattr(airflow_notifiers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
