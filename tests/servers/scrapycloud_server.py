"""The Scrapy Cloud collections API (hubstorage), as the ``scrapinghub`` client uses it: ``scrapycloud_server``.

Scrapy Cloud has no emulator, so this serves the collection endpoints of the storage API itself,
on a free 127.0.0.1 port, for the real ``scrapinghub`` 2.9 client (``HubstorageClient(endpoint=URL)``
or ``ScrapinghubClient(apikey, endpoint=URL)``):

* ``GET /collections/P/TYPE/NAME`` with ``start``, ``startafter``, ``count``, ``prefix`` (repeated),
  ``key`` (repeated), ``startts``/``endts`` (milliseconds, on the item's ``_ts``), ``meta`` (``_key``,
  ``_ts``), ``nodata``: values in key order, as JSON lines or, when the client sends
  ``Accept: application/x-msgpack`` (it does whenever msgpack is installed), as msgpack objects.
* ``GET /collections/P/TYPE/NAME/KEY``: one value (404 when missing); ``.../NAME/count``: ``{"count": n}``.
* ``POST /collections/P/TYPE/NAME``: JSON lines of objects with ``_key`` (gzip bodies accepted);
  each replaces the value under its key and gets a fresh ``_ts``. Values over 1 MiB: 413.
* ``POST /collections/P/TYPE/NAME/deleted``: JSON lines of keys; ``POST /collections/P/delete?name=``.
* ``GET /collections/P/list``: ``{"name", "type"}`` per collection.

Every request needs HTTP Basic auth with the API key as user name (the client's form), else 401.
A collection that was never written does not exist (GET answers 404, as hubstorage does). Unknown
query parameters get 400, so a client change that sends something new is noticed. Tests ``reset()``
first, ``seed()`` collections and read them back with ``items()``; ``requests`` records every call
and ``fail_next()`` makes the next requests answer an error (retries).
"""

from __future__ import annotations

import base64
import bisect
import gzip
import json
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import msgpack
import pytest

from tests.servers.http_fake import FakeHandler, HTTPFake

APIKEY = "0123456789abcdef0123456789abcdef"
PROJECT = "1234"
MAX_VALUE = 1024 * 1024
TYPES = ("s", "cs", "vs", "vcs")
_GET_PARAMS = {"start", "startafter", "count", "prefix", "key", "startts", "endts", "meta", "nodata"}


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, list[str]]
    status: int
    values: list[Any] = field(default_factory=list)  # the JSON lines a POST carried


@dataclass
class _Collection:
    keys: list[str] = field(default_factory=list)  # sorted
    values: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)  # key -> (value, _ts)

    def put(self, key: str, value: dict[str, Any], ts: int) -> None:
        if key not in self.values:
            bisect.insort(self.keys, key)
        self.values[key] = (value, ts)

    def delete(self, key: str) -> None:
        if key in self.values:
            del self.values[key]
            self.keys.pop(bisect.bisect_left(self.keys, key))


class _Answer(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ScrapyCloudServer(HTTPFake):
    """In-memory collections per project, in key order like the real service."""

    thread_name = "scrapycloud-test"

    def __init__(self, apikey: str = APIKEY) -> None:
        self.apikey = apikey
        self._lock = threading.Lock()
        self._collections: dict[tuple[str, str, str], _Collection] = {}
        self.requests: list[RecordedRequest] = []
        self._failures: list[int] = []

    @property
    def url(self) -> str:
        """The storage endpoint (``HubstorageClient(endpoint=...)``)."""
        return f"{super().url}/"

    @property
    def endpoint(self) -> str:
        return self.url

    def reset(self) -> None:
        with self._lock:
            self._collections.clear()
            self.requests.clear()
            self._failures.clear()

    def connection_json(self, apikey: str | None = None) -> str:
        """An Airflow ``ozzy_scrapy_cloud`` connection to this server, for ``AIRFLOW_CONN_<ID>``."""
        return json.dumps(
            {"conn_type": "ozzy_scrapy_cloud", "host": self.url, "password": apikey or self.apikey}
        )

    # -- test helpers ----------------------------------------------------------------------------
    def seed(
        self, name: str, items: Iterable[dict[str, Any]], project: str = PROJECT, coltype: str = "s"
    ) -> None:
        """Store items (each with ``_key``; an optional ``_ts`` is kept as the item's time)."""
        now = _now_ms()
        with self._lock:
            collection = self._collections.setdefault((str(project), coltype, name), _Collection())
            for item in items:
                value = dict(item)
                key = value.pop("_key")
                ts = int(value.pop("_ts", now))
                collection.put(str(key), value, ts)

    def items(
        self, name: str, project: str = PROJECT, coltype: str = "s", meta: bool = False
    ) -> list[dict[str, Any]]:
        """Every item of a collection in key order, with ``_key`` (and ``_ts`` when ``meta``)."""
        with self._lock:
            collection = self._collections.get((str(project), coltype, name))
            if collection is None:
                return []
            found = []
            for key in collection.keys:
                value, ts = collection.values[key]
                item = dict(value, _key=key)
                if meta:
                    item["_ts"] = ts
                found.append(item)
            return found

    def exists(self, name: str, project: str = PROJECT, coltype: str = "s") -> bool:
        with self._lock:
            return (str(project), coltype, name) in self._collections

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Answer the next ``count`` requests with ``status`` (after checking auth)."""
        with self._lock:
            self._failures.extend([status] * count)

    def calls(self, method: str | None = None, path_contains: str = "") -> list[RecordedRequest]:
        with self._lock:
            return [
                each
                for each in self.requests
                if (method is None or each.method == method) and path_contains in each.path
            ]

    # -- the API ---------------------------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        split = urlsplit(target)
        params = parse_qs(split.query, keep_blank_values=True)
        parts = [unquote(part) for part in split.path.strip("/").split("/") if part]
        status, content_type, answer = 200, "application/json", b""
        posted: list[Any] = []
        try:
            self._check_auth(headers)
            with self._lock:
                if self._failures:
                    raise _Answer(self._failures.pop(0), "injected failure")
            if len(parts) < 3 or parts[0] != "collections":
                raise _Answer(404, f"no such resource: {split.path}")
            project = parts[1]
            if parts[2] == "list" and len(parts) == 3 and method == "GET":
                answer = self._list(project)
            elif parts[2] == "delete" and len(parts) == 3 and method == "POST":
                self._truncate(project, (params.get("name") or [""])[0])
            elif parts[2] in TYPES and len(parts) in (4, 5):
                coltype, name = parts[2], parts[3]
                rest = parts[4] if len(parts) == 5 else None
                if method == "POST" and rest is None:
                    posted = _body(headers, body)
                    self._set(project, coltype, name, posted)
                elif method == "POST" and rest == "deleted":
                    self._delete(project, coltype, name, _body(headers, body))
                elif method == "GET" and rest == "count":
                    answer = json.dumps({"count": len(self._select(project, coltype, name, params))}).encode()
                elif method == "GET":
                    msgpack_wanted = "application/x-msgpack" in headers.get("accept", "")
                    if rest is not None:
                        params = dict(params, key=[rest])
                    found = self._select(project, coltype, name, params)
                    if rest is not None and not found:
                        raise _Answer(404, f"key {rest!r} not found")
                    if msgpack_wanted:
                        content_type = "application/x-msgpack"
                        answer = b"".join(msgpack.packb(each, use_bin_type=True) for each in found)
                    else:
                        answer = "".join(json.dumps(each) + "\n" for each in found).encode()
                else:
                    raise _Answer(405, f"{method} not allowed on {split.path}")
            else:
                raise _Answer(404, f"no such resource: {split.path}")
        except _Answer as error:
            status, content_type = error.status, "application/json"
            answer = json.dumps({"message": error.message}).encode()
        with self._lock:
            self.requests.append(RecordedRequest(method, split.path, params, status, posted))
        return status, content_type, answer

    def _check_auth(self, headers: dict[str, str]) -> None:
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise _Answer(401, "Authentication required")
        try:
            user = base64.b64decode(encoded).decode().partition(":")[0]
        except ValueError:
            raise _Answer(401, "Authentication failed") from None
        if user != self.apikey:
            raise _Answer(401, "Authentication failed")

    def _list(self, project: str) -> bytes:
        with self._lock:
            found = sorted((name, coltype) for (pid, coltype, name) in self._collections if pid == project)
        return "".join(json.dumps({"name": name, "type": coltype}) + "\n" for name, coltype in found).encode()

    def _truncate(self, project: str, name: str) -> None:
        with self._lock:
            for coltype in TYPES:
                self._collections.pop((project, coltype, name), None)

    def _set(self, project: str, coltype: str, name: str, lines: list[Any]) -> None:
        now = _now_ms()
        changes = []
        for position, value in enumerate(lines):
            if not isinstance(value, dict) or not isinstance(value.get("_key"), str) or not value["_key"]:
                raise _Answer(400, f"line {position + 1}: an object with a non-empty string _key is required")
            if len(json.dumps(value).encode()) > MAX_VALUE:
                raise _Answer(
                    413, f"value for key {value['_key']!r} exceeds the maximum size of {MAX_VALUE} bytes"
                )
            stored = {k: v for k, v in value.items() if k not in ("_key", "_ts")}
            changes.append((value["_key"], stored))
        with self._lock:  # a request is applied whole or not at all
            collection = self._collections.setdefault((project, coltype, name), _Collection())
            for key, stored in changes:
                collection.put(key, stored, now)

    def _delete(self, project: str, coltype: str, name: str, keys: list[Any]) -> None:
        with self._lock:
            collection = self._collections.get((project, coltype, name))
            for key in keys:
                if collection is not None and isinstance(key, str):
                    collection.delete(key)

    def _select(
        self, project: str, coltype: str, name: str, params: dict[str, list[str]]
    ) -> list[dict[str, Any]]:
        unknown = set(params) - _GET_PARAMS
        if unknown:
            raise _Answer(400, f"unsupported parameters: {sorted(unknown)}")
        meta = params.get("meta", [])
        if set(meta) - {"_key", "_ts"}:
            raise _Answer(400, f"unsupported meta: {meta}")
        try:
            count = int(params["count"][0]) if "count" in params else None
            startts = int(params["startts"][0]) if "startts" in params else None
            endts = int(params["endts"][0]) if "endts" in params else None
        except ValueError as error:
            raise _Answer(400, f"bad number: {error}") from None
        nodata = (params.get("nodata") or ["0"])[0].lower() in ("1", "true")
        prefixes = params.get("prefix", [])
        wanted_keys = set(params.get("key", []))
        with self._lock:
            collection = self._collections.get((project, coltype, name))
            if collection is None:
                raise _Answer(404, f"collection {coltype}/{name} not found")
            keys = collection.keys
            begin = 0
            if "startafter" in params:
                begin = bisect.bisect_right(keys, params["startafter"][0])
            if "start" in params:
                begin = max(begin, bisect.bisect_left(keys, params["start"][0]))
            found: list[dict[str, Any]] = []
            for key in keys[begin:]:
                if count is not None and len(found) >= count:
                    break
                if prefixes and not any(key.startswith(prefix) for prefix in prefixes):
                    continue
                if wanted_keys and key not in wanted_keys:
                    continue
                value, ts = collection.values[key]
                if (startts is not None and ts < startts) or (endts is not None and ts >= endts):
                    continue
                item = {} if nodata else dict(value)
                if "_key" in meta:
                    item["_key"] = key
                if "_ts" in meta:
                    item["_ts"] = ts
                found.append(item)
        return found

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(FakeHandler):
            def setup(self) -> None:
                super().setup()
                # answers go out as header + body writes: without this, Nagle and delayed ACKs
                # add 40 ms to every request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                status, content_type, answer = api.handle(self.command, self.path, *self.read_request())
                self.answer(status, answer, {"Content-Type": content_type})

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


def _now_ms() -> int:
    return int(time.time() * 1000)


def _body(headers: dict[str, str], body: bytes) -> list[Any]:
    if headers.get("content-encoding", "").lower() == "gzip":
        body = gzip.decompress(body)
    try:
        return [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]
    except ValueError as error:
        raise _Answer(400, f"invalid JSON lines: {error}") from None


@pytest.fixture(scope="session")
def scrapycloud_server() -> Iterator[ScrapyCloudServer]:
    server = ScrapyCloudServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
