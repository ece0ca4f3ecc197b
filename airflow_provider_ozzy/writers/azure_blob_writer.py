"""Azure Blob Storage. Each finished file becomes one block blob, named from ``filebase``.

A blob appears whole or not at all (one Put Blob, or a committed block list), so a crash never
leaves a partial blob; a resumed job rewrites the same names.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.services.azure import (
    NO_SDK_RETRIES,
    BlobConnection,
    azure_options,
    azure_problems,
)
from airflow_provider_ozzy.services.stored_files import stored_differences
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.write_buffers.stream_writing import HashingReader
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.filebase_base_writer import FilebaseBaseWriter

PARALLEL_UPLOADS = 5  # as exporters: blocks of a large file go up over 5 connections


class AzureBlobWriter(FilebaseBaseWriter):
    """Writes files to ``container`` as blobs named from ``filebase``.

    exporters named blobs after a random buffer file (``<uuid>.jl.gz``), which a resumed job cannot
    find again; Ozzy names them like every file-based writer, and the default ``filebase`` (the
    job's start time) keeps the old property that two runs never overwrite each other.
    The container is created when missing, as exporters did. Each blob stores the MD5 of the whole
    file; ``check_consistency`` compares size and MD5 with what was sent.
    """

    requires = ("azure.storage.blob",)
    supported_options = {
        "container": {"type": str, "help": "Container to write to (created when missing)."},
        "filebase": {
            "type": str,
            "default": "%Y%m%dT%H%M%S_",
            "help": "Blob name prefix: strftime codes, {groups[N]}, {file_number} (default: the job's start time).",
        },
        **azure_options("blob", legacy_env=True),
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.azure = BlobConnection(self.options, "AzureBlobWriter", WriterError)
        self._container_ready = False

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return [*super().check_values(values), *azure_problems(values, "container")]

    def ensure_container(self) -> None:
        """Create the container unless it exists (once per job)."""
        from azure.core.exceptions import ResourceExistsError

        if self._container_ready:
            return

        def create() -> None:
            try:
                self.azure.container_client.create_container(**NO_SDK_RETRIES)
                self.log.info("AzureBlobWriter: created container %s", self.azure.place_name)
            except ResourceExistsError:
                pass

        self.azure.run(create)
        self._container_ready = True

    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        from azure.storage.blob import ContentSettings

        self.ensure_container()
        size = os.path.getsize(local_path)
        md5 = bytearray(bytes.fromhex(finished.md5)) if finished.md5 else None

        def upload() -> None:
            with open(local_path, "rb") as data:
                self.azure.blob_client(destination).upload_blob(
                    data,
                    length=size,
                    overwrite=True,
                    content_settings=ContentSettings(content_md5=md5),
                    validate_content=True,
                    max_concurrency=PARALLEL_UPLOADS,
                    **NO_SDK_RETRIES,
                )

        self.azure.run(upload, destination)
        self.log.debug("AzureBlobWriter: wrote %s/%s", self.azure.place_name, destination)

    def put_stream(self, stream: BinaryIO, destination: str, size: int | None = None) -> tuple[int, str]:
        """Upload a whole stream as ``destination`` (one attempt: a stream cannot be replayed).

        :param size: the stream's length when known.
        :return: bytes sent and their hex MD5 (also stored as the blob's MD5).
        """
        from azure.storage.blob import ContentSettings

        self.ensure_container()
        counted = HashingReader(stream)
        client = self.azure.blob_client(destination)
        try:
            client.upload_blob(counted, length=size, overwrite=True, max_concurrency=1, **NO_SDK_RETRIES)
            md5 = bytearray(counted.md5.digest())
            client.set_http_headers(ContentSettings(content_md5=md5), **NO_SDK_RETRIES)
        except Exception as error:
            raise self.azure.translate(error, destination) from None
        return counted.size, counted.md5.hexdigest()

    def check_file(self, written: WrittenFile) -> list[str]:
        where = f"{self.azure.place_name}/{written.name}"
        return stored_differences(where, self.azure.properties(written.name), written.size, written.md5)
