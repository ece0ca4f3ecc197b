"""Google Cloud Storage. Each finished file becomes one object, named from ``filebase``.

An object appears whole or not at all (GCS commits an upload when its last byte arrives), so a
crash never leaves a partial object; a resumed job rewrites the same names.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.services.gcs import GCS_OPTIONS, TIMEOUT, GCSConnection, gcs_problems
from airflow_provider_ozzy.services.stored_files import stored_differences
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.write_buffers.stream_writing import HashingReader
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.filebase_base_writer import FilebaseBaseWriter


class GStorageWriter(FilebaseBaseWriter):
    """Writes files to ``bucket`` as ``filebase``-named objects, uploaded in 8 MiB chunks.

    ``check_consistency`` compares each object's size and MD5 (computed by GCS) with the file sent.
    """

    requires = ("google.cloud.storage",)
    supported_options = dict(GCS_OPTIONS)

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.gcs = GCSConnection(self.options, "GStorageWriter", WriterError)

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return [*super().check_values(values), *gcs_problems(values)]

    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        def upload() -> None:
            self.gcs.blob(destination).upload_from_filename(local_path, retry=None, timeout=TIMEOUT)

        self.gcs.run(upload, destination)
        self.log.debug("GStorageWriter: wrote gs://%s/%s", self.gcs.bucket_name, destination)

    def put_stream(self, stream: BinaryIO, destination: str, size: int | None = None) -> tuple[int, str]:
        """Upload a whole stream as ``destination`` (one attempt: a stream cannot be replayed).

        :param size: the stream's length when known (one request up to 8 MiB, else resumable chunks).
        :return: bytes sent and their hex MD5.
        """
        counted = HashingReader(stream)
        try:
            self.gcs.blob(destination).upload_from_file(counted, size=size, retry=None, timeout=TIMEOUT)
        except Exception as error:
            raise self.gcs.translate(error, destination) from None
        return counted.size, counted.md5.hexdigest()

    def check_file(self, written: WrittenFile) -> list[str]:
        where = f"gs://{self.gcs.bucket_name}/{written.name}"
        return stored_differences(where, self.gcs.properties(written.name), written.size, written.md5)
