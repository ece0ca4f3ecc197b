"""Azure Blob and Azure Files access shared by the Azure readers, writers and bypasses.

Credentials come from an Airflow connection through the Azure provider's hooks: ``WasbHook``
(``wasb_conn_id``) gives a ``BlobServiceClient``, ``AzureFileShareHook`` (``azure_fileshare_conn_id``)
a ``ShareServiceClient``; both are resolved on first use, never at validation. The hook for Azure
Files is bound to one path, so Ozzy takes its service client once and derives every share,
directory and file client from it. exporters' ``account_name``/``account_key`` options (and their
``EXPORTERS_AZUREWRITER_*`` variables) still work and then the SDK client is built directly
(``account_url`` overrides the public endpoint, e.g. for a sovereign cloud or an emulator).

Retries follow Ozzy's single policy (``retries.py``): every SDK call is made with
``retry_total=0`` (the SDK's documented per-operation switch) and retried here on transient errors
(5xx, 408, 429, refused or dropped connections). Permanent errors become ``ReaderError``/``WriterError``
naming the module, the container or share, the object and the connection, never a secret.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, NamedTuple

from airflow_provider_ozzy.core.checksums import chunks_md5
from airflow_provider_ozzy.core.errors import OzzyError, permanent
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.redaction import mask
from airflow_provider_ozzy.core.retries import TransientError, is_transient_status
from airflow_provider_ozzy.services.stored_files import StoreConnection, require_connection

log = logging.getLogger("airflow_provider_ozzy.azure")

NAME_ENV = "EXPORTERS_AZUREWRITER_NAME"
KEY_ENV = "EXPORTERS_AZUREWRITER_KEY"
# the SDK's own retries are off: Ozzy's policy retries each operation once for all
NO_SDK_RETRIES: dict[str, Any] = {"retry_total": 0}
_CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def azure_options(service: str, legacy_env: bool) -> dict[str, dict[str, Any]]:
    """Credential options of a module using ``service`` ('blob' or 'file').

    :param legacy_env: whether exporters' ``EXPORTERS_AZUREWRITER_*`` variables fill the account
        options (the old writers read them).
    """
    conn_option, default = SERVICES[service].conn_option, SERVICES[service].default_conn_id
    options: dict[str, dict[str, Any]] = {
        conn_option: {
            "type": (str, type(None)),
            "default": None,
            "help": f"Airflow connection of the storage account. Default: {default} when no account key is given.",
        },
        "account_name": {"type": (str, type(None)), "default": None, "help": "Legacy: storage account name."},
        "account_key": {
            "type": (str, type(None)),
            "default": None,
            "secret": True,
            "help": f"Legacy: storage account key (prefer {conn_option}).",
        },
        "account_url": {
            "type": (str, type(None)),
            "default": None,
            "help": f"With account_name/account_key: the {service} service URL "
            f"(default https://<account_name>.{service}.core.windows.net).",
        },
    }
    if legacy_env:
        options["account_name"]["env_fallback"] = NAME_ENV
        options["account_key"]["env_fallback"] = KEY_ENV
    return options


class AzureService(NamedTuple):
    """What tells Azure's storage services apart for Ozzy."""

    label: str  # for the retry log lines
    conn_option: str  # the option naming the Airflow connection
    default_conn_id: str
    place_option: str  # the option naming the container or share, also its name in messages
    key_client: str  # the SDK's service client, for legacy account keys
    hook: str  # the provider's hook, for a connection


SERVICES = {
    "blob": AzureService(
        "Azure Blob",
        "wasb_conn_id",
        "wasb_default",
        "container",
        "azure.storage.blob.BlobServiceClient",
        "airflow.providers.microsoft.azure.hooks.wasb.WasbHook",
    ),
    "file": AzureService(
        "Azure Files",
        "azure_fileshare_conn_id",
        "azure_fileshare_default",
        "share",
        "azure.storage.fileshare.ShareServiceClient",
        "airflow.providers.microsoft.azure.hooks.fileshare.AzureFileShareHook",
    ),
}


def azure_problems(values: dict[str, Any], place_option: str) -> list[Problem]:
    """Checks of the account options and of the container or share name in ``place_option``."""
    problems = []
    name = values[place_option]
    if not (_CONTAINER_NAME.match(name) or name in ("$root", "$web")):
        problems.append(
            Problem(
                place_option,
                f"option '{place_option}' must be 3-63 lowercase letters, digits and single hyphens, "
                f"starting and ending with a letter or digit, got {name!r}",
            )
        )
    if bool(values["account_name"]) != bool(values["account_key"]):
        problems.append(
            Problem("account_name", "give both account_name and account_key, or neither (use a connection)")
        )
    return problems


class AzureConnection(StoreConnection):
    """What Blob and Files access share: identity, error messages.

    :param options: the module's resolved options (see ``azure_options``).
    :param module: the module's name for messages (``AzureBlobWriter``).
    :param error_class: what permanent failures raise (``ReaderError`` or ``WriterError``).
    """

    service: ClassVar[str]  # a key of ``SERVICES``, and the service's part of its URL
    legacy_option = "account_key"
    legacy_credentials = "account '{account_name}' (option account_key)"

    def __init__(self, options: dict[str, Any], module: str, error_class: type[OzzyError]) -> None:
        # the SDK logs every request and response at INFO; WasbHook quiets it the same way
        logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
        super().__init__(options, module, error_class)
        self.spec = SERVICES[self.service]
        self.label = self.spec.label
        self.conn_option, self.default_conn_id = self.spec.conn_option, self.spec.default_conn_id
        self.place_name: str = options[self.spec.place_option]  # the container or share
        self.place = f"{self.spec.place_option} '{self.place_name}'"

    def account_url(self) -> str:
        return (
            self.options["account_url"]
            or f"https://{self.options['account_name']}.{self.service}.core.windows.net"
        )

    def legacy_credential(self) -> dict[str, str]:
        return {"account_name": self.options["account_name"], "account_key": self.options["account_key"]}

    @functools.cached_property
    def service_client(self) -> Any:
        """The service's SDK client: built from the legacy account keys, or taken from the
        provider's hook for the connection (which must exist)."""
        if self.uses_legacy:
            client_class = _imported(self.spec.key_client)
            return client_class(account_url=self.account_url(), credential=self.legacy_credential())
        hook_class = _imported(self.spec.hook)
        require_connection(
            hook_class, self.conn_id, self.conn_option, self.module, self.place, self.error_class
        )
        try:
            return self._client_of_hook(hook_class)
        except Exception as error:
            raise self.translate(error) from None

    def _client_of_hook(self, hook_class: Any) -> Any:
        """The service client of a ``hook_class`` for the connection."""
        raise NotImplementedError

    # -- errors ---------------------------------------------------------------------------------------
    def where_short(self, name: str | None) -> str:
        """``container/name`` for the retry log lines."""
        return f"{self.place_name}/{name}" if name else self.place_name

    def where(self, name: str | None) -> str:
        return f"{self.place}, {name}" if name else self.place

    def _translate(self, error: BaseException, name: str | None) -> BaseException:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            DecodeError,
            HttpResponseError,
            IncompleteReadError,
            ResourceModifiedError,
            ServiceRequestError,
            ServiceResponseError,
        )

        where = self.where(name)
        if isinstance(error, (ServiceRequestError, ServiceResponseError, IncompleteReadError, DecodeError)):
            return ConnectionError(
                mask(f"{self.module}: {where}: {type(error).__name__}: {_first_line(error)}")
            )
        if not isinstance(error, HttpResponseError):
            if isinstance(error, (ValueError, TypeError)) and "credential" in str(error).lower():
                return permanent(
                    self.error_class(
                        f"{self.module}: unusable credentials for {where} with {self.describe()}"
                    )
                )
            return error
        status = error.status_code or 0
        raw_code = getattr(error, "error_code", None) or ""
        code = str(getattr(raw_code, "value", raw_code))  # the SDK gives enum members or plain text
        if is_transient_status(status):
            return TransientError(f"{self.module}: {where}: {code or status}: {_first_line(error)}", status)
        if isinstance(error, ClientAuthenticationError) or status in (401, 403):
            return permanent(
                self.error_class(
                    f"{self.module}: access to {where} refused ({code or status}) with {self.describe()}; "
                    "check the account key or token and its permissions"
                )
            )
        if code in ("ContainerNotFound", "ShareNotFound"):
            return permanent(
                self.error_class(f"{self.module}: {self.place} does not exist with {self.describe()}")
            )
        if code == "ParentNotFound":
            return self.error_class(f"{self.module}: {where}: its directory does not exist")
        if status == 404:
            return self.error_class(f"{self.module}: {where} does not exist")
        if isinstance(error, ResourceModifiedError) or status == 412:
            return self.error_class(f"{self.module}: {where} changed since it was listed")
        return self.error_class(f"{self.module}: {where}: {code or status}: {_first_line(error)}")


def _imported(path: str) -> Any:
    """The class at ``package.module.Class``, imported when first used (Airflow and the SDK are heavy)."""
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error)
    return text.strip().splitlines()[0][:300] if text.strip() else type(error).__name__


class BlobConnection(AzureConnection):
    """A container of a blob service, reached through ``WasbHook`` or legacy account keys."""

    service = "blob"

    def _client_of_hook(self, hook_class: Any) -> Any:
        return hook_class(wasb_conn_id=self.conn_id).get_conn()

    @property
    def container_client(self) -> Any:
        return self.service_client.get_container_client(self.place_name)

    def blob_client(self, name: str) -> Any:
        return self.service_client.get_blob_client(self.place_name, name)

    def list_prefix(self, prefix: str) -> list[tuple[str, int | None, Any]]:
        """(name, size, etag) of every blob under ``prefix``, in name order."""

        def listing() -> list[tuple[str, int | None, Any]]:
            blobs = self.container_client.list_blobs(name_starts_with=prefix or None, **NO_SDK_RETRIES)
            return [(blob.name, blob.size, blob.etag) for blob in blobs]

        return self.run(listing)

    def open_blob(self, name: str, etag: str | None = None) -> ChunkStream:
        """A stream of blob ``name`` through ``download_blob().chunks()`` (4 MiB requests after the
        first); ``etag`` makes it fail if the blob was replaced since it was listed."""

        def opening() -> ChunkStream:
            kwargs: dict[str, Any] = dict(NO_SDK_RETRIES, max_concurrency=1)
            if etag:
                from azure.core import MatchConditions

                kwargs.update(etag=etag, match_condition=MatchConditions.IfNotModified)
            downloader = self.blob_client(name).download_blob(**kwargs)
            return ChunkStream(downloader.chunks(), lambda error: self.translate(error, name, stream=True))

        return self.run(opening, name)

    def read_small_blob(self, name: str, limit: int = 1024 * 1024) -> bytes:
        """The content of a small blob (a pointer file), refusing more than ``limit`` bytes."""

        def read() -> bytes:
            downloader = self.blob_client(name).download_blob(**NO_SDK_RETRIES)
            if downloader.size > limit:
                raise self.error_class(
                    f"{self.module}: {self.where(name)} is over {limit} bytes; it is not a pointer file"
                )
            data: bytes = downloader.readall()
            return data

        return self.run(read, name)

    def properties(self, name: str) -> tuple[int, str | None] | None:
        """(size, hex MD5) of blob ``name`` (MD5 computed by reading it when the blob has none), or
        ``None`` when it does not exist."""
        from azure.core.exceptions import ResourceNotFoundError

        def fetch() -> tuple[int, str | None] | None:
            try:
                found = self.blob_client(name).get_blob_properties(**NO_SDK_RETRIES)
            except ResourceNotFoundError as error:
                if getattr(error, "error_code", "") == "ContainerNotFound":
                    raise
                return None
            stored = found.content_settings.content_md5
            if stored:
                return int(found.size), bytes(stored).hex()
            downloader = self.blob_client(name).download_blob(max_concurrency=1, **NO_SDK_RETRIES)
            return int(found.size), chunks_md5(downloader.chunks())

        return self.run(fetch, name)


class FileShareConnection(AzureConnection):
    """A file share, reached through ``AzureFileShareHook`` or legacy account keys."""

    service = "file"

    def _client_of_hook(self, hook_class: Any) -> Any:
        # the hook is bound to one path: take its service client once and derive the rest from it
        return hook_class(
            share_name=self.place_name, azure_fileshare_conn_id=self.conn_id
        ).share_service_client

    @property
    def share_client(self) -> Any:
        return self.service_client.get_share_client(self.place_name)

    def file_client(self, path: str) -> Any:
        # paths are relative to the share: exporters' filebase '/test/' is the folder test at its root
        # (the SDK keeps a leading '/' in a file's URL but strips it from a rename's target)
        return self.share_client.get_file_client(path.lstrip("/"))

    def properties(self, path: str) -> tuple[int, str] | None:
        """(size, hex MD5 of the content read back) of file ``path``, or ``None`` when it does not exist.

        Azure Files computes no MD5 (the stored one is whatever the uploader claimed), so the
        content is read and hashed.
        """
        from azure.core.exceptions import ResourceNotFoundError

        def fetch() -> tuple[int, str] | None:
            client = self.file_client(path)
            try:
                size = int(client.get_file_properties(**NO_SDK_RETRIES).size)
            except ResourceNotFoundError as error:
                if getattr(error, "error_code", "") == "ShareNotFound":
                    raise
                return None
            return size, chunks_md5(client.download_file(max_concurrency=1, **NO_SDK_RETRIES).chunks())

        return self.run(fetch, path)


class ChunkStream:
    """A binary stream over an iterator of byte chunks (``download_blob().chunks()``).

    Failures read as Ozzy errors; transient ones make the stream reader reopen the object.
    """

    def __init__(self, chunks: Iterator[bytes], translate: Callable[[BaseException], BaseException]) -> None:
        self._chunks = chunks
        self._translate = translate
        self._chunk = b""
        self._offset = 0  # bytes of ``_chunk`` already read
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        parts = []
        while size > 0:
            if self._offset >= len(self._chunk):
                if self._done or not self._fill():
                    break
            part = self._chunk[self._offset : self._offset + size]
            self._offset += len(part)
            size -= len(part)
            parts.append(part)
        return b"".join(parts)

    def _fill(self) -> bool:
        try:
            self._chunk = next(self._chunks)
        except StopIteration:
            self._done = True
            return False
        except Exception as error:
            raise self._translate(error) from None
        self._offset = 0
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._chunks = iter(())
        self._done = True
