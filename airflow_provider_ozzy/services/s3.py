"""S3 access shared by S3Reader, S3Writer and S3Bypass: options, client, retries, error messages.

Credentials come from an Airflow connection (``aws_conn_id``) through the Amazon provider's
``S3Hook``, resolved on first use, never at validation; exporters' explicit keys (and their
``EXPORTERS_S3*`` variables) still work and then boto3 is used directly. ``host`` (or
``endpoint_url``) and ``aws_region`` override the connection's.

Retries follow Ozzy's single policy (``retries.py``): botocore's own retries are turned off, and
each request is retried here on transient errors (5xx, throttling, dropped connections). Permanent
errors become ``ReaderError``/``WriterError`` naming the module, bucket, key and connection, and
never the secret.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, TypeVar, cast

from airflow_provider_ozzy.core.checksums import chunks_md5
from airflow_provider_ozzy.core.errors import OzzyError, permanent
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.redaction import mask
from airflow_provider_ozzy.core.retries import (
    TransientError,
    call_translated,
    call_with_retries,
    is_transient_status,
)
from airflow_provider_ozzy.services.stored_files import StoreAccess, require_connection

T = TypeVar("T")
log = logging.getLogger("airflow_provider_ozzy.s3")

DEFAULT_CONN_ID = "aws_default"
DEFAULT_REGION = "us-east-1"
MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's smallest part (but the last)
MAX_PART_SIZE = 5 * GIB
MAX_PARTS = 10_000
_MD5_HEX = re.compile(r"[0-9a-f]{32}")

_TRANSIENT_CODES = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "OperationAborted",
}
_DENIED_CODES = {
    "AccessDenied",
    "403",
    "Forbidden",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
    "AllAccessDisabled",
    "AccountProblem",
}


def connection_options(role: str, key_env: str, secret_env: str) -> dict[str, dict[str, Any]]:
    """The options every S3 module takes; ``role`` is 'read' or 'write' for help texts."""
    return {
        "bucket": {"type": str, "help": f"Bucket to {role} (``name`` or ``s3://name``)."},
        "aws_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": f"Airflow AWS connection (credentials, region, endpoint). Default: {DEFAULT_CONN_ID} "
            "when no keys are given.",
        },
        "aws_access_key_id": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": key_env,
            "secret": True,
            "help": "Legacy: AWS access key id (prefer aws_conn_id).",
        },
        "aws_secret_access_key": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": secret_env,
            "secret": True,
            "help": "Legacy: AWS secret access key (prefer aws_conn_id).",
        },
        "aws_region": {
            "type": (str, type(None)),
            "default": None,
            "help": f"Region; default: the connection's, else {DEFAULT_REGION}.",
        },
        "host": {
            "type": (str, type(None)),
            "default": None,
            "help": "Custom S3 endpoint (exporters' name), e.g. https://s3.example.com.",
        },
        "endpoint_url": {
            "type": (str, type(None)),
            "default": None,
            "help": "Custom S3 endpoint (same as host).",
        },
    }


def bucket_name(value: str) -> str:
    """``s3://name/`` or ``name`` -> ``name``."""
    return value.removeprefix("s3://").rstrip("/")


def connection_problems(values: dict[str, Any]) -> list[Problem]:
    problems = []
    bucket = bucket_name(values["bucket"])
    if not bucket:
        problems.append(Problem("bucket", "option 'bucket' must name a bucket"))
    elif "/" in bucket:
        problems.append(
            Problem(
                "bucket",
                f"option 'bucket' must be a bucket name or s3://name, got {values['bucket']!r} "
                "(put the path in 'prefix' or 'filebase')",
            )
        )
    if bool(values["aws_access_key_id"]) != bool(values["aws_secret_access_key"]):
        problems.append(
            Problem(
                "aws_access_key_id",
                "give both aws_access_key_id and aws_secret_access_key, or neither (use aws_conn_id)",
            )
        )
    if values["host"] and values["endpoint_url"] and values["host"] != values["endpoint_url"]:
        problems.append(Problem("host", "options 'host' and 'endpoint_url' disagree: give one"))
    return problems


def part_size_problems(values: dict[str, Any], option: str) -> list[Problem]:
    size = values[option]
    if not MIN_PART_SIZE <= size <= MAX_PART_SIZE:
        return [
            Problem(
                option, f"option '{option}' must be between 5 MiB and 5 GiB (S3's part sizes), got {size}"
            )
        ]
    return []


class S3Connection(StoreAccess):
    """A boto3 S3 client built from a module's options, and requests with retries and clear errors.

    :param options: the module's resolved options (see ``connection_options``).
    :param module: the module's name for messages (``S3Reader``).
    :param error_class: what permanent failures raise (``ReaderError`` or ``WriterError``).
    :param pool: concurrent requests the client must allow (threads of copies or part uploads).
    """

    conn_option, default_conn_id = "aws_conn_id", DEFAULT_CONN_ID
    legacy_option, legacy_credentials = "aws_access_key_id", "explicit keys (option aws_access_key_id)"

    def __init__(
        self, options: dict[str, Any], module: str, error_class: type[OzzyError], pool: int = 10
    ) -> None:
        super().__init__(options, module, error_class)
        self.bucket = bucket_name(options["bucket"])
        self.pool = max(10, pool)

    # -- identity ---------------------------------------------------------------------------------
    @property
    def endpoint_option(self) -> str | None:
        endpoint = self.options["endpoint_url"] or self.options["host"]
        if endpoint and "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        return endpoint

    # -- client -------------------------------------------------------------------------------------
    @functools.cached_property
    def client(self) -> Any:
        try:
            return self._new_client()
        except ValueError as error:  # botocore refuses an endpoint URL it cannot parse
            raise self.error_class(
                mask(
                    f"{self.module}: cannot use endpoint {self.endpoint_option} for bucket '{self.bucket}': {error}"
                )
            ) from None

    def _new_client(self) -> Any:
        from botocore.config import Config

        ours = Config(
            retries={"mode": "standard", "total_max_attempts": 1},  # retries.py retries, once for all
            max_pool_connections=self.pool,
            connect_timeout=10,
            read_timeout=60,
            tcp_keepalive=True,
        )
        region = self.options["aws_region"]
        if self.uses_legacy:
            import boto3

            return boto3.session.Session().client(
                "s3",
                aws_access_key_id=self.options["aws_access_key_id"],
                aws_secret_access_key=self.options["aws_secret_access_key"],
                region_name=region or DEFAULT_REGION,
                endpoint_url=self.endpoint_option,
                config=ours,
            )
        hook = self._hook()
        session = hook.get_session(region_name=region or hook.conn_config.region_name)
        return session.client(
            "s3",
            region_name=region or hook.conn_config.region_name or session.region_name or DEFAULT_REGION,
            endpoint_url=self.endpoint_option or hook.conn_config.get_service_endpoint_url("s3"),
            config=hook.config.merge(ours),
            verify=hook.verify,
        )

    def _hook(self) -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        if self.options["aws_conn_id"]:
            # the hook silently falls back to boto3's default credentials for an unknown connection id;
            # a connection named in the config must exist
            require_connection(
                S3Hook,
                self.options["aws_conn_id"],
                "aws_conn_id",
                self.module,
                f"bucket '{self.bucket}'",
                self.error_class,
            )
        return S3Hook(aws_conn_id=self.conn_id, region_name=self.options["aws_region"])

    @property
    def endpoint_url(self) -> str:
        return str(self.client.meta.endpoint_url)

    # -- requests -----------------------------------------------------------------------------------
    def call(self, operation: str, attempts: int | None = None, **params: Any) -> Any:
        """``client.<operation>(**params)`` with retries; errors translated (see ``translate``)."""

        def attempt() -> Any:
            try:
                return getattr(self.client, operation)(**params)
            except Exception as error:
                raise self.translate(error, params.get("Bucket"), params.get("Key")) from None

        what = self.what(operation, params.get("Bucket"), params.get("Key"))
        return call_with_retries(attempt, attempts, what, self.retry_policy)

    def retrying(
        self,
        operation: Callable[[], T],
        bucket: str | None = None,
        key: str | None = None,
        action: str = "PutObject",
    ) -> T:
        """Run ``operation`` (several requests, e.g. a whole upload) with retries and translated errors.

        :param action: the S3 operation it amounts to, for the retry log lines.
        """
        return call_translated(
            operation,
            lambda error: self.translate(error, bucket, key),
            None,
            self.what(action, bucket, key),
            self.retry_policy,
        )

    def what(self, operation: str, bucket: str | None, key: str | None) -> str:
        """``S3 PutObject bucket/key``: an operation and its place, for the retry log lines."""
        name = "".join(part.capitalize() for part in operation.split("_")) if "_" in operation else operation
        place = bucket or self.bucket
        return f"S3 {name[:1].upper()}{name[1:]} {place}/{key}" if key else f"S3 {name} {place}"

    def open_object(self, key: str, etag: str | None = None, bucket: str | None = None) -> BinaryIO:
        """A stream of object ``key`` from its start; ``etag`` makes it fail if the object changed."""
        params: dict[str, Any] = {"Bucket": bucket or self.bucket, "Key": key}
        if etag:
            params["IfMatch"] = etag
        response = self.call("get_object", **params)
        stream = ObjectStream(response["Body"], lambda error: self.translate(error, params["Bucket"], key))
        return cast(BinaryIO, stream)

    def read_small_object(self, key: str, limit: int = MIB) -> bytes:
        """The content of a small object (a pointer file), refusing more than ``limit`` bytes."""

        def read() -> bytes:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                data: bytes = body.read(limit + 1)
            finally:
                body.close()
            if len(data) > limit:
                raise self.error_class(
                    f"{self.module}: s3://{self.bucket}/{key} is over {limit} bytes; it is not a pointer file"
                )
            return data

        return self.retrying(read, self.bucket, key, "GetObject")

    def list_prefix(self, prefix: str) -> Iterator[tuple[str, int | None, Any]]:
        """(key, size, ETag) of every object under ``prefix``, in key order, a page at a time."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                params["ContinuationToken"] = token
            page = self.call("list_objects_v2", **params)
            for entry in page.get("Contents", []):
                yield entry["Key"], int(entry["Size"]), entry.get("ETag")
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def properties(self, key: str) -> tuple[int, str | None] | None:
        """(size, hex MD5) of object ``key``, or ``None`` when it does not exist.

        The MD5 is the ETag of a single PUT; a multipart ETag is not an MD5, so then it is the ``md5``
        metadata S3Writer stores, else computed by reading the object.
        """

        def head() -> Any:
            from botocore.exceptions import ClientError

            try:
                return self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                if str(error.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise

        found = self.retrying(head, self.bucket, key, "HeadObject")
        if found is None:
            return None
        md5 = etag_md5(found.get("ETag")) or (found.get("Metadata") or {}).get("md5")
        if md5 is None:
            stream = self.open_object(key, etag=found.get("ETag"))
            try:
                md5 = chunks_md5(iter(lambda: stream.read(MIB), b""))
            finally:
                stream.close()
        return int(found["ContentLength"]), md5

    # -- errors -------------------------------------------------------------------------------------
    def translate(
        self, error: BaseException, bucket: str | None = None, key: str | None = None
    ) -> BaseException:
        """A transient error as one ``retries.is_transient`` knows, or a permanent Ozzy error."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            HTTPClientError,
            IncompleteReadError,
            NoCredentialsError,
            PartialCredentialsError,
        )
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from urllib3.exceptions import HTTPError as Urllib3Error

        if isinstance(error, OzzyError):
            return error
        bucket = bucket or self.bucket
        place = f"s3://{bucket}/{key}" if key else f"bucket '{bucket}'"
        if isinstance(error, (BotoConnectionError, HTTPClientError, IncompleteReadError, Urllib3Error)):
            return ConnectionError(mask(f"{self.module}: {place}: {type(error).__name__}: {error}"))
        if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
            return permanent(
                self.error_class(
                    f"{self.module}: no usable AWS credentials for {place} with {self.describe()}"
                )
            )
        if isinstance(error, ClientError):
            return self._client_error(error, bucket, key, place)
        if isinstance(error, BotoCoreError):
            return self.error_class(f"{self.module}: {place}: {type(error).__name__}: {error}")
        return error

    def _client_error(self, error: Any, bucket: str, key: str | None, place: str) -> BaseException:
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        operation = getattr(error, "operation_name", "request")
        if code in _TRANSIENT_CODES or is_transient_status(status):
            return TransientError(f"{self.module}: {operation} {place}: {code or status}", status or 503)
        if code in ("NoSuchBucket",) or (code in ("404", "NotFound") and not key):
            return permanent(
                self.error_class(
                    f"{self.module}: bucket '{bucket}' does not exist (or is not visible) with {self.describe()}"
                )
            )
        if code in _DENIED_CODES or status == 403:
            refused = self.error_class(
                f"{self.module}: access to {place} refused ({code or status}) with {self.describe()}; "
                "check the credentials and the bucket policy"
            )
            refused.refused = True  # type: ignore[attr-defined]
            return permanent(refused)
        if code in ("NoSuchKey", "404", "NotFound"):
            return self.error_class(f"{self.module}: {place} does not exist")
        if code == "PreconditionFailed" or status == 412:
            return self.error_class(f"{self.module}: {place} changed since it was listed")
        message = details.get("Message") or ""
        return self.error_class(f"{self.module}: {operation} {place} failed: {code} {message}".rstrip())


class ObjectStream:
    """A botocore streaming body whose failures read as ``ConnectionError`` (reopened by the reader)."""

    def __init__(self, body: Any, translate: Callable[[BaseException], BaseException]) -> None:
        self._body = body
        self._translate = translate

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._body.read(None if size is None or size < 0 else size)
        except Exception as error:
            raise self._translate(error) from None
        return data

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        try:
            self._body.close()
        except Exception:  # closing a broken connection must not hide the error being handled
            log.debug("closing an S3 object stream failed", exc_info=True)


def etag_md5(etag: str | None) -> str | None:
    """The hex MD5 an ETag is (a single PUT's), or ``None`` (a multipart ETag ``<md5>-<parts>``)."""
    value = (etag or "").strip('"')
    return value if _MD5_HEX.fullmatch(value) else None


def is_refused(error: BaseException) -> bool:
    """Whether ``translate`` made ``error`` from refused credentials or permissions."""
    return bool(getattr(error, "refused", False))
