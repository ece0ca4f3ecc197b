"""Dead letters: bad records written aside (JSON lines) instead of failing the export.

Enabled by ``exporter_options.dead_letter_file``. A record that cannot be deserialized (a bad JSON
line, a bad CSV row) or that makes a transform or filter fail with a data error goes to that file
with its source, line or place, and the error; ``max_bad_records`` caps how many are tolerated.

**Resume.** The sink is a stateful module like DupeFilter (see ``commit_protocol``): its state is
the file's size and record count, snapshotted with the reader position before every batch, and
fsynced before that snapshot can be committed. A resume truncates the file to the committed size;
the records after it are met again when the reader re-reads from the committed position, so every
bad record is in the file exactly once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import orjson

from airflow_provider_ozzy.core.errors import ConfigurationError, OzzyError, PersistenceError

log = logging.getLogger("airflow_provider_ozzy.dead_letters")

_RAW_LIMIT = 10_000  # characters of a bad record's text kept in the file


@dataclass(frozen=True)
class BadRecord:
    """A record a deserializer could not read, in place of the item (deserializers with
    ``keep_bad_records`` yield it instead of raising)."""

    source: str
    line: int | None
    error: str
    raw: str


class TooManyBadRecords(OzzyError):
    """More bad records than ``max_bad_records``."""


class DeadLetterSink:
    """Appends bad records to ``path`` and counts them; resumable through get_state/set_state."""

    kind = "dead_letters"

    def __init__(self, path: str, max_bad_records: int | None) -> None:
        self.path = path
        self.max_bad_records = max_bad_records
        self.count = 0
        self._size = 0
        self._handle: IO[bytes] | None = None
        self._dirty = False

    # -- module state (see BasicExporter and commit_protocol) -------------------------------------
    def get_state(self) -> dict[str, Any]:
        if self._dirty and self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._dirty = False
        return {"path": self.path, "size": self._size, "count": self.count}

    def set_state(self, state: dict[str, Any] | None) -> None:
        """``None``: a new job, an empty file; else keep the committed part and drop the rest."""
        self.close()
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        if state is None:
            self._handle = open(self.path, "wb")  # noqa: SIM115 - kept open for the whole export
            self._size = self.count = 0
            return
        size = int(state["size"])
        if not os.path.exists(self.path) and size:
            raise PersistenceError(
                f"exporter_options: the dead-letter file {self.path} is gone, so the export cannot resume "
                "with its bad records exactly once (option 'dead_letter_file')"
            )
        self._handle = open(self.path, "ab" if os.path.exists(self.path) else "wb")  # noqa: SIM115
        self._handle.truncate(size)
        self._handle.seek(size)
        self._size, self.count = size, int(state["count"])

    def discard_state(self) -> None:
        """The export finished: make the file durable and close it (it is the export's output)."""
        self.get_state()
        self.close()

    # -- records -----------------------------------------------------------------------------------
    def add(self, record: dict[str, Any]) -> None:
        """Write one bad record (``source``, ``line`` or ``place``, ``stage``, ``error``, data)."""
        if self._handle is None:
            self.set_state(None)
        assert self._handle is not None
        self.count += 1
        if self.max_bad_records is not None and self.count > self.max_bad_records:
            raise TooManyBadRecords(
                f"exporter_options: more than max_bad_records={self.max_bad_records} bad records; "
                f"the last one: {record.get('source')} line {record.get('line')}: {record.get('error')} "
                f"(bad records so far are in {self.path})"
            )
        if self.count == 1:
            log.warning("Bad records go to %s: %s", self.path, record.get("error"))
        line = orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS) + b"\n"
        self._handle.write(line)
        self._size += len(line)
        self._dirty = True

    def add_bad_record(self, bad: BadRecord) -> None:
        self.add(
            {
                "source": bad.source,
                "line": bad.line,
                "stage": "deserializer",
                "error": bad.error,
                "record": bad.raw[:_RAW_LIMIT],
            }
        )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def attach_dead_letters(options: dict[str, Any], reader: Any, job_id: str) -> DeadLetterSink | None:
    """The sink for ``exporter_options.dead_letter_file`` (``{job_id}`` filled in), wired into a
    stream reader so its deserializer hands bad records over instead of failing."""
    template = options.get("dead_letter_file")
    if not template:
        return None
    sink = DeadLetterSink(str(template).replace("{job_id}", job_id), options.get("max_bad_records"))
    if hasattr(reader, "deserializer") and hasattr(reader, "dead_letters"):
        reader.dead_letters = sink
        reader.deserializer.keep_bad_records = True
    return sink


def isolate_bad_items(
    sink: DeadLetterSink,
    section: str,
    module: Any,
    method: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    batch: list[dict[str, Any]],
    batch_number: int,
    reader: Any,
) -> list[dict[str, Any]]:
    """Run a filter or transform on ``batch``; on a data error, run it item by item and send the
    items that fail on their own to the dead letters.

    Modules with state (DupeFilter) are never re-run item by item: their state counts calls.
    """
    try:
        return method(batch)
    except (TooManyBadRecords, ConfigurationError, PersistenceError):
        raise
    except OzzyError as error:
        if hasattr(module, "get_state"):
            raise
        whole_batch_error = error
    kept: list[dict[str, Any]] = []
    failed = 0
    stream = _current_stream(reader)
    for index, item in enumerate(batch):
        try:
            kept.extend(method([item]))
        except (TooManyBadRecords, ConfigurationError, PersistenceError):
            raise
        except OzzyError as error:
            failed += 1
            sink.add(
                {
                    "source": stream,
                    "line": None,
                    "stage": section,
                    "module": type(module).__name__,
                    "batch": batch_number,
                    "item_in_batch": index,
                    "error": str(error),
                    "record": item,
                }
            )
    if not failed:  # the batch fails, each item alone does not: not a bad record
        raise whole_batch_error
    return kept


def _current_stream(reader: Any) -> str | None:
    if getattr(reader, "last_stream", None):
        return str(reader.last_stream)
    try:
        name = reader.position_cursor().get("stream_name")
    except Exception:  # a reader without a stream position
        return None
    return str(name) if name is not None else None
