"""A CloudSearch document endpoint that checks what the real service checks: fixture ``cloudsearch_server``.

There is no CloudSearch emulator (moto answers 500), so this serves the document API itself:
``POST /2013-01-01/documents/batch`` with a JSON array of ``add``/``delete`` operations.

* Every request must carry a valid AWS SigV4 signature for service ``cloudsearch`` in ``REGION``
  by ``ACCESS_KEY``: the server recomputes it with botocore's signer from the known secret and the
  headers the client says it signed. Unsigned, unknown-key, wrongly scoped, stale or badly signed
  requests get 403 with the real service's error types.
* Batches over 5 MB get 413, documents over 1 MB or with invalid ids 400, as the service does.

Accepted documents are kept by id (an ``add`` replaces the document with the same id); every
request is recorded with its size and answer. One server per session on a free 127.0.0.1 port;
tests call ``reset()`` first.
"""

from __future__ import annotations

import datetime
import hmac
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.servers.http_fake import FakeHandler, HTTPFake

ACCESS_KEY = "AKIAOZZYCLOUDSEARCH7"
SECRET_KEY = "cs-secret/8d7f6e5a4b3c2d1e0f"
REGION = "us-east-1"
SERVICE = "cloudsearch"
BATCH_PATH = "/2013-01-01/documents/batch"
MAX_BATCH = 5 * 1024 * 1024
MAX_DOCUMENT = 1024 * 1024
_ID = re.compile(r"^[a-zA-Z0-9_\-=#;:/?@&]{1,128}$")
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass
class RecordedBatch:
    size: int
    status: int
    error_type: str  # '' when accepted
    documents: int  # operations in an accepted batch


class _Rejected(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


class CloudSearchServer(HTTPFake):
    thread_name = "cloudsearch-test"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.documents: dict[str, dict[str, Any]] = {}
        self.batches: list[RecordedBatch] = []

    def reset(self) -> None:
        with self._lock:
            self.documents.clear()
            self.batches.clear()

    def connection(self, secret_key: str = SECRET_KEY) -> dict[str, Any]:
        """An Airflow ``aws`` connection with this server's credentials, for ``AIRFLOW_CONN_<ID>``."""
        return {
            "conn_type": "aws",
            "login": ACCESS_KEY,
            "password": secret_key,
            "extra": {"region_name": REGION},
        }

    def connection_json(self, secret_key: str = SECRET_KEY) -> str:
        return json.dumps(self.connection(secret_key))

    # -- the API ---------------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        try:
            if method != "POST" or path.split("?", 1)[0] != BATCH_PATH:
                raise _Rejected(404, "ResourceNotFoundException", f"no such operation: {method} {path}")
            self._check_signature(method, path, headers, body)
            if len(body) > MAX_BATCH:
                raise _Rejected(
                    413, "DocumentServiceException", "Request Entity Too Large: batches are limited to 5 MB"
                )
            if headers.get("content-type", "").split(";")[0].strip() != "application/json":
                raise _Rejected(415, "DocumentServiceException", "Content-Type must be application/json")
            adds, deletes = self._apply(body)
        except _Rejected as error:
            self._record(RecordedBatch(len(body), error.status, error.error_type, 0))
            return error.status, {"__type": error.error_type, "message": error.message}
        self._record(RecordedBatch(len(body), 200, "", adds + deletes))
        return 200, {"status": "success", "adds": adds, "deletes": deletes}

    def _record(self, batch: RecordedBatch) -> None:
        with self._lock:
            self.batches.append(batch)

    def _check_signature(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        authorization = headers.get("authorization")
        if not authorization:
            raise _Rejected(
                403, "MissingAuthenticationTokenException", "Request is missing Authentication Token"
            )
        found = _AUTHORIZATION.match(authorization)
        if not found:
            raise _Rejected(
                403, "IncompleteSignatureException", "Authorization header is not a SigV4 signature"
            )
        if found["key"] != ACCESS_KEY:
            raise _Rejected(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        if found["region"] != REGION or found["service"] != SERVICE:
            raise _Rejected(
                403,
                "InvalidSignatureException",
                f"Credential should be scoped to a valid region and service ({REGION}/{SERVICE}), "
                f"not {found['region']}/{found['service']}.",
            )
        stamp = headers.get("x-amz-date", "")
        try:
            signed_at = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        except ValueError:
            raise _Rejected(
                403, "IncompleteSignatureException", "X-Amz-Date is missing or malformed"
            ) from None
        if (
            abs((datetime.datetime.now(datetime.UTC) - signed_at).total_seconds()) > 15 * 60
            or stamp[:8] != found["date"]
        ):
            raise _Rejected(403, "InvalidSignatureException", "Signature expired or not yet valid")
        signed = found["signed"].split(";")
        if "host" not in signed or any(name not in headers for name in signed):
            raise _Rejected(
                403, "InvalidSignatureException", "SignedHeaders must include host and name sent headers"
            )
        request = AWSRequest(
            method=method,
            url=f"http://{headers['host']}{path}",
            headers={name: headers[name] for name in signed},
            data=body,
        )
        request.context["timestamp"] = stamp
        signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), SERVICE, REGION)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if not hmac.compare_digest(expected, found["signature"]):
            raise _Rejected(
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.",
            )

    def _apply(self, body: bytes) -> tuple[int, int]:
        try:
            operations = json.loads(body)
        except ValueError as error:
            raise _Rejected(400, "DocumentServiceException", f"invalid JSON: {error}") from None
        if not isinstance(operations, list):
            raise _Rejected(400, "DocumentServiceException", "a batch is a JSON array of operations")
        changes: list[tuple[str, str, dict[str, Any] | None]] = []
        for position, operation in enumerate(operations):
            kind, document_id = operation.get("type"), operation.get("id")
            if not isinstance(document_id, str) or not _ID.match(document_id):
                raise _Rejected(
                    400, "DocumentServiceException", f"operation {position}: invalid id {document_id!r}"
                )
            if kind == "add":
                fields = operation.get("fields")
                if not isinstance(fields, dict) or not fields:
                    raise _Rejected(
                        400, "DocumentServiceException", f"document {document_id}: fields must be an object"
                    )
                if len(json.dumps(operation).encode()) > MAX_DOCUMENT:
                    raise _Rejected(400, "DocumentServiceException", f"document {document_id} is over 1 MB")
                changes.append((kind, document_id, fields))
            elif kind == "delete":
                changes.append((kind, document_id, None))
            else:
                raise _Rejected(
                    400, "DocumentServiceException", f"operation {position}: unknown type {kind!r}"
                )
        with self._lock:  # a batch is applied whole or not at all
            for _kind, document_id, fields in changes:
                if fields is not None:
                    self.documents[document_id] = fields
                else:
                    self.documents.pop(document_id, None)
        adds = sum(1 for kind, _, _ in changes if kind == "add")
        return adds, len(changes) - adds

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(FakeHandler):
            def _serve(self) -> None:
                status, document = api.handle(self.command, self.path, *self.read_request())
                headers = {"Content-Type": "application/json"}
                if status >= 400:
                    headers["x-amzn-ErrorType"] = f"{document['__type']}:"
                self.answer(status, json.dumps(document).encode(), headers)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


@pytest.fixture(scope="session")
def cloudsearch_server() -> Iterator[CloudSearchServer]:
    server = CloudSearchServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
