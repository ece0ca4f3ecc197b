"""Google Cloud Storage access shared by GStorageReader, GStorageWriter and the stream bypass.

Credentials come from an Airflow connection (``gcp_conn_id``) through the Google provider's
``GCSHook``, resolved on first use, never at validation. exporters' ``credentials`` option (a
service account JSON object, or a ``package:path`` resource holding one, also read from
``EXPORTERS_GSTORAGE_CREDS_RESOURCE``) still works: it makes service account credentials for a
plain ``storage.Client``, and no Airflow module is imported.

Retries follow Ozzy's single policy (``retries.py``): the client's own retries are turned off
(``retry=None`` on every call), and each operation is retried here on transient errors (5xx, 408, 429,
dropped connections). Permanent errors become ``ReaderError``/``WriterError`` naming the module,
the bucket, the object and the connection, never a secret.
"""

from __future__ import annotations

import base64
import functools
import importlib.resources
import json
import logging
from collections.abc import Callable
from typing import Any, BinaryIO

from airflow_provider_ozzy.core.errors import OzzyError, permanent
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.redaction import mask
from airflow_provider_ozzy.core.retries import TransientError, is_transient_status
from airflow_provider_ozzy.services.stored_files import StoreConnection, require_connection

log = logging.getLogger("airflow_provider_ozzy.gcs")

DEFAULT_CONN_ID = "google_cloud_default"
CREDENTIALS_ENV = "EXPORTERS_GSTORAGE_CREDS_RESOURCE"
# requests of 8 MiB: uploads and reads keep at most this much of an object in memory
CHUNK_SIZE = 8 * 1024 * 1024
TIMEOUT = 120

GCS_OPTIONS: dict[str, dict[str, Any]] = {
    "bucket": {"type": str, "help": "Bucket (``name`` or ``gs://name``)."},
    "gcp_conn_id": {
        "type": (str, type(None)),
        "default": None,
        "help": f"Airflow Google Cloud connection. Default: {DEFAULT_CONN_ID} when no 'credentials' are given.",
    },
    "project": {
        "type": (str, type(None)),
        "default": None,
        "help": "Legacy: project of the 'credentials' (default: the one in the credentials).",
    },
    "credentials": {
        "type": (dict, str, type(None)),
        "default": None,
        "env_fallback": CREDENTIALS_ENV,
        "secret": True,
        "help": "Legacy: service account JSON (an object, JSON text, or a 'package:path' resource holding it); "
        "prefer gcp_conn_id.",
    },
}


def bucket_name(value: str) -> str:
    """``gs://name/`` or ``name`` -> ``name``."""
    return value.removeprefix("gs://").rstrip("/")


def gcs_problems(values: dict[str, Any]) -> list[Problem]:
    bucket = bucket_name(values["bucket"])
    if not bucket:
        return [Problem("bucket", "option 'bucket' must name a bucket")]
    if "/" in bucket:
        return [
            Problem(
                "bucket",
                f"option 'bucket' must be a bucket name or gs://name, got {values['bucket']!r} "
                "(put the path in 'prefix' or 'filebase')",
            )
        ]
    return []


def md5_hex(md5_base64: str | None) -> str | None:
    """GCS and Azure give base64 digests; Ozzy writes hex ones."""
    return base64.b64decode(md5_base64).hex() if md5_base64 else None


class GCSConnection(StoreConnection):
    """A ``storage.Client`` built from a module's options, and operations with retries and clear errors.

    :param options: the module's resolved options (see ``GCS_OPTIONS``).
    :param module: the module's name for messages (``GStorageWriter``).
    :param error_class: what permanent failures raise (``ReaderError`` or ``WriterError``).
    """

    label = "GCS"
    conn_option, default_conn_id = "gcp_conn_id", DEFAULT_CONN_ID
    legacy_option, legacy_credentials = "credentials", "explicit credentials (option 'credentials')"

    def __init__(self, options: dict[str, Any], module: str, error_class: type[OzzyError]) -> None:
        super().__init__(options, module, error_class)
        self.bucket_name = bucket_name(options["bucket"])

    # -- client ---------------------------------------------------------------------------------------
    @functools.cached_property
    def client(self) -> Any:
        if self.uses_legacy:
            return self._client_from_credentials()
        from airflow.providers.google.cloud.hooks.gcs import GCSHook

        require_connection(
            GCSHook,
            self.conn_id,
            "gcp_conn_id",
            self.module,
            f"bucket '{self.bucket_name}'",
            self.error_class,
        )
        try:
            return GCSHook(gcp_conn_id=self.conn_id).get_conn()
        except Exception as error:
            translated = self.translate(error)
            if isinstance(translated, OzzyError):
                raise translated from None
            raise self.error_class(
                f"{self.module}: connection '{self.conn_id}' gives no usable Google Cloud client for bucket "
                f"'{self.bucket_name}' ({type(error).__name__}: {_message_of(error)})"
            ) from None

    def _client_from_credentials(self) -> Any:
        # legacy configs: no hook is involved, so Airflow is not imported (the CLI stays fast)
        from google.cloud import storage
        from google.oauth2 import service_account

        info = self._credentials_info()
        try:
            credentials = service_account.Credentials.from_service_account_info(info)
        except Exception as error:
            raise self.error_class(
                f"{self.module}: option 'credentials' does not hold usable service account credentials "
                f"({type(error).__name__}); bucket '{self.bucket_name}' cannot be reached"
            ) from None
        return storage.Client(
            project=self.options["project"] or info.get("project_id"), credentials=credentials
        )

    def _credentials_info(self) -> dict[str, Any]:
        value = self.options["credentials"]
        if isinstance(value, dict):
            return value
        text = value.strip()
        if not text.startswith("{"):
            package, _, path = text.partition(":")
            try:
                text = importlib.resources.files(package).joinpath(path).read_text(encoding="utf-8")
            except (ImportError, OSError, ValueError) as error:
                raise self.error_class(
                    f"{self.module}: option 'credentials' names resource {text!r} ('package:path'), which "
                    f"cannot be read ({type(error).__name__})"
                ) from None
        try:
            info = json.loads(text)
        except ValueError:
            raise self.error_class(f"{self.module}: option 'credentials' is not a JSON object") from None
        if not isinstance(info, dict):
            raise self.error_class(f"{self.module}: option 'credentials' is not a JSON object")
        return info

    @property
    def bucket(self) -> Any:
        return self.client.bucket(self.bucket_name)

    def blob(self, name: str, generation: int | None = None) -> Any:
        blob = self.bucket.blob(name, generation=generation)
        blob.chunk_size = CHUNK_SIZE
        return blob

    # -- operations -----------------------------------------------------------------------------------
    def where_short(self, name: str | None) -> str:
        return f"{self.bucket_name}/{name}" if name else self.bucket_name

    def list_prefix(self, prefix: str) -> list[tuple[str, int | None, Any]]:
        """(name, size, generation) of every object under ``prefix``, in name order."""

        def listing() -> list[tuple[str, int | None, Any]]:
            blobs = self.client.list_blobs(
                self.bucket_name, prefix=prefix or None, retry=None, timeout=TIMEOUT
            )
            return [(blob.name, blob.size, blob.generation) for blob in blobs]

        return self.run(listing, action="list")

    def open_object(self, name: str, generation: int | None = None, size: int | None = None) -> ObjectStream:
        """A stream of object ``name`` from its start, read ``CHUNK_SIZE`` bytes per request.

        ``generation`` (from the listing) is the version read: a replaced object fails instead of
        giving other data than a resumed read expects. ``size`` (from the listing too) is that
        version's length: the stream ends there without asking the server past its end.
        """

        def opening() -> ObjectStream:
            from google.api_core.exceptions import NotFound

            reader: BinaryIO = self.blob(name, generation=generation).open(
                "rb", retry=None, chunk_size=CHUNK_SIZE, timeout=TIMEOUT
            )
            try:
                # the first request: a missing or replaced object fails here, with a clear message
                head = reader.read(1)
            except NotFound:
                if generation is None or self.properties(name) is None:
                    raise
                raise self.error_class(f"{self.module}: {self._replaced(name)}") from None
            end = size if generation is not None else None  # a size without a version may be stale
            return ObjectStream(reader, head, lambda error: self.translate(error, name, stream=True), end)

        return self.run(opening, name, action="read")

    def read_small_object(self, name: str, limit: int = 1024 * 1024) -> bytes:
        """The content of a small object (a pointer file), refusing more than ``limit`` bytes."""

        def read() -> bytes:
            blob = self.bucket.get_blob(name, retry=None, timeout=TIMEOUT)
            if blob is None:
                raise self.error_class(f"{self.module}: gs://{self.bucket_name}/{name} does not exist")
            if blob.size is not None and blob.size > limit:
                raise self.error_class(
                    f"{self.module}: gs://{self.bucket_name}/{name} is over {limit} bytes; it is not a pointer file"
                )
            data: bytes = blob.download_as_bytes(retry=None, timeout=TIMEOUT)
            return data

        return self.run(read, name)

    def properties(self, name: str) -> tuple[int, str | None] | None:
        """(size, hex md5) of object ``name``, or ``None`` when it does not exist."""

        def fetch() -> tuple[int, str | None] | None:
            blob = self.bucket.get_blob(name, retry=None, timeout=TIMEOUT)
            if blob is None:
                return None
            return int(blob.size or 0), md5_hex(blob.md5_hash)

        return self.run(fetch, name, action="stat")

    def _replaced(self, name: str) -> str:
        return f"gs://{self.bucket_name}/{name} was replaced since it was listed"

    def _exists(self, name: str) -> bool:
        try:
            return self.properties(name) is not None
        except Exception:  # only for a message: a failing lookup must not hide the error being reported
            return True

    # -- errors ---------------------------------------------------------------------------------------
    def _stream_failure(self, error: BaseException, name: str | None) -> BaseException | None:
        if name and _status_of(error) == 404 and self._exists(name):
            # reads are pinned to the listed generation: gone while the object is there means replaced
            return self.error_class(self._replaced(name))
        return None

    def _translate(self, error: BaseException, name: str | None) -> BaseException:
        place = f"gs://{self.bucket_name}/{name}" if name else f"bucket '{self.bucket_name}'"
        if _is_connection_failure(error):
            return ConnectionError(mask(f"{self.module}: {place}: {type(error).__name__}: {error}"))
        if _is_credentials_failure(error):
            return permanent(
                self.error_class(
                    f"{self.module}: no usable Google Cloud credentials for {place} with {self.describe()} "
                    f"({type(error).__name__})"
                )
            )
        status = _status_of(error)
        if status is None:
            return error
        if is_transient_status(status):
            return TransientError(f"{self.module}: {place}: HTTP {status}", status)
        if status in (401, 403):
            return permanent(
                self.error_class(
                    f"{self.module}: access to {place} refused (HTTP {status}) with {self.describe()}; "
                    "check the credentials and the bucket's permissions"
                )
            )
        if status == 404:
            if name and self._bucket_exists() is not False:
                return self.error_class(f"{self.module}: {place} does not exist")
            return permanent(
                self.error_class(
                    f"{self.module}: bucket '{self.bucket_name}' does not exist (or is not visible) with {self.describe()}"
                )
            )
        if status == 412:
            return self.error_class(f"{self.module}: {place} changed since it was listed")
        return self.error_class(f"{self.module}: {place}: HTTP {status}: {_message_of(error)}")

    def _bucket_exists(self) -> bool | None:
        try:
            return bool(self.bucket.exists(retry=None, timeout=TIMEOUT))
        except Exception:  # we are explaining another error: do not replace it with this one
            return None


def _status_of(error: BaseException) -> int | None:
    code = getattr(error, "code", None)
    if isinstance(code, int):
        return code
    status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def _message_of(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error)
    return str(message)[:300]


def _is_connection_failure(error: BaseException) -> bool:
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error

    return isinstance(
        error,
        (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError, Urllib3Error),
    ) or isinstance(error, (ConnectionError, TimeoutError))


def _is_credentials_failure(error: BaseException) -> bool:
    from google.auth.exceptions import DefaultCredentialsError, RefreshError

    return isinstance(error, (DefaultCredentialsError, RefreshError))


class ObjectStream:
    """A GCS ``BlobReader`` whose failures read as Ozzy errors (transient ones reopen the stream).

    ``head``: the bytes already read to make the first request. ``size``: the object's length when
    known: ``BlobReader`` learns that it has read everything by asking for the range after the end
    (one more request per object, answered 416), and its ``tell`` asks for the object's metadata.
    """

    def __init__(
        self,
        raw: BinaryIO,
        head: bytes,
        translate: Callable[[BaseException], BaseException],
        size: int | None = None,
    ) -> None:
        self._raw = raw
        self._head = head
        self._translate = translate
        self._size = size
        self._at = 0  # bytes read so far: the stream's position

    def read(self, size: int = -1) -> bytes:
        head, self._head = self._head, b""
        if size is not None and 0 <= size <= len(head):
            self._head = head[size:]
            self._at += size
            return head[:size]
        want = -1 if size is None or size < 0 else size - len(head)
        if self._size is not None:  # never more than is left: BlobReader would ask past the end
            left = max(0, self._size - self._at - len(head))
            want = left if want < 0 else min(want, left)
        data = head
        if want:
            try:
                data += self._raw.read(want)
            except Exception as error:
                raise self._translate(error) from None
        self._at += len(data)
        return data

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset, whence = self._at + offset, 0
        self._head = b""
        try:
            self._at = self._raw.seek(offset, whence)
        except Exception as error:
            raise self._translate(error) from None
        return self._at

    def tell(self) -> int:
        return self._at

    def close(self) -> None:
        try:
            self._raw.close()
        except Exception:  # closing a broken stream must not hide the error being handled
            log.debug("closing a GCS object stream failed", exc_info=True)
