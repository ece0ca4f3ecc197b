"""Azure Blob Storage blobs (JSON lines, compressed or not), streamed through ``download_blob().chunks()``."""

from __future__ import annotations

from typing import Any, BinaryIO

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.readers.base_stream_reader import StreamBasedReader
from airflow_provider_ozzy.services.azure import BlobConnection, azure_options, azure_problems
from airflow_provider_ozzy.services.prefix_listing import LISTING_OPTIONS, PrefixListing, listing_problems


class AzureBlobReader(StreamBasedReader):
    """Reads the blobs of ``container`` selected by ``prefix`` (or ``prefix_pointer``), ``pattern`` and
    ``prefix_format_using_date`` (the listing semantics of S3Reader), in name order.

    Each blob is downloaded chunk by chunk, never whole; the blob list is fixed when the job starts
    and each blob's ETag guards its read, so a resume (or a reopened stream after a dropped
    connection) continues with exactly the next item, and a blob replaced in the meantime is an
    error instead of silently different data.
    """

    opens_ahead = 4  # GETs in flight while the current object is parsed

    requires = ("azure.storage.blob",)
    supported_options = {
        "container": {"type": str, "help": "Container to read."},
        **azure_options("blob", legacy_env=False),
        **LISTING_OPTIONS,
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.azure = BlobConnection(self.options, "AzureBlobReader", ReaderError)

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return [*azure_problems(values, "container"), *listing_problems(values)]

    def get_read_streams(self) -> list[Stream]:
        streams = PrefixListing(self.options).streams(self.azure.list_prefix, self.azure.read_small_blob)
        self.log.info(
            "AzureBlobReader: %d blob(s) to read in container %s", len(streams), self.azure.place_name
        )
        return streams

    def open_stream(self, stream: Stream) -> BinaryIO:
        return self.azure.open_blob(stream.name, etag=stream.meta)  # type: ignore[return-value]
