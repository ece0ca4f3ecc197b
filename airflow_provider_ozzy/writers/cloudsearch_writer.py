"""``CloudsearchWriter``: items as documents of an Amazon CloudSearch domain, in batches of at most 5 MB.

Every item of a finished file becomes ``{"type": "add", "id": <item[id_field]>, "fields": <item>}``
and the documents go to the domain's document endpoint (``POST /2013-01-01/documents/batch``)
through boto3's ``cloudsearchdomain`` client, which signs every request with SigV4 using the
credentials of an Airflow AWS connection (``aws_conn_id``) or of exporters' key options; exporters
read those keys but never signed, so only domains open to anonymous uploads accepted it.

Delivery is at-least-once: batches sent after the last commit are sent again by a resume. An
``add`` replaces the document with the same id, so a resent batch leaves the domain unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.retries import retrying
from airflow_provider_ozzy.services.aws import as_retryable, aws_client, error_text, uses_connection
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.write_buffers.buffer_file_lines import buffer_file_lines
from airflow_provider_ozzy.writers.base_writer import BaseWriter, require_json_lines

MAX_BATCH_SIZE = 5_000_000  # CloudSearch accepts batches up to 5 MB
MAX_DOCUMENT_SIZE = 1_048_576  # and documents up to 1 MB
ATTEMPTS = 8
_REGION_IN_HOST = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d+)\.cloudsearch\.amazonaws\.com(?:\.cn)?$")


class CloudsearchWriter(BaseWriter):
    """Uploads items as CloudSearch documents, in signed batches of at most ``max_batch_size`` bytes."""

    supported_options = {
        "endpoint_url": {
            "type": str,
            "help": "The domain's document endpoint "
            "(https://doc-movies-123456789012.us-east-1.cloudsearch.amazonaws.com).",
        },
        "id_field": {"type": str, "default": "_key", "help": "Item field holding the document id."},
        "aws_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": "Airflow AWS connection whose credentials sign the uploads. Used when set, and "
            "when no keys are given (then aws_default).",
        },
        "access_key": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": "EXPORTERS_CLOUDSEARCH_ACCESS_KEY",
            "secret": True,
            "help": "Legacy: AWS access key id (prefer aws_conn_id).",
        },
        "secret_key": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": "EXPORTERS_CLOUDSEARCH_SECRET_KEY",
            "secret": True,
            "help": "Legacy: AWS secret access key (prefer aws_conn_id).",
        },
        "region_name": {
            "type": (str, type(None)),
            "default": None,
            "help": "Signing region; default: the one in the endpoint's host name, else the connection's.",
        },
        "compression": {
            "type": str,
            "default": "none",
            "help": "Compression of the local buffer files only (documents are sent as JSON); "
            "gz, bz2, zip, zstd or none.",
        },
        "max_batch_size": {
            "type": int,
            "minimum": 1,
            "maximum": MAX_BATCH_SIZE,
            "default": MAX_BATCH_SIZE,
            "help": f"Bytes per document batch (at most {MAX_BATCH_SIZE}).",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._client: Any = None
        self.batches_sent = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        parts = urlsplit(values["endpoint_url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(
                Problem("endpoint_url", f"endpoint_url {values['endpoint_url']!r} is not an http(s) URL")
            )
        if bool(values["access_key"]) != bool(values["secret_key"]):
            problems.append(
                Problem("access_key", "give both access_key and secret_key, or neither (use aws_conn_id)")
            )
        if not 0 < values["max_batch_size"] <= MAX_BATCH_SIZE:
            problems.append(
                Problem("max_batch_size", f"option 'max_batch_size' must be between 1 and {MAX_BATCH_SIZE}")
            )
        return problems

    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        require_json_lines("CloudsearchWriter", "documents", formatter)
        super().open(formatter, state)

    @property
    def endpoint(self) -> str:
        return self.options["endpoint_url"].rstrip("/")

    def signing_region(self) -> str | None:
        found = _REGION_IN_HOST.search(urlsplit(self.endpoint).hostname or "")
        return self.options["region_name"] or (found.group(1) if found else None)

    # -- delivery -----------------------------------------------------------------------------------
    def write_file(self, finished: FinishedFile, number: int) -> str:
        name = f"{'/'.join(map(str, finished.group)) or 'items'} file {number}"
        count = 0
        for batch, documents in self.document_batches(finished, name):
            self._upload(batch, documents)
            count += documents
        self.log.info("CloudsearchWriter: %d document(s) of %s sent to %s", count, name, self.endpoint)
        return name

    def document_batches(self, finished: FinishedFile, name: str) -> Iterator[tuple[bytes, int]]:
        """``(JSON array, document count)`` batches of at most ``max_batch_size`` bytes."""
        limit = self.options["max_batch_size"]
        entries: list[bytes] = []
        size = 2  # the brackets
        for line_number, line in enumerate(buffer_file_lines(finished.path, self.options["compression"]), 1):
            entry = self._entry(line, f"{name}, item {line_number}")
            if len(entry) + 2 > limit:
                raise WriterError(
                    f"CloudsearchWriter: {name}, item {line_number} makes a {len(entry)}-byte document, "
                    f"larger than a batch may be (max_batch_size {limit})"
                )
            if entries and size + 1 + len(entry) > limit:
                yield b"[" + b",".join(entries) + b"]", len(entries)
                entries, size = [], 2
            size += len(entry) + (1 if entries else 0)
            entries.append(entry)
        if entries:
            yield b"[" + b",".join(entries) + b"]", len(entries)

    def _entry(self, line: bytes, where: str) -> bytes:
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            item = json.loads(line)  # integers beyond 64 bits
        id_field = self.options["id_field"]
        if not isinstance(item, dict) or item.get(id_field) is None:
            raise WriterError(
                f"CloudsearchWriter: {where} has no {id_field!r} field to use as document id (option id_field)"
            )
        document_id = item[id_field] if isinstance(item[id_field], str) else json.dumps(item[id_field])
        entry = b'{"type":"add","id":' + orjson.dumps(document_id) + b',"fields":' + line + b"}"
        if len(entry) > MAX_DOCUMENT_SIZE:
            raise WriterError(
                f"CloudsearchWriter: {where} (id {document_id!r}) is {len(entry)} bytes as a document; "
                f"CloudSearch accepts documents up to {MAX_DOCUMENT_SIZE} bytes"
            )
        return entry

    def _upload(self, batch: bytes, documents: int) -> None:
        def post() -> dict[str, Any]:
            try:
                answer: dict[str, Any] = self.client().upload_documents(
                    documents=batch, contentType="application/json"
                )
                return answer
            except Exception as error:
                raise as_retryable(error) from None

        try:
            answer = retrying(ATTEMPTS)(post)
        except Exception as error:
            raise WriterError(self._failure_text(error)) from None
        if answer.get("status") != "success" or answer.get("adds") != documents:
            raise WriterError(
                f"CloudsearchWriter: {self.endpoint} accepted {answer.get('adds')} of {documents} "
                f"documents (status {answer.get('status')!r}, warnings {answer.get('warnings')})"
            )
        self.batches_sent += 1
        self.log.debug("CloudsearchWriter: batch of %d bytes, %d document(s) sent", len(batch), documents)

    def client(self) -> Any:
        if self._client is None:
            from botocore.config import Config

            self._client = aws_client(
                "cloudsearchdomain",
                aws_conn_id=self.options["aws_conn_id"],
                access_key=self.options["access_key"],
                secret_key=self.options["secret_key"],
                region_name=self.signing_region(),
                endpoint_url=self.endpoint,
                config=Config(retries={"total_max_attempts": 1}),  # retries.py is the one policy
            )
        return self._client

    def _failure_text(self, error: Exception) -> str:
        from botocore.exceptions import ClientError, NoCredentialsError

        where = f"CloudsearchWriter: cannot upload documents to {self.endpoint}"
        if isinstance(error, NoCredentialsError):
            return f"{where}: no AWS credentials to sign with ({self._credentials_text()})"
        if isinstance(error, ClientError):
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            hint = f"; check the credentials ({self._credentials_text()})" if status in (401, 403) else ""
            return f"{where}: HTTP {status} {code}: {message}{hint}"
        return f"{where}: {error_text(error)}"

    def _credentials_text(self) -> str:
        if uses_connection(
            self.options["aws_conn_id"], self.options["access_key"], self.options["secret_key"]
        ):
            return f"connection {self.options['aws_conn_id'] or 'aws_default'!r}"
        return "access_key/secret_key options"
