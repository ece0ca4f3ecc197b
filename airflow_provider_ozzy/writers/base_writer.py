"""The writer contract and the shared mechanics every writer uses.

Buffering, item limits, the per-group counters behind the commit protocol, consistency checks,
delivery in the background: implemented once here. A concrete writer only puts one finished file
at its destination (``write_file``) and, for ``check_consistency``, says what is there
(``check_file``).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from functools import partial
from typing import Any, NamedTuple

from airflow_provider_ozzy.core.compression import COMPRESSIONS, ENGINES, engine_problem, level_problem
from airflow_provider_ozzy.core.errors import ConfigurationError, InconsistentWriteError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.ordered_worker import OrderedWorker
from airflow_provider_ozzy.core.pipeline_item import PipelineItem
from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter
from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.write_buffers.base import BufferSettings, FinishedFile, WriteBuffer


class WrittenFile(NamedTuple):
    """A file durably at its destination."""

    name: str
    size: int
    md5: str
    records: int


class _InFlight(NamedTuple):
    """A finished file handed to the delivery thread, not yet known to be at its destination."""

    finished: FinishedFile
    number: int
    name: Future[str]


class BaseWriter(PipelineItem):
    """Accepts grouped batches, buffers them into files and puts finished files at the destination.

    With ``delivers_in_background``, ``write_file`` runs on a second thread while the main thread
    reads, formats and compresses the next file (a remote put or a database load waits on the
    network, not on Python). One file is delivered at a time, in order. Until its delivery is
    collected, a file's items count as still buffered (``open_groups``), so a commit never names
    a file that may not be there; a crash re-reads them and the file is written again under its
    deterministic name.
    """

    kind = "writer"
    # write_file touches only the destination and state no main-thread method reads
    delivers_in_background = False
    # finished files carry their items as well as their formatted file (writers that load rows,
    # not files: OdoWriter), so the writer need not parse its own buffer file back
    takes_items = False
    supported_options = {
        "items_per_buffer_write": {
            "type": int,
            "minimum": 1,
            "maximum": 2**63 - 1,
            "default": 500000,
            "help": "Items per output file.",
        },
        "size_per_buffer_write": {
            "type": int,
            "minimum": 1,
            "maximum": 2**50,
            "default": 4000000000,
            "help": "Formatted (uncompressed) bytes per output file.",
        },
        "items_limit": {
            "type": int,
            "maximum": 2**63 - 1,
            "default": 0,
            "minimum": 0,
            "help": "Stop after exactly this many items (0: no limit).",
        },
        "check_consistency": {
            "type": bool,
            "default": False,
            "help": "Verify size and checksum of every file written.",
        },
        "compression": {
            "type": str,
            "default": "gz",
            "choices": COMPRESSIONS,
            "help": "gz, bz2, zip, zstd or none.",
        },
        "compression_level": {
            "type": (int, type(None)),
            "minimum": -7,
            "maximum": 22,
            "default": None,
            "help": "Compression level; default per format (isal: 0-3, default 2).",
        },
        "compression_engine": {
            "type": str,
            "default": "zlib",
            "choices": ENGINES,
            "help": "Who writes gz: zlib, or isal (faster, about 12 % larger files, still standard gzip).",
        },
        "write_buffer": {"type": str, "default": "WriteBuffer", "help": "Write buffer class."},
        "write_buffer_options": {"type": dict, "default": {}, "help": "Options of the write buffer."},
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.formatter: BaseExportFormatter | None = None
        self.buffer: WriteBuffer = self._make_buffer()
        self.accepted = 0  # items handed to the writer, skipped ones included (items_limit counts these)
        self.routed: dict[GroupKey, int] = {}  # items per group since this run started
        self.skip_remaining: dict[GroupKey, int] = {}  # items already at the destination from an earlier run
        self.file_counts: dict[GroupKey, int] = {}
        self.items_written = 0
        self.files_written = 0
        self.bytes_written = 0
        self.written: list[WrittenFile] = []  # this run's files, for check_consistency
        self._delivery: OrderedWorker | None = None
        self._in_flight: deque[_InFlight] = deque()

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = []
        for option in ("items_per_buffer_write", "size_per_buffer_write"):
            if values[option] <= 0:
                problems.append(Problem(option, f"option '{option}' must be positive, got {values[option]}"))
        if values["items_limit"] < 0:
            problems.append(Problem("items_limit", "option 'items_limit' must be 0 (no limit) or positive"))
        engine = values["compression_engine"]
        engine_error = engine_problem(values["compression"], engine) if engine in ENGINES else None
        if engine_error:
            problems.append(Problem("compression_engine", engine_error))
        level = values["compression_level"]
        if isinstance(level, int) and -7 <= level <= 22 and not engine_error:
            level_error = level_problem(values["compression"], level, engine)
            if level_error:
                problems.append(Problem("compression_level", level_error))
        try:
            buffer_class = cls._buffer_class(values["write_buffer"])
        except ConfigurationError as error:
            problems.extend(Problem("write_buffer", message) for message in error.errors)
        else:
            _, buffer_problems = buffer_class.resolve(values["write_buffer_options"])
            problems.extend(Problem("write_buffer_options", problem.message) for problem in buffer_problems)
        return problems

    @staticmethod
    def _buffer_class(name: str) -> type[WriteBuffer]:
        from airflow_provider_ozzy.engine.registry import UnknownModuleError, resolve

        try:
            found = resolve(name, "write_buffers")
        except UnknownModuleError as error:
            raise ConfigurationError(f"option 'write_buffer': {error}") from None
        if not (isinstance(found, type) and issubclass(found, WriteBuffer)):
            raise ConfigurationError(f"option 'write_buffer': {name} is not a write buffer")
        return found

    def _make_buffer(self) -> WriteBuffer:
        return self._buffer_class(self.options["write_buffer"])(self.options["write_buffer_options"])

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self, formatter: BaseExportFormatter, state: dict[str, Any] | None) -> None:
        """Get ready to write; ``state`` is what ``state()`` returned at the last commit."""
        self.formatter = formatter
        if formatter.file_level:
            # whole-file formats compress inside the file; config validation rejects any other
            # explicit value, so this only replaces the default
            self.options["compression"] = "none"
        self.buffer.configure(
            BufferSettings(
                formatter,
                self.options["compression"],
                self.options["compression_level"],
                self.options["items_per_buffer_write"],
                self.options["size_per_buffer_write"],
                self.options["compression_engine"],
                self.takes_items,
            ),
            self.buffer_folder(),
        )
        if state:
            self.restore(state)
        if self.delivers_in_background:
            self._delivery = OrderedWorker(max_pending=1, name="ozzy-deliver")
        files_at_open = dict(self.file_counts)
        self.buffer.member_namer = lambda group, ordinal: self.member_name(
            group, files_at_open.get(group, 0) + ordinal
        )

    def member_name(self, group: GroupKey, number: int) -> str | None:
        """Name of the data inside file ``number`` of ``group`` when it is a zip (``None``: generic)."""
        return None

    def buffer_folder(self) -> str | None:
        """Where buffer files live (``None``: the system temporary folder)."""
        return None

    def restore(self, state: dict[str, Any]) -> None:
        self.accepted = state.get("accepted", 0)
        for key, files, skip in state.get("groups", []):
            group = tuple(key)
            if files:
                self.file_counts[group] = files
            if skip:
                self.skip_remaining[group] = skip
        self.items_written = state.get("items_written", 0)
        self.files_written = state.get("files_written", 0)
        self.bytes_written = state.get("bytes_written", 0)

    def remaining_room(self) -> int | None:
        """Items still accepted before ``items_limit`` (``None``: no limit)."""
        limit = self.options["items_limit"]
        return max(0, limit - self.accepted) if limit else None

    def write_batch(self, groups: dict[GroupKey, list[dict[str, Any]]], batch_number: int) -> None:
        for key, items in groups.items():
            self.accepted += len(items)
            self.routed[key] = self.routed.get(key, 0) + len(items)
            skip = self.skip_remaining.get(key)
            if skip:
                dropped = min(skip, len(items))
                items = items[dropped:]
                if skip == dropped:
                    del self.skip_remaining[key]
                else:
                    self.skip_remaining[key] = skip - dropped
            if items:
                for finished in self.buffer.append(key, items, batch_number):
                    self._deliver(finished)

    def flush(self) -> None:
        """Put every partly filled file at the destination (and wait for the deliveries)."""
        for finished in self.buffer.flush_all():
            self._deliver(finished)
        self._collect_delivered(wait=True)

    def finish_writing(self) -> None:
        """After the last flush: consistency checks and end-of-export files."""
        if self.options["check_consistency"]:
            self.check_consistency()

    def close(self) -> None:
        """Wait for a delivery still running (its buffer file must stay), then drop the buffer."""
        if self._delivery is not None:
            self._in_flight.clear()  # not collected: the committed state does not count them
            try:
                self._delivery.shutdown()
            except Exception as error:  # stopping or failing already; a resume writes the file again
                self.log.warning("%s: a delivery failed while closing: %s", type(self).__name__, error)
            self._delivery = None
        self.buffer.close()

    def result(self) -> dict[str, Any] | None:
        """What the export computed, for writers that compute something (reduce, aggregation).

        A non-``None`` value goes into the final stats under ``"result"`` (operator XCom, CLI).
        """
        return None

    # -- commit protocol support ------------------------------------------------------------------
    def open_groups(self) -> dict[GroupKey, tuple[int, int]]:
        """Groups with items not yet at the destination: buffered, or in a file being delivered."""
        self._collect_delivered()
        groups = self.buffer.open_groups()
        for flight in self._in_flight:
            first, count = groups.get(flight.finished.group, (flight.finished.first_batch, 0))
            groups[flight.finished.group] = (
                min(first, flight.finished.first_batch),
                count + flight.finished.records,
            )
        return groups

    def state(self, routed_at_watermark: dict[GroupKey, int], accepted_at_watermark: int) -> dict[str, Any]:
        """Writer state to commit with the reader position at the watermark (see commit_protocol)."""
        open_counts = {key: count for key, (_, count) in self.open_groups().items()}
        groups = []
        for key in set(self.file_counts) | set(self.routed) | set(self.skip_remaining):
            skip = (
                self.routed.get(key, 0)
                - routed_at_watermark.get(key, 0)
                - open_counts.get(key, 0)
                + self.skip_remaining.get(key, 0)
            )
            files = self.file_counts.get(key, 0)
            if files or skip:
                groups.append([list(key), files, skip])
        return {
            "accepted": accepted_at_watermark,
            "groups": groups,
            "items_written": self.items_written,
            "files_written": self.files_written,
            "bytes_written": self.bytes_written,
        }

    # -- delivery -----------------------------------------------------------------------------------
    def _deliver(self, finished: FinishedFile) -> None:
        if self._delivery is None:
            number = self.file_counts.get(finished.group, 0)
            self._record(finished, number, self.write_file(finished, number))
            return
        self._collect_delivered()
        number = self.file_counts.get(finished.group, 0) + sum(
            1 for flight in self._in_flight if flight.finished.group == finished.group
        )
        name = self._delivery.submit(partial(self.write_file, finished, number))
        self._in_flight.append(_InFlight(finished, number, name))

    def _collect_delivered(self, wait: bool = False) -> None:
        """Count the files whose delivery ended (all of them with ``wait``); re-raises a failed one."""
        while self._in_flight and (wait or self._in_flight[0].name.done()):
            flight = self._in_flight[0]
            name = flight.name.result()
            self._in_flight.popleft()
            self._record(flight.finished, flight.number, name)

    def _record(self, finished: FinishedFile, number: int, name: str) -> None:
        self.file_counts[finished.group] = number + 1
        self.items_written += finished.records
        self.files_written += 1
        self.bytes_written += finished.size
        written = WrittenFile(name, finished.size, finished.md5, finished.records)
        if self.options["check_consistency"]:
            self.written.append(written)
        self.after_file_written(written)

    def write_file(self, finished: FinishedFile, number: int) -> str:
        """Put ``finished`` (the ``number``-th file of its group) at the destination; return its name."""
        raise NotImplementedError

    def after_file_written(self, written: WrittenFile) -> None:
        """Hook for writers that keep a record of their files."""

    # -- consistency --------------------------------------------------------------------------------
    def check_file(self, written: WrittenFile) -> list[str]:
        """Problems with one destination file (empty when it is as written)."""
        return []

    def check_consistency(self) -> None:
        problems = [problem for written in self.written for problem in self.check_file(written)]
        if problems:
            raise InconsistentWriteError(
                f"{type(self).__name__}: check_consistency failed for {len(problems)} file(s): "
                + "; ".join(problems)
            )
        self.log.info("check_consistency: %d file(s) verified", len(self.written))


def require_json_lines(writer: str, built: str, formatter: Any) -> None:
    """Refuse any formatter but compact JSON lines, for writers that parse each formatted line
    (``built``: what they build from it, for the message)."""
    from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter

    options = getattr(formatter, "options", {})
    if not (
        isinstance(formatter, JsonExportFormatter) and options["jsonlines"] and not options["pretty_print"]
    ):
        raise ConfigurationError(
            f"writer {writer}: {built} are built from JSON lines; use the JsonExportFormatter with "
            f"jsonlines and without pretty_print (got {type(formatter).__name__})"
        )
