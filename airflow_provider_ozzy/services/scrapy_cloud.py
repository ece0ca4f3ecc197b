"""Scrapy Cloud collections access shared by the Hubstorage modules: options, client, retries, errors.

Credentials come from an Airflow connection of type ``ozzy_scrapy_cloud`` (``scrapy_cloud_conn_id``,
through ``hooks.scrapy_cloud_hook.ScrapyCloudHook``, imported only then) or from exporters' ``apikey``
option and its ``EXPORTERS_HS_APIKEY`` variable; ``endpoint`` overrides the storage API address.

Requests go through the maintained ``scrapinghub`` client's ``HubstorageClient`` with its own retries
off: its streaming iterator gives up silently after its retries (the rest of a collection would look
empty) and re-sends from the start on msgpack, so each page is one plain request here, retried by
Ozzy's policy (``retries.py``) on 5xx, 429 and dropped connections. Permanent errors name the module,
the collection and the project, never the key.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from airflow_provider_ozzy.core.errors import OzzyError, permanent
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.retries import call_with_retries, current_policy

CONN_TYPE = "ozzy_scrapy_cloud"  # the Airflow connection type (hooks/scrapy_cloud_hook.py)

T = TypeVar("T")

APIKEY_ENV = "EXPORTERS_HS_APIKEY"
_NAME = re.compile(r"^\w+$")


def connection_options() -> dict[str, dict[str, Any]]:
    """Options every Scrapy Cloud module takes."""
    return {
        "scrapy_cloud_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": "Airflow connection of type ozzy_scrapy_cloud (password: API key; host: endpoint).",
        },
        "apikey": {
            "type": (str, type(None)),
            "default": None,
            "secret": True,
            "help": f"Legacy: Scrapy Cloud API key (prefer scrapy_cloud_conn_id); default ${APIKEY_ENV}.",
        },
        "endpoint": {
            "type": (str, type(None)),
            "default": None,
            "help": "Storage API address; default: the connection's host, $SHUB_STORAGE, "
            "https://storage.scrapinghub.com/.",
        },
    }


def project_id_option(optional: bool = False) -> dict[str, Any]:
    """The ``project_id`` option of a collection module (``optional``: when a URL may give it)."""
    option: dict[str, Any] = {"type": (int, str), "minimum": 1, "maximum": 2**63 - 1}
    if optional:
        option.update(type=(int, str, type(None)), default=None)
    return {**option, "help": "Scrapy Cloud project id."}


def connection_problems(values: dict[str, Any]) -> list[Problem]:
    problems = []
    if values["scrapy_cloud_conn_id"] and values["apikey"]:
        problems.append(
            Problem("apikey", "give either option 'scrapy_cloud_conn_id' or option 'apikey', not both")
        )
    elif not values["scrapy_cloud_conn_id"] and not values["apikey"] and not os.environ.get(APIKEY_ENV):
        problems.append(
            Problem(
                "scrapy_cloud_conn_id",
                f"option 'scrapy_cloud_conn_id' (an Airflow connection) or option 'apikey' "
                f"(or ${APIKEY_ENV}) is required",
            )
        )
    return problems


def name_problem(option: str, value: str) -> Problem | None:
    if not _NAME.match(value):
        return Problem(
            option, f"option '{option}' must be a collection name (letters, digits, _), got {value!r}"
        )
    return None


def to_millis(value: int | str | None, option: str) -> int | None:
    """``startts``/``endts``: milliseconds since the epoch, or a date/time (UTC) fixed when the job starts."""
    if value is None or isinstance(value, int):
        return value
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from airflow_provider_ozzy.services.prefix_listing import parse_date

        try:
            day = parse_date(text)
        except ValueError as error:
            raise ValueError(f"option '{option}': {error} (or milliseconds since the epoch)") from None
        moment = datetime.datetime(day.year, day.month, day.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def connection_credentials(conn_id: str) -> tuple[str, str | None, str | None]:
    """(API key, storage endpoint or ``None``, dashboard endpoint or ``None``) of an
    ``ozzy_scrapy_cloud`` connection (``ScrapyCloudHook`` serves the same)."""
    from airflow.providers.common.compat.sdk import BaseHook

    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception as error:  # AirflowNotFoundException, or no Airflow context to ask
        raise permanent(
            OzzyError(f"cannot get Airflow connection '{conn_id}': {type(error).__name__}")
        ) from None
    apikey = connection.password or ""
    if not apikey:
        raise OzzyError(f"connection '{conn_id}' has no API key (its password is empty)")
    endpoint = None
    if connection.host:
        endpoint = connection.host if "://" in connection.host else f"https://{connection.host}"
        if connection.port:
            endpoint = f"{endpoint.rstrip('/')}:{connection.port}"
        endpoint = endpoint.rstrip("/") + "/"
    extra = connection.extra_dejson or {}
    dash_endpoint = extra.get("dash_endpoint") or extra.get(f"extra__{CONN_TYPE}__dash_endpoint")
    return apikey, endpoint, dash_endpoint or None


class CollectionAccess:
    """One collection of one project, for the module ``label`` (e.g. ``reader HubstorageReader``)."""

    def __init__(self, label: str, options: dict[str, Any], project_id: int | str, name: str) -> None:
        self.label = label
        self.options = options
        self.project_id = str(project_id)
        self.name = name
        self._client: Any = None
        self._store: Any = None
        self.retry_policy = current_policy()  # the export's budget, also in the threads it starts

    @property
    def where(self) -> str:
        return f"collection '{self.name}' of project {self.project_id}"

    def _credentials_source(self) -> str:
        conn_id = self.options["scrapy_cloud_conn_id"]
        if conn_id:
            return f"connection '{conn_id}'"
        return "option 'apikey'" if self.options["apikey"] else f"${APIKEY_ENV}"

    def client(self) -> Any:
        if self._client is None:
            conn_id = self.options["scrapy_cloud_conn_id"]
            endpoint = self.options["endpoint"]
            if conn_id:
                from scrapinghub import HubstorageClient

                try:
                    apikey, connection_endpoint, _ = connection_credentials(conn_id)
                except OzzyError as error:
                    raise OzzyError(f"{self.label}: {error}") from None
                self._client = HubstorageClient(
                    auth=apikey, endpoint=endpoint or connection_endpoint, max_retries=0
                )
            else:
                from scrapinghub import HubstorageClient

                apikey = self.options["apikey"] or os.environ.get(APIKEY_ENV, "")
                self._client = HubstorageClient(auth=apikey, endpoint=endpoint, max_retries=0)
        return self._client

    def sibling(self, name: str) -> CollectionAccess:
        """Another collection of the same project, sharing the client."""
        other = CollectionAccess(self.label, self.options, self.project_id, name)
        other._client = self._client
        return other

    def store(self) -> Any:
        if self._store is None:
            self._store = self.client().get_project(self.project_id).collections.new_store(self.name)
        return self._store

    def call(self, what: str, operation: Callable[[], T]) -> T:
        """Run one request with retries; permanent failures become an error naming the collection."""
        import requests

        def attempt() -> T:
            try:
                return operation()
            except (requests.ConnectionError, requests.Timeout) as error:
                raise ConnectionError(f"cannot reach Scrapy Cloud: {type(error).__name__}") from error
            except requests.exceptions.ChunkedEncodingError as error:
                raise ConnectionError("the answer was cut short") from error

        try:
            return call_with_retries(
                attempt, what=f"Scrapy Cloud {what} {self.project_id}/{self.name}", policy=self.retry_policy
            )
        except requests.HTTPError as error:
            raise OzzyError(self._describe(what, error)) from None
        except ConnectionError as error:
            raise OzzyError(f"{self.label}: cannot {what} {self.where}: {error}") from None

    def _describe(self, what: str, error: Any) -> str:
        status = getattr(error.response, "status_code", None)
        if status == 401:
            reason = f"Scrapy Cloud refused the API key from {self._credentials_source()} (401 Unauthorized)"
        elif status == 403:
            reason = f"the API key from {self._credentials_source()} has no access to this project (403)"
        else:
            reason = f"Scrapy Cloud answered {status}: {_message(error)}"
        return f"{self.label}: cannot {what} {self.where}: {reason}"

    def exists(self, name: str | None = None) -> bool:
        """Whether a store collection of that name (default: this one) holds anything."""
        wanted = name or self.name
        project = self.client().get_project(self.project_id)
        listed = self.call("list the collections of", lambda: list(project.collections.apiget("list")))
        return any(each.get("name") == wanted and each.get("type") == "s" for each in listed)

    def page(self, **params: Any) -> list[dict[str, Any]]:
        """One GET of the collection (``startafter``, ``count``, ``prefix``, ``meta``...); ``[]`` if absent."""
        store = self.store()

        def fetch() -> list[dict[str, Any]]:
            try:
                return list(store.get(**{key: value for key, value in params.items() if value is not None}))
            except KeyError:  # hubstorage's answer for a collection that does not exist (yet)
                return []
            except ValueError as error:  # 400: parameters the service refuses
                raise OzzyError(f"{self.label}: {self.where} refused the request: {error}") from None

        return self.call("read", fetch)

    def get(self, key: str) -> dict[str, Any] | None:
        store = self.store()

        def fetch() -> dict[str, Any] | None:
            try:
                found: dict[str, Any] = store.get(key)
                return found
            except KeyError:
                return None

        return self.call("read", fetch)

    def set(self, values: list[dict[str, Any]]) -> None:
        """Store values (each with ``_key``): a key written again gets the same value (idempotent)."""
        store = self.store()

        def post() -> None:
            try:
                list(store.set(values))
            except ValueError as error:  # 400/413: too large or not an object with a _key
                raise OzzyError(f"{self.label}: {self.where} refused the values: {error}") from None

        self.call("write to", post)


def _message(error: Any) -> str:
    try:
        payload = error.response.json()
        if isinstance(payload, dict) and payload.get("message"):
            return str(payload["message"])
    except ValueError:
        pass
    return (getattr(error.response, "text", "") or str(error))[:200]
