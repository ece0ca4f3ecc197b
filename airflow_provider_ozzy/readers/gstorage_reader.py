"""Google Cloud Storage objects (JSON lines, compressed or not), streamed through ``blob.open("rb")``."""

from __future__ import annotations

from typing import Any, BinaryIO

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.readers.base_stream_reader import StreamBasedReader
from airflow_provider_ozzy.services.gcs import GCS_OPTIONS, GCSConnection, gcs_problems
from airflow_provider_ozzy.services.prefix_listing import LISTING_OPTIONS, PrefixListing, listing_problems


class GStorageReader(StreamBasedReader):
    """Reads the objects of ``bucket`` selected by ``prefix`` (or ``prefix_pointer``), ``pattern`` and
    ``prefix_format_using_date`` (the listing semantics of S3Reader), in name order.

    Each object is read in 8 MiB ranged requests, never whole; the object list is fixed when the
    job starts and each object's generation guards its read, so a resume (or a reopened stream
    after a dropped connection) continues with exactly the next item, and an object replaced in
    the meantime is an error instead of silently different data.
    """

    opens_ahead = 4  # GETs in flight while the current object is parsed

    requires = ("google.cloud.storage",)
    supported_options = {**GCS_OPTIONS, **LISTING_OPTIONS}

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.gcs = GCSConnection(self.options, "GStorageReader", ReaderError)

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return [*gcs_problems(values), *listing_problems(values)]

    def get_read_streams(self) -> list[Stream]:
        streams = PrefixListing(self.options).streams(self.gcs.list_prefix, self.gcs.read_small_object)
        self.log.info("GStorageReader: %d object(s) to read in bucket %s", len(streams), self.gcs.bucket_name)
        return streams

    def open_stream(self, stream: Stream) -> BinaryIO:
        return self.gcs.open_object(stream.name, generation=stream.meta, size=stream.size)  # type: ignore[return-value]
