"""Readers of byte streams (files, objects): decompress and deserialize incrementally, resumably.

Inputs are named by identity, never by their place in a listing. A position holds the inputs
finished before this run (``done``), the inputs of this run in the order they were read
(``read``), and where a resume starts again (``index`` into ``read`` and the ``offset``-th item of
that input). A resume reads ``read[index:]`` again in the same order, so every item after the
committed position comes back in the same order (the commit protocol counts on it), then every
listed input that is in neither list, in name order. Inputs added, removed, renamed or re-sorted
between runs, or between a crash and its resume, are therefore each read exactly once. An input
that must be read again but is gone or shrank stops the resume with a clear error; one that grew
(repaired, appended to) is read on after the items already delivered.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO, NamedTuple

from airflow_provider_ozzy.core.dead_letters import BadRecord, DeadLetterSink
from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.retries import call_with_retries, is_transient
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.decompressors.stream_decompressors import AutoDecompressor, BaseDecompressor
from airflow_provider_ozzy.deserializers.stream_deserializers import BaseDeserializer, JsonLinesDeserializer
from airflow_provider_ozzy.readers.base_reader import BaseReader, batch_size_option
from airflow_provider_ozzy.readers.input_log import (
    Entry,
    InputLog,
    decode_entries,
    encode_entries,
    iter_entries,
    merge_sorted,
)

POSITION_VERSION = 2


class StreamBasedReader(BaseReader):
    """Base of FSReader, S3Reader and the other stream readers.

    Readers of object stores set ``opens_ahead``: the next streams are opened on background
    threads while the current one is parsed, so the round trip of each GET overlaps parsing
    instead of adding to it (1,000 small objects at 20 ms each: 20 s serially). Each is still
    read in order, and an open that failed is raised when its stream is reached, as before.
    """

    opens_ahead = 0  # streams opened in advance (0: each when it is reached)

    supported_options = {
        "batch_size": batch_size_option(10000, "Items per batch (and per commit)."),
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.decompressor: BaseDecompressor = AutoDecompressor()
        self.deserializer: BaseDeserializer = JsonLinesDeserializer()
        self._streams: list[Stream] = []  # what this run reads, in order (see ``_plan``)
        self._log = InputLog()
        self._done_encoded: list[str] = []
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
        self._ahead: dict[int, Future[BinaryIO]] = {}  # stream index -> its open, started early
        self._opener: ThreadPoolExecutor | None = None

    # -- to implement -------------------------------------------------------------------------
    def get_read_streams(self) -> list[Stream]:
        """Every stream to read, in a deterministic order."""
        raise NotImplementedError

    def open_stream(self, stream: Stream) -> BinaryIO:
        """A binary file object reading ``stream`` from its start."""
        raise NotImplementedError

    # -- the reader contract ------------------------------------------------------------------
    def open(self, position: dict[str, Any] | None) -> None:
        self._drop_opened_ahead()
        start = self._start_at(position)
        self._offset = int(start.position.get("offset", 0)) if start.position and start.replay else 0
        self._streams = list(start.plan)
        if start.finished:
            self._done_encoded = encode_entries(merge_sorted(iter_entries(start.done), start.finished))
        else:
            self._done_encoded = start.done
        self._log = InputLog((stream.name, stream.size) for stream in self._streams)
        self._bytes_total = sum(stream.size or 0 for stream in self._streams)
        self.finished = not self._streams

    def has_new_input(self, position: dict[str, Any] | None) -> bool:
        """Whether ``open(position)`` would find an input to read: the first input of the same
        plan, after one listing (the plan stops there, so the inputs done are not all walked)."""
        return next(self._start_at(position).plan, None) is not None

    def _start_at(self, position: dict[str, Any] | None) -> _Start:
        """The listing planned from ``position``: what ``open`` reads and ``has_new_input`` asks."""
        listed = _in_order(self.get_read_streams())
        if position and "stream_index" in position:
            position = self._from_index_position(position, listed)
        done, read, index = _unpack(position)
        replay = read[index:]
        # inputs of the run before that finished join the done ones; held sorted, never as a set:
        # at a million inputs a set of names would cost more memory than the listing itself
        finished = sorted(read[:index])
        plan = self._plan(listed, merge_sorted(iter_entries(done), finished), replay)
        return _Start(position, done, finished, replay, plan)

    def _plan(self, listed: list[Stream], done: Iterator[Entry], replay: list[Entry]) -> Iterator[Stream]:
        """What a run reads, lazily: first the inputs read after the committed position, in the
        order they were read (so every item comes back in the same order), then every listed input
        not finished before, in name order (``listed`` and ``done`` are both sorted by name)."""
        for name, size in replay:
            found = bisect.bisect_left(listed, name, key=lambda stream: stream.name)
            stream = listed[found] if found < len(listed) and listed[found].name == name else None
            if stream is not None and size is not None and stream.size is not None and stream.size > size:
                self.log.warning(
                    "%s: input %s grew since it was read (%d -> %d bytes): taken as appended to (a "
                    "repaired or growing file); its items already delivered are skipped",
                    type(self).__name__,
                    name,
                    size,
                    stream.size,
                )
            elif stream is None or (size is not None and stream.size is not None and stream.size != size):
                what = "is gone" if stream is None else f"shrank ({size} -> {stream.size} bytes)"
                raise ReaderError(
                    f"{type(self).__name__}: cannot resume exactly: input {name}, read after the last "
                    f"committed position, {what}; restore it, or delete the job state to start over"
                )
            yield stream
        replayed = {name for name, _ in replay}
        changed = []
        finished = next(done, None)
        for stream in listed:
            while finished is not None and finished[0] < stream.name:
                finished = next(done, None)
            if stream.name in replayed:
                continue
            if finished is not None and finished[0] == stream.name:
                size = finished[1]
                if size is not None and stream.size is not None and size != stream.size:
                    changed.append(stream.name)
                continue
            yield stream
        if changed:
            self.log.warning(
                "%s: %d finished input(s) changed size since they were read and are not read again "
                "(an input is read once per name): %s",
                type(self).__name__,
                len(changed),
                ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else ""),
            )

    def _from_index_position(self, position: dict[str, Any], listed: list[Stream]) -> dict[str, Any]:
        """A position of Ozzy 0.1 (an index into the listing): the inputs before it are done."""
        names = [stream.name for stream in listed]
        index, name = position.get("stream_index", 0), position.get("stream_name")
        if name is not None and name in names:
            index = names.index(name)
        elif name is not None:
            raise ReaderError(
                f"{type(self).__name__}: cannot resume: '{name}', being read when the job stopped, "
                "is no longer in the input"
            )
        index = min(index, len(listed))
        self.log.warning(
            "%s: converting a position of an older Ozzy (input %d of the listing) to named inputs",
            type(self).__name__,
            index,
        )
        read = [(stream.name, stream.size) for stream in listed[: index + 1]] if name is not None else []
        return {
            "done": encode_entries(sorted((stream.name, stream.size) for stream in listed[:index])),
            "read": encode_entries(read[index:]) if read else [],
            "index": 0,
            "offset": position.get("offset", 0) if name is not None else 0,
        }

    def position_cursor(self) -> dict[str, Any]:
        name = self._streams[self._index].name if self._index < len(self._streams) else None
        return {"index": self._index, "offset": self._offset, "stream_name": name}

    def committable_position(self, cursor: dict[str, Any]) -> dict[str, Any]:
        """Inputs finished before this run, the inputs of this run so far in read order, and the
        place in them (``cursor``) where a resume starts reading again."""
        read = min(self._index + 1, len(self._streams))
        return {
            "version": POSITION_VERSION,
            "done": self._done_encoded,
            "read": self._log.encoded(read),
            **cursor,
        }

    def get_last_position(self) -> dict[str, Any]:
        return self.committable_position(self.position_cursor())

    def position_after(self, streams: list[Stream]) -> dict[str, Any]:
        """The position of a job that read exactly ``streams`` (a bypass copied them whole)."""
        done = encode_entries(sorted((stream.name, stream.size) for stream in streams))
        return {"version": POSITION_VERSION, "done": done, "read": [], "index": 0, "offset": 0}

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
        self._drop_opened_ahead()

    def _drop_opened_ahead(self) -> None:
        if self._opener is not None:
            self._opener.shutdown(wait=True, cancel_futures=True)
            self._opener = None
        for future in self._ahead.values():
            if not future.cancelled() and future.exception() is None:  # shut down: all are done
                future.result().close()
        self._ahead.clear()

    def _open_current(self) -> BinaryIO:
        """The current stream, opened: taken from the opens started ahead, which move on."""
        if not self.opens_ahead:
            return self.open_stream(self._streams[self._index])
        if self._opener is None:
            self._opener = ThreadPoolExecutor(max_workers=self.opens_ahead, thread_name_prefix="ozzy-open")
        for index in range(self._index, min(len(self._streams), self._index + 1 + self.opens_ahead)):
            if index not in self._ahead:
                self._ahead[index] = self._opener.submit(self.open_stream, self._streams[index])
        return self._ahead.pop(self._index).result()

    # -- internals ----------------------------------------------------------------------------
    def _open_records(self) -> Iterator[list[dict[str, Any]]]:
        stream = self._streams[self._index]
        try:
            self._raw = _CountingReader(self._open_current())
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
        return call_with_retries(self._attempt_records)

    def _attempt_records(self) -> list[dict[str, Any]]:
        try:
            return self._take_records()
        except Exception as error:
            if is_transient(error):
                self._reopen_records()
            raise

    def _take_records(self) -> list[dict[str, Any]]:
        try:
            assert self._records is not None
            return next(self._records)
        except StopIteration:
            self._finish_stream()
            return []
        except ReaderError as error:
            raise ReaderError(f"{type(self).__name__}: {error}") from None

    def _reopen_records(self) -> None:
        self._close_stream()
        self._records = self._open_records()

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


class _Start(NamedTuple):
    """A position unpacked against the listing, and the inputs a run from there reads (lazily)."""

    position: dict[str, Any] | None  # as given, or converted from an index position
    done: list[str]  # encoded inputs finished before the last run
    finished: list[Entry]  # inputs the last run finished, sorted by name
    replay: list[Entry]  # inputs read after the committed position, in read order
    plan: Iterator[Stream]


def _in_order(streams: list[Stream]) -> list[Stream]:
    """Every input once, in one global name order, whatever the order and overlap of the listing."""
    ordered = sorted(streams, key=lambda stream: stream.name)  # stable: the first listing of a name wins
    return [
        stream for index, stream in enumerate(ordered) if not index or ordered[index - 1].name != stream.name
    ]


def _unpack(position: dict[str, Any] | None) -> tuple[list[str], list[Entry], int]:
    """The encoded inputs done before the last run, the last run's inputs in read order, and the
    index in them where reading starts again."""
    if not position:
        return [], [], 0
    try:
        done = list(position.get("done", []))
        read = decode_entries(position.get("read", []))
    except ValueError as error:
        raise ReaderError(f"cannot resume: {error}") from None
    index = int(position.get("index", 0))
    if not 0 <= index <= len(read):
        raise ReaderError(f"cannot resume: damaged position (input {index} of {len(read)})")
    return done, read, index


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
