"""Items of a Scrapy Cloud collection, in key order; the position is the last key scanned.

The next run of an incremental job (``XComPersistence``, ``exporter_options.incremental``) reads
every item written since the last run started, wherever its key sorts, and not the versions that
run already read; an item written again is a new version and is exported again.

A collection is a sorted key-value store, so ``startafter=<last key>`` continues exactly where a
batch ended: that key is the whole position (exporters' ``{"last_key": ...}``; a plain string is
accepted as the legacy form). ``startts``/``endts`` given as dates are turned into milliseconds once,
when the job starts, and kept in the position, so a resume on another day filters alike.

``secondary_collections`` are merged as exporters' collection scanner did: each item of the main
collection gets the fields of the item with the same key in each secondary collection (in order,
later ones win), ``_ts`` being the newest; keys only in a secondary collection are ignored, and a
secondary collection that does not exist is skipped with a warning. ``endts`` is applied to the
merged ``_ts``. Items carry ``_key`` (not ``_ts``), as in exporters.
"""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_ozzy.core.errors import ConfigurationError, OzzyError, ReaderError
from airflow_provider_ozzy.core.options import STR_LIST, Problem
from airflow_provider_ozzy.readers.base_reader import BaseReader, batch_size_option
from airflow_provider_ozzy.services.scrapy_cloud import (
    CollectionAccess,
    connection_options,
    connection_problems,
    name_problem,
    project_id_option,
    to_millis,
)

CLOCK_MARGIN_MS = 300_000  # the next run also looks at items written up to 5 minutes before the last run
PAGE = 1000  # records per request at most (the service streams; smaller pages retry cheaper)
_AFTER_PREFIX = "\U0010ffff"  # greater than any key starting with a prefix: skips an excluded prefix


class HubstorageReader(BaseReader):
    """Reads collection ``collection_name`` of project ``project_id`` (with prefixes, time range, count)."""

    supported_options = {
        **connection_options(),
        "batch_size": batch_size_option(10000),
        "project_id": project_id_option(),
        "collection_name": {"type": str, "help": "Store collection to read."},
        "count": {
            "type": int,
            "minimum": 0,
            "maximum": 2**63 - 1,
            "default": 0,
            "help": "Read at most this many items (0: all).",
        },
        "prefixes": {"type": STR_LIST, "default": [], "help": "Only keys starting with one of these."},
        "exclude_prefixes": {"type": STR_LIST, "default": [], "help": "Skip keys starting with these."},
        "secondary_collections": {
            "type": STR_LIST,
            "default": [],
            "help": "Collections whose items (same key) are merged into each item.",
        },
        "startts": {
            "type": (int, str, type(None)),
            "minimum": 0,
            "maximum": 253402300799999,
            "default": None,
            "help": "Only items written at or after: ms since the epoch, ISO date/time (UTC), 'N days ago'.",
        },
        "endts": {
            "type": (int, str, type(None)),
            "minimum": 0,
            "maximum": 253402300799999,
            "default": None,
            "help": "Only items written before: ms since the epoch, ISO date/time (UTC), 'N days ago'.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.last_key: str | None = None
        self.run_started = (
            0  # ms since the epoch: the next run of an incremental job reads items written since
        )
        self.seen: dict[str, int] = {}  # key -> _ts of items read that were written lately
        self.skip: dict[str, int] = {}  # the ``seen`` of the last run: versions already exported
        self.startts: int | None = None
        self.endts: int | None = None
        self.access: CollectionAccess | None = None
        self.secondary: list[CollectionAccess] = []

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = connection_problems(values)
        for option in ("batch_size",):
            if values[option] <= 0:
                problems.append(Problem(option, f"option '{option}' must be positive"))
        if values["count"] < 0:
            problems.append(Problem("count", "option 'count' must be 0 (all) or positive"))
        for option in ("startts", "endts"):
            try:
                to_millis(values[option], option)
            except ValueError as error:
                problems.append(Problem(option, str(error)))
        names = [("collection_name", values["collection_name"])]
        names += [("secondary_collections", name) for name in values["secondary_collections"]]
        problems.extend(problem for option, name in names if (problem := name_problem(option, name)))
        if not str(values["project_id"]).isdigit():
            problems.append(
                Problem("project_id", f"option 'project_id' must be a number, got {values['project_id']!r}")
            )
        return problems

    @property
    def label(self) -> str:
        return f"{self.kind} {type(self).__name__}"

    def open(self, position: dict[str, Any] | str | None) -> None:
        if isinstance(position, str):  # exporters' legacy position
            position = {"last_key": position}
        position = position or {}
        try:
            self.startts = position.get("startts", to_millis(self.options["startts"], "startts"))
            self.endts = position.get("endts", to_millis(self.options["endts"], "endts"))
        except ValueError as error:
            raise ConfigurationError(f"{self.label}: {error}") from None
        if position.get("scan_finished"):
            self._continue_after(position)
        else:
            self.last_key = position.get("last_key") or None
            self.run_started = int(position.get("run_started") or time.time() * 1000)
            self.seen = dict(position.get("seen") or {})
            self.skip = dict(position.get("skip") or {})
        self.finished = self._limit_reached()
        self.access = CollectionAccess(
            self.label, self.options, self.options["project_id"], self.options["collection_name"]
        )
        try:
            if not self.access.exists():
                raise ReaderError(f"{self.label}: {self.access.where} does not exist (or is empty)")
            for name in self.options["secondary_collections"]:
                if self.access.exists(name):
                    self.secondary.append(self.access.sibling(name))
                else:
                    self.log.warning(
                        "%s: secondary collection '%s' does not exist; skipped", self.label, name
                    )
        except ReaderError:
            raise
        except OzzyError as error:
            raise ReaderError(str(error)) from None

    def _continue_after(self, finished: dict[str, Any]) -> None:
        """The next run of an incremental job: every item written since the last run started.

        A collection is scanned in key order, so items written during a scan before its cursor are
        not seen by it, and new keys may sort anywhere: the next run scans from the start again,
        only items written since the last run started (``_ts``, with ``CLOCK_MARGIN_MS`` for clock
        differences), and skips the ones that run read in the same version (``seen``).
        """
        self.last_key = None
        since = int(finished["run_started"]) - CLOCK_MARGIN_MS
        self.startts = max(self.startts or 0, since)
        self.run_started = int(time.time() * 1000)
        self.skip = dict(finished.get("seen") or {})
        self.seen = {}

    def _limit_reached(self) -> bool:
        count = self.options["count"]
        return bool(count) and self.read_items >= count

    def get_next_batch(self) -> list[dict[str, Any]]:
        assert self.access is not None, "open() first"
        batch: list[dict[str, Any]] = []
        try:
            while not self.finished and len(batch) < self.options["batch_size"]:
                self._read_page(batch)
        except ReaderError:
            raise
        except OzzyError as error:
            raise ReaderError(str(error)) from None
        self.read_items += len(batch)
        return batch

    def _wanted(self, batch: list[dict[str, Any]]) -> int:
        wanted = min(PAGE, self.options["batch_size"] - len(batch))
        if self.options["count"]:
            wanted = min(wanted, self.options["count"] - self.read_items - len(batch))
        return wanted

    def _read_page(self, batch: list[dict[str, Any]]) -> None:
        """Read one page after ``last_key`` into ``batch``; sets ``finished`` at the end."""
        assert self.access is not None
        wanted = self._wanted(batch)
        if wanted <= 0:
            self.finished = True
            return
        prefixes = self.options["prefixes"] or None
        records = self.access.page(
            startafter=self.last_key,
            count=wanted,
            prefix=prefixes,
            startts=self.startts,
            endts=self.endts,
            meta=["_key", "_ts"],
        )
        merged = self._merge_secondary(records, prefixes) if self.secondary else records
        for record in merged:
            key = record["_key"]
            excluded = next((p for p in self.options["exclude_prefixes"] if key.startswith(p)), None)
            if excluded is not None:
                self.last_key = excluded + _AFTER_PREFIX  # skip the rest of that prefix at once
                if len(records) >= wanted:
                    return  # read on from after the excluded prefix
                continue
            self.last_key = key
            ts = record.pop("_ts", None)
            if self.endts is not None and ts is not None and ts >= self.endts:
                continue
            if ts is not None and ts >= self.run_started - CLOCK_MARGIN_MS:
                self.seen[key] = ts  # written lately: the next run sees it again, and skips it
                if self.skip.get(key) == ts:
                    continue  # the last run read this very version
            batch.append(record)
        if len(records) < wanted:
            self.finished = True
        elif self._limit_reached_with(batch):
            self.finished = True

    def _limit_reached_with(self, batch: list[dict[str, Any]]) -> bool:
        count = self.options["count"]
        return bool(count) and self.read_items + len(batch) >= count

    def _merge_secondary(
        self, records: list[dict[str, Any]], prefixes: list[str] | None
    ) -> list[dict[str, Any]]:
        """Merge-join: each secondary collection is read over the same key range as the page."""
        if not records:
            return records
        last = records[-1]["_key"]
        by_key = {record["_key"]: record for record in records}
        for secondary in self.secondary:
            after = self.last_key
            while True:
                found = secondary.page(startafter=after, count=PAGE, prefix=prefixes, meta=["_key", "_ts"])
                for extra in found:
                    key = extra.pop("_key")
                    if key > last:
                        break
                    record = by_key.get(key)
                    if record is not None:
                        ts = extra.pop("_ts", None)
                        record.update(extra)
                        if ts is not None and (record.get("_ts") is None or ts > record["_ts"]):
                            record["_ts"] = ts
                    after = key
                else:
                    if len(found) == PAGE:
                        continue
                break
        return records

    def get_last_position(self) -> dict[str, Any]:
        position: dict[str, Any] = {"last_key": self.last_key, "run_started": self.run_started}
        if self.startts is not None:
            position["startts"] = self.startts
        if self.endts is not None:
            position["endts"] = self.endts
        if self.seen:
            position["seen"] = dict(self.seen)
        if self.skip:
            position["skip"] = self.skip
        if self.finished:
            position["scan_finished"] = True
        return position
