"""S3 objects named by ``filebase``. A PUT (or a completed multipart upload) makes an object appear
whole under its final key, so a killed export never leaves a partial object behind.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.services.s3 import (
    GIB,
    MAX_PARTS,
    MIB,
    S3Connection,
    connection_options,
    connection_problems,
    is_refused,
    part_size_problems,
)
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.filebase_base_writer import FilebaseBaseWriter

# the S3 call of one part of a multipart upload: ``part(operation, number, **params)``
PartCall = Callable[..., Any]


class S3Writer(FilebaseBaseWriter):
    """Writes files to ``bucket`` under the keys ``filebase`` gives (``out/items_0000.jl.gz``).

    Files above ``multipart_threshold`` go up in parts, ``upload_threads`` at a time, each part
    checked against its MD5. With ``save_metadata`` every object carries ``total`` (its items) and
    ``md5``. ``check_consistency`` compares each object's size, ETag (MD5, or the multipart ETag
    computed from the parts) and metadata with what was sent. ``save_pointer`` names a key that,
    once the whole export succeeded, holds the export's folder (for ``S3Reader.prefix_pointer``).
    The ``copy_*`` options tune ``S3Bypass``.
    """

    requires = ("boto3",)
    supported_options = {
        **connection_options("write", "EXPORTERS_S3WRITER_AWS_LOGIN", "EXPORTERS_S3WRITER_AWS_SECRET"),
        "save_pointer": {
            "type": (str, type(None)),
            "default": None,
            "help": "Key written after a successful export, holding the export's folder ('<dir>/').",
        },
        "save_metadata": {
            "type": bool,
            "default": True,
            "help": "Store 'total' (items) and 'md5' as object metadata.",
        },
        "acl": {
            "type": (str, type(None)),
            "default": None,
            "help": "Canned ACL of every object, e.g. bucket-owner-full-control for cross-account delivery.",
        },
        "multipart_threshold": {
            "type": int,
            "minimum": 5 * MIB,
            "maximum": 5 * 1024 * GIB,
            "default": 64 * MIB,
            "help": "Files above this many bytes are uploaded in parts.",
        },
        "multipart_chunksize": {
            "type": int,
            "minimum": 5 * MIB,
            "maximum": 5 * GIB,
            "default": 16 * MIB,
            "help": "Bytes per uploaded part.",
        },
        "upload_threads": {
            "type": int,
            "minimum": 1,
            "maximum": 64,
            "default": 4,
            "help": "Parts uploaded at once (memory: threads x part).",
        },
        "copy_threads": {
            "type": int,
            "minimum": 1,
            "maximum": 256,
            "default": 16,
            "help": "S3Bypass: objects copied at once.",
        },
        "multipart_copy_threshold": {
            "type": int,
            "minimum": 5 * MIB,
            "maximum": 5 * GIB,
            "default": 5 * GIB,
            "help": "S3Bypass: objects above this many bytes are copied in parts (S3 copies at most 5 GiB at once).",
        },
        "multipart_copy_chunksize": {
            "type": int,
            "minimum": 5 * MIB,
            "maximum": 5 * GIB,
            "default": 512 * MIB,
            "help": "S3Bypass: bytes per copied part.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        pool = max(self.options["upload_threads"], self.options["copy_threads"])
        self.s3 = S3Connection(self.options, "S3Writer", WriterError, pool=pool)
        self._expected_etags: dict[str, str] = {}

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = [*super().check_values(values), *connection_problems(values)]
        problems += part_size_problems(values, "multipart_chunksize")
        problems += part_size_problems(values, "multipart_copy_chunksize")
        for option in ("upload_threads", "copy_threads"):
            if values[option] < 1:
                problems.append(Problem(option, f"option '{option}' must be at least 1"))
        for option in ("multipart_threshold", "multipart_copy_threshold"):
            if values[option] < 1:
                problems.append(Problem(option, f"option '{option}' must be positive"))
        if values["save_pointer"] is not None and not values["save_pointer"].strip("/"):
            problems.append(Problem("save_pointer", "option 'save_pointer' must name a key"))
        return problems

    @property
    def bucket(self) -> str:
        return self.s3.bucket

    @staticmethod
    def key_for(destination: str) -> str:
        return destination.lstrip("/")

    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        super().open(formatter, state)
        self.check_bucket()

    def check_bucket(self) -> None:
        """Fail fast on a missing bucket or refused credentials (a write-only grant may forbid HEAD)."""
        try:
            self.s3.call("head_bucket", Bucket=self.bucket)
        except WriterError as error:
            if not is_refused(error):
                raise
            self.log.warning("S3Writer: cannot check bucket %s (%s); writing anyway", self.bucket, error)

    # -- delivery -------------------------------------------------------------------------------------
    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        key = self.key_for(destination)
        size = os.path.getsize(local_path)
        extra = self.object_arguments(finished.records, finished.md5)
        if size > self.options["multipart_threshold"]:
            etag = self._upload_in_parts(local_path, key, size, extra)
        else:
            etag = self._put(local_path, key, finished.md5, extra)
        self._expected_etags[key] = etag
        self.log.info(
            "S3Writer: wrote s3://%s/%s (%d bytes, %d items)", self.bucket, key, size, finished.records
        )

    def object_arguments(self, records: int | None, md5: str | None) -> dict[str, Any]:
        """Metadata and ACL arguments of a new object."""
        extra: dict[str, Any] = {}
        if self.options["save_metadata"] and records is not None:
            extra["Metadata"] = {"total": str(records), **({"md5": md5} if md5 else {})}
        if self.options["acl"]:
            extra["ACL"] = self.options["acl"]
        return extra

    def _put(self, local_path: str, key: str, md5: str, extra: dict[str, Any]) -> str:
        def put() -> Any:
            with open(local_path, "rb") as body:
                params = {"Bucket": self.bucket, "Key": key, "Body": body, **extra}
                if md5:
                    params["ContentMD5"] = base64.b64encode(bytes.fromhex(md5)).decode()
                return self.s3.client.put_object(**params)

        response = self.s3.retrying(put, self.bucket, key)
        etag = str(response.get("ETag", "")).strip('"')
        if md5 and etag and etag != md5:
            raise WriterError(f"S3Writer: s3://{self.bucket}/{key} stored with ETag {etag}, sent md5 {md5}")
        return md5 or etag

    def _upload_in_parts(self, local_path: str, key: str, size: int, extra: dict[str, Any]) -> str:
        part_size = max(self.options["multipart_chunksize"], -(-size // MAX_PARTS))
        ranges = [(number + 1, offset) for number, offset in enumerate(range(0, size, part_size))]

        def send_parts(part: PartCall) -> list[bytes]:
            with ThreadPoolExecutor(
                self.options["upload_threads"], thread_name_prefix="ozzy-s3-part"
            ) as pool:
                futures = [
                    pool.submit(self._upload_part, local_path, key, part, number, offset, part_size)
                    for number, offset in ranges
                ]
                return _results(futures)

        response, digests = self.multipart_upload(key, extra, send_parts)
        expected = multipart_etag(digests)
        etag = str(response.get("ETag", "")).strip('"')
        if etag and etag != expected:
            raise WriterError(
                f"S3Writer: s3://{self.bucket}/{key} completed with ETag {etag}, expected {expected}"
            )
        self.log.info("S3Writer: s3://%s/%s uploaded in %d parts", self.bucket, key, len(ranges))
        return expected

    def _upload_part(
        self, local_path: str, key: str, part: PartCall, number: int, offset: int, length: int
    ) -> bytes:
        with open(local_path, "rb") as source:
            source.seek(offset)
            data = source.read(length)
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        response = part("upload_part", number, Body=data, ContentMD5=base64.b64encode(digest).decode())
        etag = str(response.get("ETag", "")).strip('"')
        if etag and etag != digest.hex():
            raise WriterError(f"S3Writer: part {number} of s3://{self.bucket}/{key} stored with ETag {etag}")
        return digest

    def multipart_upload(
        self, key: str, extra: dict[str, Any], send_parts: Callable[[PartCall], list[bytes]]
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Creates a multipart upload of ``key``, has ``send_parts(part)`` send parts 1, 2, ... (it
        returns their MD5 digests in order) and completes the upload: the answer and the digests.
        ``part(operation, number, **params)`` is the S3 call of part ``number`` of this upload
        (``upload_part``, ``upload_part_copy``). Whatever fails, the upload is aborted, so S3 keeps
        (and bills) no orphaned parts."""
        upload_id = self.s3.call("create_multipart_upload", Bucket=self.bucket, Key=key, **extra)["UploadId"]

        def part(operation: str, number: int, **params: Any) -> Any:
            return self.s3.call(
                operation, Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, **params
            )

        try:
            digests = send_parts(part)
            parts = [
                {"PartNumber": number, "ETag": f'"{digest.hex()}"'}
                for number, digest in enumerate(digests, start=1)
            ]
            response = self.s3.call(
                "complete_multipart_upload",
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self.abort_upload(key, upload_id)
            raise
        return response, digests

    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            self.s3.call(
                "abort_multipart_upload", attempts=2, Bucket=self.bucket, Key=key, UploadId=upload_id
            )
        except Exception:  # the upload failed already; S3 lifecycle rules clean leftover parts
            self.log.warning("S3Writer: could not abort the multipart upload of %s", key, exc_info=True)

    # -- end of export ----------------------------------------------------------------------------------
    def finish_writing(self) -> None:
        super().finish_writing()
        self.save_pointer_file()

    def save_pointer_file(self) -> None:
        """Write ``save_pointer`` (only called once the export succeeded)."""
        pointer = self.options["save_pointer"]
        if not pointer:
            return
        folder = self.static_directory().lstrip("/")
        content = f"{folder}/" if folder else ""
        self.s3.call(
            "put_object", Bucket=self.bucket, Key=self.key_for(pointer), Body=content.encode("utf-8")
        )
        self.log.info("S3Writer: pointer s3://%s/%s now holds %r", self.bucket, pointer, content)

    def check_file(self, written: WrittenFile) -> list[str]:
        key = self.key_for(written.name)
        try:
            head = self.s3.call("head_object", Bucket=self.bucket, Key=key)
        except WriterError as error:
            if is_refused(error):
                self.log.warning("S3Writer: cannot check %s: %s", key, error)
                return []
            return [f"key {key} not found in bucket {self.bucket}"]
        problems = []
        if head.get("ContentLength") != written.size:
            problems.append(f"{key} has {head.get('ContentLength')} bytes, expected {written.size}")
        etag = str(head.get("ETag", "")).strip('"')
        expected = self._expected_etags.get(key) or written.md5
        if expected and etag != expected:
            problems.append(f"{key} has ETag {etag}, expected {expected}")
        metadata = head.get("Metadata") or {}
        if self.options["save_metadata"] and metadata.get("total") != str(written.records):
            problems.append(f"{key} has metadata total={metadata.get('total')}, expected {written.records}")
        return problems


def multipart_etag(digests: list[bytes]) -> str:
    """The ETag S3 gives an object completed from parts with these MD5 digests."""
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def _results(futures: list[Future[bytes]]) -> list[bytes]:
    """Every result in order; on the first failure, cancel what has not started and re-raise."""
    try:
        return [future.result() for future in futures]
    except BaseException:
        for future in futures:
            future.cancel()
        raise
