"""Drop items whose key was already seen, in bounded memory and exactly across resumes.

**Memory.** Seen keys live in a SQLite file (``store_path``; by default a file in the temporary
folder named after the job, so a run killed before its first commit leaves no orphan), not in a
Python set: memory is bounded by SQLite's page cache (``cache_mb``), whatever the number of keys. The file stores a 64-bit BLAKE2b hash of each key's JSON text, about 20 bytes
per key on disk. Two different keys with the same hash would make the second look like a
duplicate: with ``n`` keys already seen, a new key is wrongly dropped with probability ``n / 2**64``
(5e-13 after 10 million keys; below 3e-6 over a whole export of 10 million keys).

**Resume.** Every row records which call of ``filter_batch`` (which batch) added it (no index on
it: only a resume deletes by batch, with one scan). The filter's
state (``get_state``) is the number of batches it has processed and the file's path, which the
exporter commits with the reader position (see ``commit_protocol``). A resume re-reads from the
committed position, so ``set_state`` deletes the rows of the batches after it: the filter then
decides exactly as an uninterrupted run would. Rows are committed (WAL, ``synchronous=FULL``) before
the exporter commits its position, so a committed state never refers to rows that are not on disk.
The file must outlive the process to resume: put ``store_path`` on lasting (for Airflow retries on
other workers, shared) storage. The default file is removed when the export finishes.

Keys are compared by JSON text, so ``5`` and ``"5"`` differ and object keys can be anything JSON.
Items without the key (missing, null or empty) are kept, as in exporters.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from typing import Any

import orjson

from airflow_provider_ozzy.core.errors import PersistenceError
from airflow_provider_ozzy.core.fields import MISSING, field_getter
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.filters.base_filter import BaseFilter

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_LOOKUP_CHUNK = 900  # host parameters per SELECT, under every SQLite build's limit


def key_hash(value: Any) -> int:
    """A signed 64-bit hash of a key's JSON text (SQLite's INTEGER range); ``5`` and ``"5"`` differ.

    An integer key that fits is its own hash (a collision with a text's hash is as likely as any).
    """
    if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
        return value
    if isinstance(value, str):
        data = b"s" + value.encode("utf-8", "surrogatepass")
    else:
        try:
            data = b"j" + orjson.dumps(
                value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str
            )
        except TypeError:  # integers beyond 64 bits
            data = b"j" + json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


class DupeFilter(BaseFilter):
    """Keep the first item of every ``key_field`` value; drop the later ones."""

    supported_options = {
        "key_field": {
            "type": str,
            "default": "_key",
            "help": "Field whose value identifies an item (dotted for nested).",
        },
        "nested_field_separator": {"type": str, "default": ".", "help": "Separator of nested field names."},
        "store_path": {
            "type": (str, type(None)),
            "default": None,
            "help": "SQLite file of seen keys (default: a file named after the job in the temporary folder, removed at the end).",
        },
        "cache_mb": {
            "type": int,
            "minimum": 1,
            "maximum": 1_048_576,
            "default": 16,
            "help": "Memory SQLite may use for its page cache, in MB.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._getter = field_getter(self.options["key_field"], self.options["nested_field_separator"])
        self._connection: sqlite3.Connection | None = None
        self._path: str | None = None
        self._temporary = False
        self._job_key: str | None = None
        self._batches = 0  # filter_batch calls so far in this job (restored on resume)
        self.without_key = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if not values["key_field"]:
            problems.append(Problem("key_field", "option 'key_field' must not be empty"))
        if values["cache_mb"] <= 0:
            problems.append(Problem("cache_mb", "option 'cache_mb' must be positive"))
        return problems

    # -- module state (see BasicExporter and commit_protocol) ------------------------------------
    def bind_job(self, job_key: str) -> None:
        """Name the default store after the job, so a run killed before its first commit leaves no
        orphan: the next start of the same job reuses (and empties) the same file."""
        self._job_key = job_key

    def get_state(self) -> dict[str, Any]:
        if self._path is None:
            self._open_fresh()
        return {"store": self._path, "batches": self._batches}

    def set_state(self, state: dict[str, Any] | None) -> None:
        """``None``: a new job (an empty store); else resume at ``state`` (drop later rows)."""
        self._disconnect()
        if state is None:
            self._open_fresh()
            return
        path = state["store"]
        if not os.path.exists(path):
            raise PersistenceError(
                f"{self.kind} {type(self).__name__}: the store of seen keys {path} is gone, so the export "
                "cannot resume exactly; set option 'store_path' to a lasting place"
            )
        self._path, self._batches = path, int(state["batches"])
        self._temporary = self.options["store_path"] is None
        connection = self._connect(path)
        connection.execute("DELETE FROM seen WHERE batch >= ?", (self._batches,))
        connection.commit()

    def discard_state(self) -> None:
        """The export finished: the default store is no longer needed."""
        path, temporary = self._path, self._temporary
        self._disconnect()
        if temporary and path:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
        self._path = None

    def _open_fresh(self) -> None:
        path = self.options["store_path"]
        self._temporary = path is None
        if path is None and self._job_key is not None:
            digest = hashlib.sha256(self._job_key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
            path = os.path.join(tempfile.gettempdir(), f"ozzy-dupes-{digest}.sqlite")
        elif path is None:
            handle, path = tempfile.mkstemp(prefix="ozzy-dupes-", suffix=".sqlite")
            os.close(handle)
        else:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._path, self._batches = path, 0
        connection = self._connect(path)
        connection.execute("DELETE FROM seen")
        connection.commit()

    def _connect(self, path: str) -> sqlite3.Connection:
        connection = sqlite3.connect(path, isolation_level="DEFERRED")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(f"PRAGMA cache_size=-{int(self.options['cache_mb']) * 1024}")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS seen (hash INTEGER PRIMARY KEY, batch INTEGER NOT NULL)"
        )
        connection.commit()
        self._connection = connection
        return connection

    # -- filtering --------------------------------------------------------------------------------
    def filter_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self._connection is None:
            if self._path is None:
                self._open_fresh()
            else:
                self._connect(self._path)
        connection = self._connection
        assert connection is not None
        getter = self._getter
        hashes: list[int | None] = []
        for item in batch:
            value = getter(item)
            if value is MISSING or value is None or value == "":
                hashes.append(None)
                self._warn_without_key()
            else:
                hashes.append(key_hash(value))
        known = self._known({value for value in hashes if value is not None})
        kept = []
        added: dict[int, None] = {}
        for item, value in zip(batch, hashes, strict=True):
            if value is None:
                kept.append(item)
            elif value not in known and value not in added:
                added[value] = None
                kept.append(item)
        if added:
            number = self._batches
            connection.executemany(
                "INSERT INTO seen (hash, batch) VALUES (?, ?)", [(value, number) for value in added]
            )
            connection.commit()
        self._batches += 1
        self.total += len(batch)
        self.filtered_out += len(batch) - len(kept)
        return kept

    def _known(self, candidates: set[int]) -> set[int]:
        assert self._connection is not None
        found: set[int] = set()
        pending = list(candidates)
        for start in range(0, len(pending), _LOOKUP_CHUNK):
            chunk = pending[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._connection.execute(f"SELECT hash FROM seen WHERE hash IN ({marks})", chunk)
            found.update(row[0] for row in rows)
        return found

    def _warn_without_key(self) -> None:
        self.without_key += 1
        if self.without_key == 1:
            self.log.warning(
                "DupeFilter: an item has no %r value; items without a key are kept (counted in the final log)",
                self.options["key_field"],
            )

    def filter(self, item: dict[str, Any]) -> bool:
        """One item as a batch of its own (the export loop always calls ``filter_batch``)."""
        return bool(self.filter_batch([item]))

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        self._disconnect()
        if self.without_key:
            self.log.warning(
                "DupeFilter: %d item(s) had no %r value and were kept",
                self.without_key,
                self.options["key_field"],
            )
            self.without_key = 0
