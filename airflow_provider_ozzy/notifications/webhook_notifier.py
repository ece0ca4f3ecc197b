"""``WebhookNotifier``: a JSON POST per job event to each endpoint.

The document has exporters' ``job_status`` (``STARTED``, ``COMPLETED``, ``FAILED``; ``RETRYING`` and
``SKIPPED`` from Airflow callbacks), ``msg`` and ``stack_trace`` for failures, plus what exporters
never sent: the job's identity (job id; dag, task, run, try and map index inside Airflow) and its
counters. Server errors, throttling and dropped connections are retried with backoff; nothing a
webhook does can fail the export. Delivery is at-least-once (a retried POST may arrive twice).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.redaction import mask
from airflow_provider_ozzy.core.retries import retrying
from airflow_provider_ozzy.notifications.base_notifier import BaseNotifier, JobEvent

ATTEMPTS = 5
FIRST_WAIT = 0.5
LONGEST_WAIT = 8.0


class WebhookResponseError(Exception):
    """The endpoint answered with an HTTP error status (``status_code`` drives the retry decision)."""

    def __init__(self, where: str, status_code: int, reason: str) -> None:
        super().__init__(f"{where} answered HTTP {status_code} {reason}".rstrip())
        self.status_code = status_code


class WebhookNotifier(BaseNotifier):
    """POSTs a JSON document per job event to every endpoint; failures are logged, never raised."""

    supported_options = {
        "endpoints": {
            "type": "str_list",
            "default": [],
            "help": "URLs to POST to. With http_conn_id, relative paths are joined to the connection's URL.",
        },
        "http_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": "Airflow HTTP connection: base URL, authentication and headers (extra). "
            "Without endpoints, events go to the connection's URL.",
        },
        "timeout": {
            "type": float,
            "minimum": 0.001,
            "maximum": 3600,
            "default": 10.0,
            "help": "Seconds to wait for each request.",
        },
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        endpoints, conn_id = values["endpoints"], values["http_conn_id"]
        problems = []
        if not endpoints and not conn_id:
            problems.append(Problem("endpoints", "give at least one endpoint URL, or an http_conn_id"))
        for endpoint in endpoints:
            scheme = urlsplit(endpoint).scheme
            if scheme in ("http", "https") or (conn_id and "://" not in endpoint):
                continue
            problems.append(
                Problem(
                    "endpoints",
                    f"endpoint {shown_url(endpoint)!r} is not an http(s) URL"
                    + ("" if conn_id or "://" in endpoint else " (relative paths need an http_conn_id)"),
                )
            )
        if values["timeout"] <= 0:
            problems.append(Problem("timeout", "option 'timeout' must be a positive number of seconds"))
        return problems

    def notify(self, event: JobEvent) -> None:
        body = json.dumps(self.payload(event), default=str).encode("utf-8")
        try:
            session, urls = self._session_and_urls()
        except Exception as error:
            self.log.warning(
                "WebhookNotifier: cannot prepare the %s notification (connection %s): %s",
                event.status,
                self.options["http_conn_id"],
                error,
            )
            return
        try:
            for url in urls:
                self._deliver(session, url, body, event.status)
        finally:
            session.close()

    @staticmethod
    def payload(event: JobEvent) -> dict[str, Any]:
        """The JSON document of one event."""
        document: dict[str, Any] = {"job_status": event.status, "time": event.time}
        document.update((key, value) for key, value in event.job.items() if value is not None)
        document["stats"] = event.counters()
        if event.message is not None:
            document["msg"] = event.message
        if event.stack_trace:
            document["stack_trace"] = event.stack_trace
        return document

    def _session_and_urls(self) -> tuple[Any, list[str]]:
        import requests

        from airflow_provider_ozzy import __version__

        endpoints: list[str] = self.options["endpoints"]
        conn_id = self.options["http_conn_id"]
        if conn_id:
            from airflow.providers.http.hooks.http import HttpHook

            hook = HttpHook(method="POST", http_conn_id=conn_id)
            session = hook.get_conn()
            urls = [each if "://" in each else hook.url_from_endpoint(each) for each in endpoints]
            urls = urls or [hook.url_from_endpoint(None)]
        else:
            session, urls = requests.Session(), list(endpoints)
        session.headers.update({"Content-Type": "application/json", "User-Agent": f"ozzy/{__version__}"})
        return session, urls

    def _deliver(self, session: Any, url: str, body: bytes, status: str) -> None:
        where = shown_url(url)
        timeout = self.options["timeout"]

        def post() -> None:
            import requests

            try:
                response = session.post(url, data=body, timeout=timeout)
            except requests.Timeout:
                raise TimeoutError(f"{where} did not answer within {timeout:g} s") from None
            except requests.ConnectionError as error:
                raise ConnectionError(f"cannot reach {where}: {_connection_reason(error)}") from None
            if response.status_code >= 400:
                raise WebhookResponseError(where, response.status_code, response.reason or "")

        try:
            retrying(ATTEMPTS, FIRST_WAIT, LONGEST_WAIT, what=f"Webhook POST {where}")(post)
        except Exception as error:
            self.log.warning("WebhookNotifier: %s notification not delivered: %s", status, error)
        else:
            self.log.info("WebhookNotifier: %s notification delivered to %s", status, where)


def shown_url(url: str) -> str:
    """A URL fit for logs: no user, password, query or path beyond its first segment.

    Webhook URLs often carry their token in the path or query (Slack, Teams); logs must not.
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return mask(url.split("/", 1)[0]) + ("/…" if "/" in url else "")
    try:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
    except ValueError:  # a raw '/' or '@' in a password: no host to show
        return f"{parts.scheme}://…"
    segments = [each for each in parts.path.split("/") if each]
    path = f"/{segments[0]}" if segments else ""
    more = "/…" if len(segments) > 1 or parts.query else ""
    return f"{parts.scheme}://{host}{path}{more}"


def _connection_reason(error: Exception) -> str:
    """The OS-level reason of a requests connection error, without the URL it would repeat."""
    found = re.search(r"\[Errno -?\d+\][^'\")]*", str(error))
    return found.group(0).strip() if found else type(error).__name__
