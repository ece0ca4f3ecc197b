"""A Google Drive v3 API for the real client libraries: fixture ``gdrive_server``.

There is no Drive emulator, so this serves the endpoints googleapiclient uses for uploads, with
the checks Drive makes:

* ``POST /token``: OAuth tokens for service accounts (a JWT bearer assertion, RS256-verified with
  the account's public key, audience Google's token endpoint, Drive scope required) and for exporters'
  OAuth clients (a refresh token). Unknown keys and tokens get ``400 invalid_grant``.
* Every Drive request needs ``Authorization: Bearer <token>`` issued here, else 401.
* ``GET /drive/v3/files`` with ``q`` (``name =``, ``'<id>' in parents``, ``trashed =``,
  ``mimeType =``/``!=`` joined by ``and``; anything else is 400), ``POST /drive/v3/files``
  (metadata only: folders), ``GET /drive/v3/files/<id>``; ``fields`` selects what is returned.
* Uploads only through the resumable protocol: ``POST /upload/drive/v3/files?uploadType=resumable``
  (or ``PATCH .../files/<id>`` to replace content) answers a ``Location``; ``PUT`` chunks with
  ``Content-Range`` get ``308 Resume Incomplete`` with ``Range`` until the last byte, then 200 and
  the file resource with ``size`` and ``md5Checksum``; ``Content-Range: bytes */N`` asks how much
  arrived. Every chunk but the last must be a multiple of 256 KiB. The file exists only once
  complete.

Faults on demand: ``fail_next_chunks(n)`` keeps the next n chunks but answers 503 (a lost
response: the client must ask where to resume), ``corrupt_uploads`` stores uploads with one byte
changed. One server per session on a free 127.0.0.1 port; tests call ``reset()`` first.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.servers.http_fake import FakeHandler, HTTPFake

FOLDER = "application/vnd.google-apps.folder"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
CHUNK_UNIT = 256 * 1024
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token"
_DEFAULT_FIELDS = ("kind", "id", "name", "mimeType")
_TOKEN = re.compile(r"\s*('(?:[^'\\]|\\.)*'|!=|=|[A-Za-z]+)")


@dataclass
class DriveFile:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    content: bytes = b""
    trashed: bool = False

    def resource(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": self.parents,
            "trashed": self.trashed,
        }
        if self.mime_type != FOLDER:
            found["size"] = str(len(self.content))
            found["md5Checksum"] = hashlib.md5(self.content).hexdigest()
        return found


@dataclass
class _Upload:
    metadata: dict[str, Any]
    fields: str | None
    total: int | None
    replaces: str | None
    received: bytearray = field(default_factory=bytearray)


@dataclass
class Stats:
    """What the clients did, for tests about the protocol."""

    sessions: int = 0
    chunks: int = 0
    bytes_received: int = 0
    status_queries: int = 0
    folders_created: int = 0
    files_created: int = 0
    files_replaced: int = 0
    tokens_issued: int = 0


class _Answer(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, message: str, reason: str = "badRequest") -> _Answer:
    return _Answer(
        status,
        {"error": {"code": status, "message": message, "errors": [{"reason": reason, "message": message}]}},
    )


class DriveServer(HTTPFake):
    thread_name = "gdrive-test"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.files: dict[str, DriveFile] = {}
        self.uploads: dict[str, _Upload] = {}
        self.tokens: set[str] = set()
        self.service_accounts: dict[str, tuple[str, str]] = {}  # client_email -> (key id, public PEM)
        self.oauth_clients: dict[str, tuple[str, str]] = {}  # refresh token -> (client id, secret)
        self.stats = Stats()
        self.failures_left = 0
        self.corrupt_uploads = False

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def reset(self) -> None:
        with self._lock:
            self.files.clear()
            self.uploads.clear()
            self.stats = Stats()
            self.failures_left = 0
            self.corrupt_uploads = False

    def fail_next_chunks(self, count: int) -> None:
        self.failures_left = count

    # -- identities ------------------------------------------------------------------------------
    def new_service_account(self, register: bool = True) -> dict[str, Any]:
        """A service account key file (as Google issues them) whose token URI is this server."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        key_id = secrets.token_hex(8)
        email = f"ozzy-{key_id}@ozzy-test.iam.gserviceaccount.com"
        if register:
            self.service_accounts[email] = (key_id, public)
        return {
            "type": "service_account",
            "project_id": "ozzy-test",
            "private_key_id": key_id,
            "private_key": private,
            "client_email": email,
            "client_id": "1000",
            "token_uri": self.token_uri,
        }

    def connection(self, keyfile: dict[str, Any], scope: str = DRIVE_SCOPE) -> dict[str, Any]:
        """An Airflow ``google_cloud_platform`` connection with ``keyfile``, for ``AIRFLOW_CONN_<ID>``."""
        return {
            "conn_type": "google_cloud_platform",
            "extra": {"keyfile_dict": json.dumps(keyfile), "scope": scope, "project": "ozzy-test"},
        }

    def new_oauth_client(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """exporters' ``credentials`` and ``client_secret`` objects for a new OAuth client."""
        client_id = f"{secrets.token_hex(6)}.apps.googleusercontent.com"
        client_secret, refresh_token = secrets.token_urlsafe(12), "1//" + secrets.token_urlsafe(24)
        self.oauth_clients[refresh_token] = (client_id, client_secret)
        credentials = {
            "access_token": "expired-long-ago",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
            "token_expiry": "2016-01-01T00:00:00Z",
            "token_uri": self.token_uri,
            "user_agent": None,
            "_class": "OAuth2Credentials",
        }
        secret = {
            "installed": {"client_id": client_id, "client_secret": client_secret, "token_uri": self.token_uri}
        }
        return credentials, secret

    # -- inspection ------------------------------------------------------------------------------
    def tree(self, root: str = "root") -> dict[str, bytes]:
        """Path (below ``root``) -> content of every file; fails on two files with one path."""
        found: dict[str, bytes] = {}

        def walk(parent: str, prefix: str) -> None:
            for each in [f for f in self.files.values() if parent in f.parents and not f.trashed]:
                path = f"{prefix}{each.name}"
                if each.mime_type == FOLDER:
                    walk(each.id, path + "/")
                else:
                    assert path not in found, f"two files named {path}"
                    found[path] = each.content

        with self._lock:
            walk(root, "")
        return found

    def folder_paths(self) -> list[str]:
        with self._lock:
            folders = {f.id: f for f in self.files.values() if f.mime_type == FOLDER}

        def path(folder: DriveFile) -> str:
            parent = folders.get(folder.parents[0]) if folder.parents else None
            return f"{path(parent)}/{folder.name}" if parent else folder.name

        return sorted(path(each) for each in folders.values())

    # -- the API ---------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Answer:
        parts = urlsplit(target)
        query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            if parts.path == "/token" and method == "POST":
                return self._token({k: v[0] for k, v in parse_qs(body.decode()).items()})
            self._authorize(headers)
            if parts.path.startswith("/upload/drive/v3/files"):
                return self._upload(method, parts.path, query, headers, body)
            if parts.path == "/drive/v3/files" and method == "GET":
                return self._list(query)
            if parts.path == "/drive/v3/files" and method == "POST":
                return self._create(json.loads(body or b"{}"), query)
            found = re.fullmatch(r"/drive/v3/files/([^/]+)", parts.path)
            if found and method == "GET":
                return _Answer(200, _select(self._file(found.group(1)).resource(), query.get("fields")))
            raise _error(404, f"no such endpoint: {method} {parts.path}", "notFound")
        except _Answer as answer:
            return answer

    def _token(self, form: dict[str, str]) -> _Answer:
        if form.get("grant_type") == JWT_BEARER:
            self._check_assertion(form.get("assertion", ""))
        elif form.get("grant_type") == "refresh_token":
            client = self.oauth_clients.get(form.get("refresh_token", ""))
            if client != (form.get("client_id"), form.get("client_secret")):
                raise _Answer(
                    400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                )
        else:
            raise _Answer(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        token = "ya29." + secrets.token_urlsafe(24)
        with self._lock:
            self.tokens.add(token)
            self.stats.tokens_issued += 1
        return _Answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _check_assertion(self, assertion: str) -> None:
        from google.auth import jwt

        invalid = _Answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        try:
            unverified = jwt.decode(assertion, verify=False)
        except ValueError:
            raise invalid from None
        account = self.service_accounts.get(unverified.get("iss", ""))
        if account is None:
            raise _Answer(
                400, {"error": "invalid_grant", "error_description": "Invalid grant: account not found"}
            )
        key_id, public = account
        try:
            # google-auth addresses the assertion to Google's token endpoint whatever the key's token_uri
            claims = jwt.decode(assertion, certs={key_id: public}, audience=GOOGLE_TOKEN_ENDPOINT)
        except ValueError:
            raise invalid from None
        if DRIVE_SCOPE not in str(claims.get("scope", "")).split():
            raise _Answer(400, {"error": "invalid_scope", "error_description": "Drive scope not granted"})

    def _authorize(self, headers: dict[str, str]) -> None:
        value = headers.get("authorization", "")
        if not value.startswith("Bearer ") or value[len("Bearer ") :] not in self.tokens:
            raise _error(401, "Request had invalid authentication credentials.", "authError")

    def _file(self, file_id: str) -> DriveFile:
        with self._lock:
            found = self.files.get(file_id)
        if found is None:
            raise _error(404, f"File not found: {file_id}.", "notFound")
        return found

    def _list(self, query: dict[str, str]) -> _Answer:
        test = _parse_query(query.get("q", ""))
        with self._lock:
            matching = [each.resource() for each in self.files.values() if test(each)]
        fields = query.get("fields")
        inner = None
        if fields:
            found = re.fullmatch(r"\s*(?:nextPageToken\s*,\s*)?files\(([^)]*)\)\s*", fields)
            if not found:
                raise _error(400, f"Invalid field selection {fields}", "invalidParameter")
            inner = found.group(1)
        return _Answer(200, {"kind": "drive#fileList", "files": [_select(each, inner) for each in matching]})

    def _create(self, metadata: dict[str, Any], query: dict[str, str]) -> _Answer:
        created = self._new_file(metadata, b"")
        with self._lock:
            if created.mime_type == FOLDER:
                self.stats.folders_created += 1
        return _Answer(200, _select(created.resource(), query.get("fields")))

    def _new_file(self, metadata: dict[str, Any], content: bytes) -> DriveFile:
        if not metadata.get("name"):
            raise _error(400, "A name is required")
        parents = metadata.get("parents") or ["root"]
        for parent in parents:
            if parent != "root":
                self._file(parent)
        created = DriveFile(
            f"f{next(self._ids)}",
            metadata["name"],
            metadata.get("mimeType") or "application/octet-stream",
            list(parents),
            content,
        )
        with self._lock:
            self.files[created.id] = created
        return created

    # -- resumable uploads -------------------------------------------------------------------------
    def _upload(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> _Answer:
        if method == "PUT" and "upload_id" in query:
            return self._chunk(query["upload_id"], headers, body)
        if query.get("uploadType") != "resumable":
            raise _error(400, "this server accepts only uploadType=resumable", "invalidParameter")
        replaces = None
        if method == "PATCH":
            found = re.fullmatch(r"/upload/drive/v3/files/([^/]+)", path)
            replaces = self._file(found.group(1)).id if found else None
            if replaces is None:
                raise _error(404, "no file to update", "notFound")
        elif not (method == "POST" and path == "/upload/drive/v3/files"):
            raise _error(404, f"no such endpoint: {method} {path}", "notFound")
        total = headers.get("x-upload-content-length")
        upload_id = secrets.token_urlsafe(16)
        with self._lock:
            self.uploads[upload_id] = _Upload(
                json.loads(body or b"{}"), query.get("fields"), int(total) if total else None, replaces
            )
            self.stats.sessions += 1
        location = (
            f"http://{headers['host']}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
        )
        return _Answer(200, {}, {"Location": location})

    def _chunk(self, upload_id: str, headers: dict[str, str], body: bytes) -> _Answer:
        with self._lock:
            upload = self.uploads.get(upload_id)
        if upload is None:
            raise _error(404, "No such upload session", "notFound")
        found = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", headers.get("content-range", "bytes */0"))
        if not found:
            raise _error(400, "Invalid Content-Range")
        total = None if found.group(3) == "*" else int(found.group(3))
        if total is not None and upload.total is not None and total != upload.total:
            raise _error(400, f"Content-Range total {total} differs from the announced {upload.total}")
        if found.group(1) is None:  # a status query
            with self._lock:
                self.stats.status_queries += 1
            return self._progress(upload, total)
        start, end = int(found.group(1)), int(found.group(2))
        if end - start + 1 != len(body):
            raise _error(400, "Content-Range does not match the body length")
        if start > len(upload.received):
            raise _error(400, f"chunk starts at {start}, the upload has {len(upload.received)} bytes")
        final = total is not None and end + 1 == total
        if not final and len(body) % CHUNK_UNIT:
            raise _error(
                400, f"chunk of {len(body)} bytes: all but the last must be multiples of {CHUNK_UNIT}"
            )
        with self._lock:
            del upload.received[start:]
            upload.received += body
            self.stats.chunks += 1
            self.stats.bytes_received += len(body)
            fail = self.failures_left > 0
            if fail:
                self.failures_left -= 1
        if fail:
            raise _error(503, "Backend Error (injected)", "backendError")
        return self._progress(upload, total)

    def _progress(self, upload: _Upload, total: int | None) -> _Answer:
        received = len(upload.received)
        if total is None or received < total:
            headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
            return _Answer(308, None, headers)
        content = bytes(upload.received)
        if self.corrupt_uploads and content:
            content = bytes([content[0] ^ 0xFF]) + content[1:]
        if upload.replaces:
            target = self._file(upload.replaces)
            with self._lock:
                target.content = content
                self.stats.files_replaced += 1
        else:
            target = self._new_file(upload.metadata, content)
            with self._lock:
                self.stats.files_created += 1
        return _Answer(200, _select(target.resource(), upload.fields))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(FakeHandler):
            def _serve(self) -> None:
                answer = api.handle(self.command, self.path, *self.read_request())
                self.answer(
                    answer.status,
                    b"" if answer.body is None else json.dumps(answer.body).encode(),
                    {**answer.headers, "Content-Type": "application/json; charset=UTF-8"},
                    "Resume Incomplete" if answer.status == 308 else None,
                )

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler


def _select(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    names = [name.strip() for name in fields.split(",")] if fields else list(_DEFAULT_FIELDS)
    return {name: resource[name] for name in names if name in resource}


def _parse_query(q: str) -> Callable[[DriveFile], bool]:
    """Drive's query language, the part Ozzy and the google provider use; 400 for anything else."""
    tokens: list[str] = []
    end = 0
    for match in _TOKEN.finditer(q):
        if match.start() != end:
            raise _error(400, f"Invalid Value: q={q!r}", "invalid")
        tokens.append(match.group(1))
        end = match.end()
    if q[end:].strip():
        raise _error(400, f"Invalid Value: q={q!r}", "invalid")
    tests: list[tuple[str, Any, bool]] = []  # (attribute, value, whether it must be equal)
    position = 0
    while position < len(tokens):
        clause = tokens[position : position + 3]
        position += 3
        if len(clause) == 3 and clause[0].startswith("'") and clause[1:] == ["in", "parents"]:
            tests.append(("parents", _literal(clause[0]), True))
        elif len(clause) == 3 and clause[0] == "name" and clause[1] == "=" and clause[2].startswith("'"):
            tests.append(("name", _literal(clause[2]), True))
        elif (
            len(clause) == 3
            and clause[0] == "trashed"
            and clause[1] == "="
            and clause[2] in ("true", "false")
        ):
            tests.append(("trashed", clause[2] == "true", True))
        elif (
            len(clause) == 3
            and clause[0] == "mimeType"
            and clause[1] in ("=", "!=")
            and clause[2].startswith("'")
        ):
            tests.append(("mime_type", _literal(clause[2]), clause[1] == "="))
        else:
            raise _error(400, f"Invalid Value: q={q!r}", "invalid")
        if position < len(tokens):
            if tokens[position] != "and":
                raise _error(400, f"Invalid Value: q={q!r}", "invalid")
            position += 1

    def matches(each: DriveFile) -> bool:
        for attribute, value, equal in tests:
            found = value in each.parents if attribute == "parents" else getattr(each, attribute) == value
            if found != equal:
                return False
        return True

    return matches


def _literal(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


@pytest.fixture(scope="session")
def gdrive_server() -> Iterator[DriveServer]:
    server = DriveServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
