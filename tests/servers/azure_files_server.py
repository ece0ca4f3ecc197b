"""A small Azure Files server (File REST API subset) on a free 127.0.0.1 port: fixture ``azure_files_server``.

No emulator of Azure Files exists (Azurite serves Blob, Queue and Table only), so this one lets the
real ``azure-storage-file-share`` SDK, through ``AzureFileShareHook``, talk to something over HTTP.
It implements the operations the SDK sends for Ozzy's writer and bypass, with the semantics and
error codes of the service:

* shares: create (409 ``ShareAlreadyExists``), properties, delete, list;
* directories: create (404 ``ParentNotFound``, 409 ``ResourceAlreadyExists``), properties, list
  files and directories (``restype=directory&comp=list`` with ``prefix``), delete (409 ``DirectoryNotEmpty``);
* files: create at a size (zero-filled), put range (``x-ms-write: update|clear``, ``Content-MD5`` checked,
  400 ``Md5Mismatch``), get (whole or ``x-ms-range``; 416 ``InvalidRange`` on an empty file, as the
  service does), properties (HEAD), set properties (resize, content settings), rename
  (``comp=rename``), delete, and copy from a URL (``x-ms-copy-source``: a file of this server, copied
  at once, or any other URL, fetched in the background: ``x-ms-copy-status`` is ``pending`` until
  the bytes are in, then ``success`` or ``failed``).

Every request must carry a valid SharedKey signature for ``ACCOUNT``/``KEY`` (403
``AuthenticationFailed`` otherwise), computed as the service does, so a wrong key fails like it
would in Azure. Everything lives in memory; ``requests`` records each operation for tests, and
``copy_delay`` slows background copies so tests can see them pending, and ``fail_copies`` makes
the next background copies fail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

import pytest

from tests.servers.http_fake import HTTPFake

ACCOUNT = "devstoreaccount1"
# the well-known development storage key (published in Azurite's README): not a secret
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_SIGNED_HEADERS = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)
_CONTENT_SETTINGS = {
    "x-ms-content-type": "Content-Type",
    "x-ms-content-encoding": "Content-Encoding",
    "x-ms-content-language": "Content-Language",
    "x-ms-cache-control": "Cache-Control",
    "x-ms-content-disposition": "Content-Disposition",
    "x-ms-content-md5": "Content-MD5",
}
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_ids = itertools.count(1000)


class FileError(Exception):
    """An error answer: HTTP status and the service's error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class Entry:
    """A file or directory."""

    is_dir: bool
    content: bytearray = field(default_factory=bytearray)
    settings: dict[str, str] = field(default_factory=dict)  # response header -> value
    metadata: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    modified: float = 0.0
    file_id: int = 0
    copy: dict[str, str] = field(default_factory=dict)  # x-ms-copy-* headers

    def touch(self) -> None:
        self.etag = f'"0x{uuid.uuid4().hex[:15].upper()}"'
        self.modified = time.time()


@dataclass
class Share:
    entries: dict[str, Entry] = field(default_factory=dict)  # path inside the share -> entry
    etag: str = '"0x8D0000000000000"'
    modified: float = field(default_factory=time.time)


class AzureFilesServer(HTTPFake):
    thread_name = "azure-files-server"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.shares: dict[str, Share] = {}
        self.requests: list[
            tuple[str, str]
        ] = []  # (method, "restype:comp") in arrival order, refused ones too
        self.copy_delay = 0.0
        self.fail_copies = 0  # the next N background copies fail (as a source gone away would)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def connection_string(self, key: str = KEY) -> str:
        return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};FileEndpoint={self.endpoint};"

    def connection(self, key: str = KEY) -> dict[str, Any]:
        """An Airflow ``azure_fileshare`` connection to this server, for ``AIRFLOW_CONN_<ID>`` as JSON."""
        return {"conn_type": "azure_fileshare", "extra": {"connection_string": self.connection_string(key)}}

    def connection_json(self, key: str = KEY) -> str:
        return json.dumps(self.connection(key))

    # -- inspection (tests) ------------------------------------------------------------------------------
    def files(self, share: str) -> dict[str, bytes]:
        """Every file of ``share`` (path -> content)."""
        with self.lock:
            found = self.shares.get(share)
            if found is None:
                return {}
            return {path: bytes(e.content) for path, e in found.entries.items() if not e.is_dir}

    def put(self, share: str, path: str, data: bytes) -> None:
        """Replace a file's content behind the writer's back (consistency tests)."""
        with self.lock:
            entry = self.shares[share].entries[path]
            entry.content = bytearray(data)
            entry.touch()

    def reset(self) -> None:
        with self.lock:
            self.shares.clear()
            self.requests.clear()
            self.copy_delay = 0.0
            self.fail_copies = 0

    # -- operations --------------------------------------------------------------------------------------
    def share(self, name: str) -> Share:
        found = self.shares.get(name)
        if found is None:
            raise FileError(404, "ShareNotFound", "The specified share does not exist.")
        return found

    def entry(self, share: Share, path: str, is_dir: bool | None = None) -> Entry:
        found = share.entries.get(path)
        if found is None or (is_dir is not None and found.is_dir != is_dir):
            raise FileError(404, "ResourceNotFound", "The specified resource does not exist.")
        return found

    def check_parent(self, share: Share, path: str) -> None:
        parent = path.rpartition("/")[0]
        if parent and not (parent in share.entries and share.entries[parent].is_dir):
            raise FileError(404, "ParentNotFound", "The specified parent path does not exist.")

    def new_entry(self, share: Share, path: str, is_dir: bool) -> Entry:
        entry = Entry(is_dir=is_dir, file_id=next(_ids))
        entry.touch()
        share.entries[path] = entry
        return entry

    def start_copy(self, target: Entry, source: str) -> None:
        copy_id = str(uuid.uuid4())
        target.copy = {
            "x-ms-copy-id": copy_id,
            "x-ms-copy-source": source,
            "x-ms-copy-status": "pending",
            "x-ms-copy-progress": "0/0",
        }
        own = f"{self.endpoint}/"
        if source.split("?", 1)[0].startswith(own):
            share_name, _, path = unquote(source.split("?", 1)[0][len(own) :]).partition("/")
            source_entry = self.entry(self.share(share_name), path, is_dir=False)
            self._finish_copy(target, copy_id, bytes(source_entry.content), None)
            return
        threading.Thread(target=self._fetch, args=(target, copy_id, source), daemon=True).start()

    def _fetch(self, target: Entry, copy_id: str, source: str) -> None:
        time.sleep(self.copy_delay)
        with self.lock:
            failing, self.fail_copies = self.fail_copies > 0, max(0, self.fail_copies - 1)
        if failing:
            with self.lock:
                self._finish_copy(target, copy_id, b"", "CannotVerifyCopySource: the source answered 404")
            return
        try:
            with urllib.request.urlopen(source, timeout=60) as answer:  # noqa: S310 - test server
                data = answer.read()
            error = None
        except Exception as failure:
            data, error = b"", f"{type(failure).__name__}: {failure}"
        with self.lock:
            self._finish_copy(target, copy_id, data, error)

    @staticmethod
    def _finish_copy(target: Entry, copy_id: str, data: bytes, error: str | None) -> None:
        if target.copy.get("x-ms-copy-id") != copy_id:
            return  # replaced by a later copy or write
        if error:
            target.copy.update({"x-ms-copy-status": "failed", "x-ms-copy-status-description": error})
        else:
            target.content = bytearray(data)
            target.copy.update(
                {"x-ms-copy-status": "success", "x-ms-copy-progress": f"{len(data)}/{len(data)}"}
            )
        target.copy["x-ms-copy-completion-time"] = formatdate(usegmt=True)
        target.touch()


# -- signatures ---------------------------------------------------------------------------------------------
def _header_order(name: str) -> tuple[str, str]:
    # the service's comparer ignores hyphens first, then uses them to break ties
    return name.replace("-", ""), name


def string_to_sign(method: str, raw_path: str, headers: dict[str, str]) -> str:
    """What the service signs (SharedKey, version 2009-09-19 and later)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("content-length") == "0":
        del lowered["content-length"]
    parts = [method] + [lowered.get(name, "") for name in _SIGNED_HEADERS]
    canonical_headers = "".join(
        f"{name}:{lowered[name]}\n"
        for name in sorted((n for n in lowered if n.startswith("x-ms-")), key=_header_order)
    )
    path, _, query = raw_path.partition("?")
    resource = f"/{ACCOUNT}{path}"
    for name, value in sorted(
        (name.lower(), value) for name, value in parse_qsl(query, keep_blank_values=True)
    ):
        resource += f"\n{name}:{value}"
    return "\n".join(parts) + "\n" + canonical_headers + resource


def signature(key: str, text: str) -> str:
    digest = hmac.new(base64.b64decode(key), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# -- HTTP ---------------------------------------------------------------------------------------------------
def _handler(server: AzureFilesServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        # -- plumbing ---------------------------------------------------------------------------------
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            self.query = dict(parse_qsl(split.query, keep_blank_values=True))
            segments = [unquote(part) for part in split.path.split("/")[1:]]
            operation = f"{self.query.get('restype') or 'file'}:{self.query.get('comp') or ''}"
            if self.headers.get("x-ms-copy-source"):
                operation = "file:copy"
            with server.lock:
                server.requests.append((self.command, operation))
            try:
                self._authenticate()
                if not segments or segments[0] != ACCOUNT:
                    raise FileError(400, "InvalidUri", "The requested URI does not represent any resource.")
                share = segments[1] if len(segments) > 1 else ""
                path = "/".join(part for part in segments[2:] if part)
                with server.lock:
                    status, headers, body = self._route(share, path)
            except FileError as error:
                status, headers, body = error.status, {"x-ms-error-code": error.code}, _error_xml(error)
            self._answer(status, headers, body)

        def _authenticate(self) -> None:
            given = self.headers.get("Authorization", "")
            expected = signature(KEY, string_to_sign(self.command, self.path, dict(self.headers.items())))
            if given != f"SharedKey {ACCOUNT}:{expected}":
                raise FileError(
                    403,
                    "AuthenticationFailed",
                    "Server failed to authenticate the request. Make sure the value of Authorization "
                    "header is formed correctly including the signature.",
                )

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            self.send_header("x-ms-version", self.headers.get("x-ms-version", "2025-05-05"))
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        # -- routing ----------------------------------------------------------------------------------
        def _route(self, share_name: str, path: str) -> tuple[int, dict[str, str], bytes]:
            restype, comp, method = self.query.get("restype"), self.query.get("comp"), self.command
            if not share_name:
                if method == "GET" and comp == "list":
                    return 200, {"Content-Type": "application/xml"}, _shares_xml(server)
                raise FileError(400, "InvalidQueryParameterValue", "Unsupported account operation.")
            if restype == "share":
                return self._share(share_name, comp)
            share = server.share(share_name)
            if restype == "directory":
                return self._directory(share, share_name, path, comp)
            if not path:
                raise FileError(400, "InvalidUri", "The requested URI does not represent any resource.")
            return self._file(share, path, comp)

        def _share(self, name: str, comp: str | None) -> tuple[int, dict[str, str], bytes]:
            method = self.command
            if method == "PUT" and comp is None:
                if name in server.shares:
                    raise FileError(409, "ShareAlreadyExists", "The specified share already exists.")
                server.shares[name] = Share()
                return 201, _times(server.shares[name].etag, time.time()), b""
            share = server.share(name)
            if method in ("GET", "HEAD"):
                return 200, {**_times(share.etag, share.modified), "x-ms-share-quota": "5120"}, b""
            if method == "DELETE":
                del server.shares[name]
                return 202, {}, b""
            if method == "PUT":  # metadata, properties, ACLs: accepted and ignored
                return 200, _times(share.etag, share.modified), b""
            raise FileError(400, "UnsupportedHttpVerb", f"{method} is not supported on shares.")

        def _directory(
            self, share: Share, share_name: str, path: str, comp: str | None
        ) -> tuple[int, dict[str, str], bytes]:
            method = self.command
            if method == "GET" and comp == "list":
                if path:
                    server.entry(share, path, is_dir=True)
                return 200, {"Content-Type": "application/xml"}, self._listing(share, share_name, path)
            if method == "PUT" and comp is None:
                if path in share.entries:
                    raise FileError(409, "ResourceAlreadyExists", "The specified resource already exists.")
                server.check_parent(share, path)
                entry = server.new_entry(share, path, is_dir=True)
                return 201, _entry_headers(entry), b""
            if not path:  # the share's root directory
                if method in ("GET", "HEAD"):
                    return 200, _times(share.etag, share.modified), b""
                raise FileError(400, "InvalidUri", "The root directory cannot be changed.")
            entry = server.entry(share, path, is_dir=True)
            if method in ("GET", "HEAD"):
                return 200, _entry_headers(entry), b""
            if method == "DELETE":
                if any(other.startswith(path + "/") for other in share.entries):
                    raise FileError(409, "DirectoryNotEmpty", "The specified directory is not empty.")
                del share.entries[path]
                return 202, {}, b""
            if method == "PUT":
                return 200, _entry_headers(entry), b""
            raise FileError(400, "UnsupportedHttpVerb", f"{method} is not supported on directories.")

        def _listing(self, share: Share, share_name: str, path: str) -> bytes:
            prefix = self.query.get("prefix", "")
            base = f"{path}/" if path else ""
            items = []
            for name in sorted(share.entries):
                if not name.startswith(base) or "/" in name[len(base) :]:
                    continue
                child = name[len(base) :]
                if not child.startswith(prefix):
                    continue
                entry = share.entries[name]
                if entry.is_dir:
                    items.append(
                        f"<Directory><Name>{escape(child)}</Name><FileId>{entry.file_id}</FileId><Properties /></Directory>"
                    )
                else:
                    items.append(
                        f"<File><Name>{escape(child)}</Name><FileId>{entry.file_id}</FileId>"
                        f"<Properties><Content-Length>{len(entry.content)}</Content-Length></Properties></File>"
                    )
            return (
                '<?xml version="1.0" encoding="utf-8"?>'
                f'<EnumerationResults ServiceEndpoint="{escape(server.endpoint)}/" ShareName="{escape(share_name)}" '
                f'DirectoryPath="{escape(path)}"><Prefix>{escape(prefix)}</Prefix>'
                f"<Entries>{''.join(items)}</Entries><NextMarker /></EnumerationResults>"
            ).encode()

        def _file(self, share: Share, path: str, comp: str | None) -> tuple[int, dict[str, str], bytes]:
            method = self.command
            if method == "PUT" and comp is None:
                return self._create_or_copy(share, path)
            if method == "PUT" and comp == "rename":
                return self._rename(share, path)
            entry = server.entry(share, path)
            if entry.is_dir:
                raise FileError(409, "ResourceTypeMismatch", "The specified resource is a directory.")
            if method == "PUT" and comp == "range":
                return self._put_range(entry)
            if method == "PUT" and comp == "properties":
                size = self.headers.get("x-ms-content-length")
                if size is not None:
                    entry.content = entry.content[: int(size)].ljust(int(size), b"\0")
                entry.settings.update(_settings_of(self.headers))
                entry.touch()
                return 200, _entry_headers(entry), b""
            if method == "PUT" and comp == "metadata":
                entry.metadata = _metadata_of(self.headers)
                return 200, _entry_headers(entry), b""
            if method == "GET" and comp is None:
                return self._get(entry)
            if method == "HEAD":
                return 200, self._properties(entry), b""
            if method == "DELETE":
                del share.entries[path]
                return 202, {}, b""
            raise FileError(400, "UnsupportedHttpVerb", f"{method} {comp} is not supported on files.")

        def _create_or_copy(self, share: Share, path: str) -> tuple[int, dict[str, str], bytes]:
            existing = share.entries.get(path)
            if existing is not None and existing.is_dir:
                raise FileError(409, "ResourceTypeMismatch", "The specified resource is a directory.")
            server.check_parent(share, path)
            source = self.headers.get("x-ms-copy-source")
            entry = existing or server.new_entry(share, path, is_dir=False)
            entry.metadata = _metadata_of(self.headers)
            if source:
                server.start_copy(entry, source)
                headers = _entry_headers(entry)
                headers.update(
                    {k: v for k, v in entry.copy.items() if k in ("x-ms-copy-id", "x-ms-copy-status")}
                )
                return 202, headers, b""
            if self.headers.get("x-ms-type", "").lower() != "file":
                raise FileError(
                    400, "MissingRequiredHeader", "An HTTP header that's mandatory is missing: x-ms-type."
                )
            size = int(self.headers.get("x-ms-content-length", "0"))
            entry.content = bytearray(size)
            entry.settings = _settings_of(self.headers)
            entry.copy = {}
            entry.touch()
            return 201, _entry_headers(entry), b""

        def _rename(self, share: Share, path: str) -> tuple[int, dict[str, str], bytes]:
            source_url = self.headers.get("x-ms-file-rename-source", "")
            source_path = unquote(urlsplit(source_url).path).split("/", 3)[3:]
            if not source_path:
                raise FileError(
                    400, "InvalidHeaderValue", "x-ms-file-rename-source is not a file of this share."
                )
            source = server.entry(share, source_path[0])
            target = share.entries.get(path)
            replace = self.headers.get("x-ms-file-rename-replace-if-exists", "false").lower() == "true"
            if target is not None and not replace:
                raise FileError(409, "ResourceAlreadyExists", "The specified resource already exists.")
            if target is not None and target.is_dir:
                raise FileError(409, "ResourceTypeMismatch", "The specified resource is a directory.")
            server.check_parent(share, path)
            share.entries[path] = share.entries.pop(source_path[0])
            source.touch()
            return 200, _entry_headers(source), b""

        def _put_range(self, entry: Entry) -> tuple[int, dict[str, str], bytes]:
            match = _RANGE.match(self.headers.get("x-ms-range") or self.headers.get("Range") or "")
            if not match or not match[2]:
                raise FileError(
                    400,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                )
            start, end = int(match[1]), int(match[2])
            if end >= len(entry.content):
                raise FileError(
                    416,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                )
            if self.headers.get("x-ms-write", "update").lower() == "clear":
                entry.content[start : end + 1] = bytes(end - start + 1)
            else:
                if len(self.body) != end - start + 1:
                    raise FileError(400, "InvalidHeaderValue", "The range length does not match the body.")
                sent_md5 = self.headers.get("Content-MD5")
                body_md5 = base64.b64encode(hashlib.md5(self.body).digest()).decode()
                if sent_md5 and sent_md5 != body_md5:
                    raise FileError(
                        400, "Md5Mismatch", "The MD5 value specified in the request did not match."
                    )
                entry.content[start : end + 1] = self.body
            entry.copy = {}
            entry.touch()
            headers = _times(entry.etag, entry.modified)
            headers["Content-MD5"] = base64.b64encode(hashlib.md5(self.body).digest()).decode()
            return 201, headers, b""

        def _get(self, entry: Entry) -> tuple[int, dict[str, str], bytes]:
            header = self.headers.get("x-ms-range") or self.headers.get("Range")
            data = bytes(entry.content)
            headers = self._properties(entry)
            if not header:
                headers["Content-Length"] = str(len(data))
                return 200, headers, data
            match = _RANGE.match(header)
            if not match or int(match[1]) >= len(data):
                raise FileError(
                    416,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                )
            start = int(match[1])
            end = min(int(match[2]) if match[2] else len(data) - 1, len(data) - 1)
            part = data[start : end + 1]
            headers["Content-Length"] = str(len(part))
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            headers.pop("Content-MD5", None)
            if self.headers.get("x-ms-range-get-content-md5", "").lower() == "true":
                headers["Content-MD5"] = base64.b64encode(hashlib.md5(part).digest()).decode()
            elif "Content-MD5" in entry.settings:
                headers["x-ms-content-md5"] = entry.settings["Content-MD5"]
            return 206, headers, part

        def _properties(self, entry: Entry) -> dict[str, str]:
            headers = _entry_headers(entry)
            headers.update(entry.settings)
            headers.update(entry.copy)
            headers.update({f"x-ms-meta-{name}": value for name, value in entry.metadata.items()})
            headers["Content-Length"] = str(len(entry.content))
            headers["x-ms-type"] = "File"
            headers["Accept-Ranges"] = "bytes"
            return headers

    return Handler


def _times(etag: str, modified: float) -> dict[str, str]:
    return {"ETag": etag, "Last-Modified": formatdate(modified, usegmt=True)}


def _entry_headers(entry: Entry) -> dict[str, str]:
    headers = _times(entry.etag, entry.modified)
    headers.update(
        {
            "x-ms-request-server-encrypted": "true",
            "x-ms-file-id": str(entry.file_id),
            "x-ms-file-attributes": "Directory" if entry.is_dir else "Archive",
        }
    )
    return headers


def _settings_of(headers: Any) -> dict[str, str]:
    return {answer: headers[name] for name, answer in _CONTENT_SETTINGS.items() if headers.get(name)}


def _metadata_of(headers: Any) -> dict[str, str]:
    return {
        name[len("x-ms-meta-") :]: value
        for name, value in headers.items()
        if name.lower().startswith("x-ms-meta-")
    }


def _error_xml(error: FileError) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{error.code}</Code><Message>{escape(str(error))}</Message></Error>"
    ).encode()


def _shares_xml(server: AzureFilesServer) -> bytes:
    shares = "".join(
        f"<Share><Name>{escape(name)}</Name><Properties><Etag>{share.etag}</Etag>"
        f"<Last-Modified>{formatdate(share.modified, usegmt=True)}</Last-Modified><Quota>5120</Quota></Properties></Share>"
        for name, share in sorted(server.shares.items())
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{escape(server.endpoint)}/">'
        f"<Shares>{shares}</Shares><NextMarker /></EnumerationResults>"
    ).encode()


@pytest.fixture(scope="session")
def azure_files_server() -> Iterator[AzureFilesServer]:
    server = AzureFilesServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
