"""S3 objects (JSON lines, compressed or not), streamed: nothing reads a whole object into memory."""

from __future__ import annotations

from typing import Any, BinaryIO

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.readers.base_stream_reader import StreamBasedReader
from airflow_provider_ozzy.services.prefix_listing import LISTING_OPTIONS, PrefixListing, listing_problems
from airflow_provider_ozzy.services.s3 import S3Connection, connection_options, connection_problems


class S3Reader(StreamBasedReader):
    """Reads the objects of ``bucket`` selected by ``prefix`` (or ``prefix_pointer``), ``pattern`` and
    ``prefix_format_using_date``, in listing order, each streamed through the decompressor and the
    deserializer.

    The key list is fixed when the job starts; a position names the key being read (and its ETag
    guards the read), so a resume or a reopened connection continues with exactly the next item.
    """

    opens_ahead = 4  # GETs in flight while the current object is parsed

    requires = ("boto3",)
    supported_options = {
        **connection_options("read", "EXPORTERS_S3READER_AWS_KEY", "EXPORTERS_S3READER_AWS_SECRET"),
        **LISTING_OPTIONS,
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.s3 = S3Connection(self.options, "S3Reader", ReaderError)

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return [*connection_problems(values), *listing_problems(values)]

    @property
    def bucket(self) -> str:
        return self.s3.bucket

    def get_read_streams(self) -> list[Stream]:
        streams = PrefixListing(self.options).streams(self.s3.list_prefix, self.s3.read_small_object)
        if self.options["pattern"] and not streams:
            self.log.warning(
                "S3Reader: no key of bucket %s matches pattern %r", self.bucket, self.options["pattern"]
            )
        self.log.info("S3Reader: %d key(s) to read in bucket %s", len(streams), self.bucket)
        return streams

    def open_stream(self, stream: Stream) -> BinaryIO:
        return self.s3.open_object(stream.name, etag=stream.meta)
