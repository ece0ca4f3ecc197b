"""Azurite's Blob service (npm ``azurite`` 3.35.0, in ``.servers/``) on a free 127.0.0.1 port, in
memory: fixture ``azurite_server``, started once per session.

``scripts/setup-servers.sh`` installs Azurite (``scripts/test.sh`` runs it); the fixture runs it too
when Azurite is missing. Clients use the well-known development account ``devstoreaccount1``,
through an Airflow ``wasb`` connection with a connection string.

Azurite copies blobs only from itself (a Copy Blob whose source is any other host is refused with
``CannotVerifyCopySource``), while Azure copies from any URL, such as a presigned S3 URL. Fixture
``azurite_url_copy`` is a proxy in front of Azurite that gives it that operation: a SharedKey-signed
Copy Blob from a foreign URL answers ``202`` with ``x-ms-copy-status: pending``, the proxy fetches
the source in the background and stores it in Azurite, and blob properties read through the proxy
carry the ``x-ms-copy-*`` headers (``pending``, then ``success`` or ``failed``) as Azure's do.
Every other request goes to Azurite unchanged.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.servers.azure_files_server import ACCOUNT, KEY, signature, string_to_sign
from tests.servers.http_fake import HTTPFake
from tests.servers.process_server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".servers" / "node_modules" / ".bin" / "azurite-blob"


def _ensure_installed() -> None:
    if BINARY.exists():
        return
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup-servers.sh")], capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0 or not BINARY.exists():
        pytest.fail(f"Azurite could not be installed: {(result.stdout + result.stderr).strip()[-1500:]}")


class AzuriteServer:
    def __init__(self, workdir: str) -> None:
        self.workdir = Path(workdir)
        self._server = ServerProcess("azurite", workdir)

    @property
    def port(self) -> int:
        return self._server.port

    def start(self, attempts: int = 3) -> None:
        _ensure_installed()
        self._server.start(
            lambda port, _: [
                BINARY,
                *("--blobHost", "127.0.0.1", "--blobPort", str(port)),
                *("--inMemoryPersistence", "--silent", "--disableTelemetry"),
                # the SDK may speak a newer API version than this Azurite release knows
                *("--skipApiVersionCheck", "--loose"),
            ],
            attempts=attempts,
        )

    def stop(self) -> None:
        self._server.stop()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def connection_string(self, key: str = KEY) -> str:
        return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};BlobEndpoint={self.endpoint};"

    def connection(self, key: str = KEY) -> dict[str, Any]:
        """An Airflow ``wasb`` connection to this server, for ``AIRFLOW_CONN_<ID>`` as JSON."""
        return {"conn_type": "wasb", "extra": {"connection_string": self.connection_string(key)}}

    def connection_json(self, key: str = KEY) -> str:
        return json.dumps(self.connection(key))

    def client(self) -> Any:
        """A ``BlobServiceClient`` for the test's own checks (not through Ozzy)."""
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string())


class UrlCopyProxy(HTTPFake):
    """Azurite plus Copy Blob from foreign URLs (see the module docstring)."""

    thread_name = "azurite-url-copy"

    def __init__(self, azurite: AzuriteServer) -> None:
        self.azurite = azurite
        self.copy_delay = 0.0  # seconds before a background copy fetches its source
        self.copies: dict[str, dict[str, str]] = {}  # "/container/blob" -> x-ms-copy-* headers
        self.started_copies = 0
        self.uploads = 0  # data uploads forwarded to Azurite (Put Blob, Put Block)
        self.lock = threading.Lock()
        self.start()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _proxy_handler(self)

    @property
    def endpoint(self) -> str:
        return f"{self.url}/{ACCOUNT}"

    def connection_json(self, key: str = KEY) -> str:
        string = f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};BlobEndpoint={self.endpoint};"
        return json.dumps({"conn_type": "wasb", "extra": {"connection_string": string}})

    def start_copy(self, blob: str, source: str) -> dict[str, str]:
        container, _, name = blob.strip("/").partition("/")
        client = self.azurite.client().get_blob_client(container, name)
        client.upload_blob(b"", overwrite=True)  # the destination exists while the copy is pending
        record = {
            "x-ms-copy-id": str(uuid.uuid4()),
            "x-ms-copy-status": "pending",
            "x-ms-copy-source": source,
            "x-ms-copy-progress": "0/0",
        }
        with self.lock:
            self.copies[blob] = record
            self.started_copies += 1
        threading.Thread(target=self._fetch, args=(client, record, source), daemon=True).start()
        return record

    def _fetch(self, client: Any, record: dict[str, str], source: str) -> None:
        time.sleep(self.copy_delay)
        try:
            with urllib.request.urlopen(source, timeout=60) as answer:  # noqa: S310 - test server
                data = answer.read()
            client.upload_blob(data, overwrite=True)
            update = {"x-ms-copy-status": "success", "x-ms-copy-progress": f"{len(data)}/{len(data)}"}
        except Exception as error:
            update = {
                "x-ms-copy-status": "failed",
                "x-ms-copy-status-description": f"{type(error).__name__}: {error}",
            }
        update["x-ms-copy-completion-time"] = formatdate(usegmt=True)
        with self.lock:
            record.update(update)


def _proxy_handler(proxy: UrlCopyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            blob = unquote(split.path).removeprefix(f"/{ACCOUNT}")
            source = self.headers.get("x-ms-copy-source")
            if self.command == "PUT" and source and not split.query and not _is_own(source, self.headers):
                self._copy(blob, source)
                return
            if self.command == "PUT" and not split.query:
                with proxy.lock:
                    proxy.copies.pop(blob, None)  # overwritten: no copy any more
            if self.command == "PUT" and body and ("comp=block" in split.query or not split.query):
                with proxy.lock:
                    proxy.uploads += 1
            status, headers, answer = self._forward(body)
            with proxy.lock:
                record = dict(proxy.copies.get(blob, {}))
            if record and self.command in ("GET", "HEAD") and status < 300 and "comp" not in split.query:
                headers = [(k, v) for k, v in headers if not k.lower().startswith("x-ms-copy-")]
                headers.extend(record.items())
            self._answer(status, headers, answer)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle

        def _copy(self, blob: str, source: str) -> None:
            expected = signature(KEY, string_to_sign(self.command, self.path, dict(self.headers.items())))
            if self.headers.get("Authorization") != f"SharedKey {ACCOUNT}:{expected}":
                self._answer(403, [("x-ms-error-code", "AuthenticationFailed")], b"")
                return
            record = proxy.start_copy(blob, source)
            headers = [(name, record[name]) for name in ("x-ms-copy-id", "x-ms-copy-status")]
            headers += [
                ("ETag", f'"0x{uuid.uuid4().hex[:15].upper()}"'),
                ("Last-Modified", formatdate(usegmt=True)),
            ]
            self._answer(202, headers, b"")

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            upstream = http.client.HTTPConnection("127.0.0.1", proxy.azurite.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
                headers["Host"] = f"127.0.0.1:{proxy.azurite.port}"
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                answer = response.read()
                hop_by_hop = ("connection", "transfer-encoding", "keep-alive")
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in hop_by_hop]
                return response.status, kept, answer
            finally:
                upstream.close()

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            length = next((v for k, v in headers if k.lower() == "content-length"), None)
            if length is None:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler


def _is_own(source: str, headers: Any) -> bool:
    return urlsplit(source).netloc == headers.get("Host", "")


@pytest.fixture(scope="session")
def azurite_url_copy(azurite_server: AzuriteServer) -> Iterator[UrlCopyProxy]:
    proxy = UrlCopyProxy(azurite_server)
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    with tempfile.TemporaryDirectory(prefix="ozzy-azurite-") as workdir:
        server = AzuriteServer(workdir)
        server.start()
        try:
            yield server
        finally:
            server.stop()
