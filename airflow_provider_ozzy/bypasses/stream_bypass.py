"""Any stream reader to any writer that accepts a whole stream: object bytes copied as they are.

The generic bypass, tried after the server-side ones: the reader's raw streams (never
decompressed or parsed) go to the writer's ``put_stream`` (GStorageWriter, AzureBlobWriter), one
object per file. exporters had this bypass too, but never chose it (its condition check always
failed); its tests called it directly.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.bypasses.base_bypass import section_class
from airflow_provider_ozzy.bypasses.object_copy import ObjectCopyBypass
from airflow_provider_ozzy.core.errors import InconsistentWriteError, WriterError
from airflow_provider_ozzy.core.retries import retrying
from airflow_provider_ozzy.engine.config import ResolvedJob
from airflow_provider_ozzy.readers.base_stream_reader import StreamBasedReader
from airflow_provider_ozzy.write_buffers.stream_writing import accepts_streams
from airflow_provider_ozzy.writers.base_writer import WrittenFile


class StreamBypass(ObjectCopyBypass):
    """Streams every input object of a stream reader to the writer's file N, byte for byte.

    Each object is read once and uploaded as it is read (the writer holds at most one upload
    chunk in memory); a transient failure reopens the source and uploads the object again. The
    copied size must equal the listed size, and ``check_consistency`` compares each file's size
    and MD5 at the destination with the bytes sent.
    """

    priority = 90  # generic: the bypasses that copy on the server come first

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.sent: list[WrittenFile] = []

    @classmethod
    def handles(cls, config: ResolvedJob) -> bool:
        reader, writer = section_class(config, "reader"), section_class(config, "writer")
        return bool(reader and writer and issubclass(reader, StreamBasedReader) and accepts_streams(writer))

    def execute(self) -> dict[str, Any]:
        self.prepare()
        self.commit()
        for index in self.pending():
            if self.context.stop_requested.is_set():
                self.log.warning(
                    "StreamBypass: stop requested after %d of %d object(s)", len(self.done), len(self.streams)
                )
                return self.counters()
            self.sent.append(self._copy(index))
            self.done.add(index)
            self.copied_this_run += 1
            self.commit()
        if self.writer.options["check_consistency"]:
            self._check()
        self.finished = True
        self.log.info("StreamBypass: %d object(s) streamed (%d this run)", len(self.streams), len(self.sent))
        return self.counters()

    def _copy(self, index: int) -> WrittenFile:
        stream, target = self.streams[index], self.targets[index]
        for attempt in retrying():
            with attempt:
                source = self.reader.open_stream(stream)
                try:
                    size, md5 = self.writer.put_stream(source, target, stream.size)
                finally:
                    source.close()
        if stream.size is not None and size != stream.size:
            raise WriterError(
                f"StreamBypass: {stream.name} gave {size} bytes, {stream.size} were listed; {target} is incomplete"
            )
        return WrittenFile(target, size, md5, 0)

    def _check(self) -> None:
        problems = [problem for written in self.sent for problem in self.writer.check_file(written)]
        if problems:
            raise InconsistentWriteError(
                f"StreamBypass: check_consistency failed for {len(problems)} file(s): " + "; ".join(problems)
            )
        self.log.info("check_consistency: %d streamed file(s) verified", len(self.sent))
