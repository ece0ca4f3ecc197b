"""Readers of byte streams (files, objects): decompress and deserialize incrementally, resumably.

A position is ``{"stream_index", "stream_name", "offset"}``: the stream being read and how many of
its items were already delivered. Streams are listed in a deterministic order, so a resumed or
retried read continues with exactly the next item.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

from airflow_provider_ozzy.dead_letters import BadRecord, DeadLetterSink
from airflow_provider_ozzy.decompressors.stream_decompressors import AutoDecompressor, BaseDecompressor
from airflow_provider_ozzy.deserializers.stream_deserializers import BaseDeserializer, JsonLinesDeserializer
from airflow_provider_ozzy.errors import ReaderError
from airflow_provider_ozzy.readers.base_reader import BaseReader
from airflow_provider_ozzy.retries import is_transient, retrying


class Stream(NamedTuple):
    name: str
    size: int | None
    meta: Any = None


class StreamBasedReader(BaseReader):
    """Base of FSReader, S3Reader and the other stream readers."""

    supported_options = {
        "batch_size": {
            "type": int,
            "minimum": 1,
            "maximum": 1_000_000,
            "default": 10000,
            "help": "Items per batch (and per commit).",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.decompressor: BaseDecompressor = AutoDecompressor()
        self.deserializer: BaseDeserializer = JsonLinesDeserializer()
        self._streams: list[Stream] = []
        self._index = 0
        self._offset = 0
        self._records: Iterator[list[dict[str, Any]]] | None = None
        self._pending: list[dict[str, Any]] = []
        self._raw: _CountingReader | None = None
        self._bytes_done = 0
        self._bytes_total = 0
        # with a dead-letter file, bad records sit among the items (counted in the position) until
        # their batch is read, then go to the sink: in order, so a commit covers exactly those before it
        self.dead_letters: DeadLetterSink | None = None
        self.last_stream: str | None = None  # stream of the last item delivered (dead letters name it)

    # -- to implement -------------------------------------------------------------------------
    def get_read_streams(self) -> list[Stream]:
        """Every stream to read, in a deterministic order."""
        raise NotImplementedError

    def open_stream(self, stream: Stream) -> BinaryIO:
        """A binary file object reading ``stream`` from its start."""
        raise NotImplementedError

    # -- the reader contract ------------------------------------------------------------------
    def open(self, position: dict[str, Any] | None) -> None:
        self._streams = self.get_read_streams()
        self._bytes_total = sum(stream.size or 0 for stream in self._streams)
        if position:
            self._index, self._offset = self._locate(position)
            self._bytes_done = sum(stream.size or 0 for stream in self._streams[: self._index])
        self.finished = not self._streams

    def _locate(self, position: dict[str, Any]) -> tuple[int, int]:
        index, name, offset = (
            position.get("stream_index", 0),
            position.get("stream_name"),
            position.get("offset", 0),
        )
        names = [stream.name for stream in self._streams]
        if index < len(names) and (name is None or names[index] == name):
            return index, offset
        if name in names:
            return names.index(name), offset
        if name is None or index >= len(names):
            return len(names), 0
        raise ReaderError(
            f"{type(self).__name__}: cannot resume: '{name}', being read when the job stopped, "
            "is no longer in the input"
        )

    def get_last_position(self) -> dict[str, Any]:
        name = self._streams[self._index].name if self._index < len(self._streams) else None
        return {"stream_index": self._index, "stream_name": name, "offset": self._offset}

    def get_next_batch(self) -> list[dict[str, Any]]:
        wanted = self.options["batch_size"]
        batch: list[dict[str, Any]] = []
        while len(batch) < wanted:
            if self._pending:
                self.last_stream = self._streams[self._index].name
                room = wanted - len(batch)
                if not batch and len(self._pending) <= room:
                    batch, self._pending = self._pending, []
                    self._offset += len(batch)
                else:
                    taken = self._pending[:room]
                    del self._pending[:room]
                    batch.extend(taken)
                    self._offset += len(taken)
                continue
            if self._records is None:
                if self._index >= len(self._streams):
                    self.finished = True
                    break
                self._records = self._open_records()
            self._pending = self._next_records()
        if self.dead_letters is not None:
            batch = self._set_aside_bad_records(batch)
        self.read_items += len(batch)
        return batch

    def _set_aside_bad_records(self, batch: list[Any]) -> list[dict[str, Any]]:
        if not any(type(record) is BadRecord for record in batch):
            return batch
        assert self.dead_letters is not None
        good = []
        for record in batch:
            if type(record) is BadRecord:
                self.dead_letters.add_bad_record(record)
            else:
                good.append(record)
        return good

    def progress(self) -> float | None:
        if not self._bytes_total:
            return None
        current = self._raw.count if self._raw else 0
        return min(1.0, (self._bytes_done + current) / self._bytes_total)

    def close(self) -> None:
        self._close_stream()

    # -- internals ----------------------------------------------------------------------------
    def _open_records(self) -> Iterator[list[dict[str, Any]]]:
        stream = self._streams[self._index]
        try:
            self._raw = _CountingReader(self.open_stream(stream))
        except ReaderError:
            raise
        except FileNotFoundError:
            raise ReaderError(
                f"{type(self).__name__}: {stream.name} does not exist (option 'input')"
            ) from None
        except OSError as error:
            if is_transient(error):
                raise
            raise ReaderError(f"{type(self).__name__}: cannot open {stream.name}: {error}") from None
        chunks = self.decompressor.chunks(self._raw, stream.name)  # type: ignore[arg-type]
        return self.deserializer.batches(chunks, stream.name, skip=self._offset)

    def _next_records(self) -> list[dict[str, Any]]:
        """The next list of records of the current stream; reopens it after a transient error."""
        for attempt in retrying():
            with attempt:
                try:
                    assert self._records is not None
                    return next(self._records)
                except StopIteration:
                    self._finish_stream()
                    return []
                except ReaderError as error:
                    raise ReaderError(f"{type(self).__name__}: {error}") from None
                except Exception as error:
                    if is_transient(error):
                        self._close_stream()
                        self._records = self._open_records()
                    raise
        return []  # pragma: no cover - retrying() re-raises the last error

    def _finish_stream(self) -> None:
        size = self._streams[self._index].size or 0
        self._close_stream()
        self._bytes_done += size
        self._index += 1
        self._offset = 0

    def _close_stream(self) -> None:
        self._records = None
        if self._raw is not None:
            self._raw.close()
            self._raw = None


class _CountingReader:
    """Wraps a binary stream to count the bytes read (for progress)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.count = 0
        self.opened_at = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data

    def seekable(self) -> bool:
        return bool(getattr(self._raw, "seekable", lambda: False)())

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
