"""Which objects an object-storage reader reads: exporters' ``prefix`` / ``prefix_pointer`` /
``pattern`` / ``prefix_format_using_date`` semantics, for any store (S3, GCS, Azure Blob).

Every prefix (given, or read from the lines of the ``prefix_pointer`` object) goes through
``strftime`` for each day of the ``prefix_format_using_date`` range (default: today), day by day
as exporters did; a prefix without ``%`` codes is used as it is. Objects are listed per prefix in
the store's (lexicographic) order and kept when ``pattern`` is found in their name. Unlike
exporters, an object listed under two prefixes is read once, and names ending in ``/`` (folder
markers) are skipped.

Dates: ``YYYY-MM-DD`` (or a full ISO timestamp), ``today``, ``yesterday``, ``tomorrow``,
``N days ago``, ``N weeks ago`` (exporters used dateparser, which reads more forms); days are UTC.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_ozzy.core.options import STR_LIST, Problem
from airflow_provider_ozzy.core.stream import Stream

LISTING_OPTIONS: dict[str, dict[str, Any]] = {
    "prefix": {
        "type": (str, STR_LIST),
        "default": "",
        "help": "Key prefix, or a list of prefixes (strftime).",
    },
    "prefix_pointer": {
        "type": (str, type(None)),
        "default": None,
        "help": "Key of an object whose non-empty lines are the prefixes (not with 'prefix').",
    },
    "pattern": {
        "type": (str, type(None)),
        "default": None,
        "help": "Regular expression searched in each key; keys without a match are skipped.",
    },
    "prefix_format_using_date": {
        "type": (str, STR_LIST, type(None)),
        "default": None,
        "help": "Date, or [start, end] (inclusive), formatting the prefixes with strftime; default today.",
    },
}

_RELATIVE = re.compile(r"^\s*(\d+)\s+(day|days|week|weeks)\s+ago\s*$", re.IGNORECASE)
_NAMED = {"today": 0, "yesterday": -1, "tomorrow": 1}

# lists (name, size, meta) under a prefix, in order
ListPrefix = Callable[[str], Iterable[tuple[str, int | None, Any]]]


def parse_date(text: str, today: datetime.date | None = None) -> datetime.date:
    """One date of ``prefix_format_using_date``; ``ValueError`` with a readable message."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    cleaned = text.strip().lower()
    if cleaned in _NAMED:
        return today + datetime.timedelta(days=_NAMED[cleaned])
    relative = _RELATIVE.match(cleaned)
    if relative:
        days = int(relative[1]) * (7 if relative[2].startswith("week") else 1)
        return today - datetime.timedelta(days=days)
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        pass
    try:
        return datetime.datetime.fromisoformat(text.strip()).date()
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date (use YYYY-MM-DD, today, yesterday, tomorrow, 'N days ago', 'N weeks ago')"
        ) from None


def date_range(value: str | list[str] | None, today: datetime.date | None = None) -> list[datetime.date]:
    """Every day from start to end, inclusive."""
    if value is None or isinstance(value, str):
        start = end = parse_date(value or "today", today)
    else:
        if len(value) != 2:
            raise ValueError("must be a date or a list of two dates [start, end]")
        start, end = parse_date(value[0], today), parse_date(value[1], today)
    if start > end:
        raise ValueError(f"the end date {end} should be greater or equal to the start date {start}")
    return [start + datetime.timedelta(days=offset) for offset in range((end - start).days + 1)]


def listing_problems(values: dict[str, Any]) -> list[Problem]:
    problems = []
    prefixes = values["prefix"] if isinstance(values["prefix"], list) else [values["prefix"]]
    if values["prefix_pointer"] is not None and any(prefixes):
        problems.append(Problem("prefix", "options 'prefix' and 'prefix_pointer' cannot be used together"))
    if values["prefix_pointer"] is not None and not values["prefix_pointer"]:
        problems.append(Problem("prefix_pointer", "option 'prefix_pointer' must name a key"))
    if values["pattern"]:
        try:
            re.compile(values["pattern"])
        except re.error as error:
            problems.append(
                Problem("pattern", f"option 'pattern' is not a valid regular expression ({error})")
            )
    try:
        date_range(values["prefix_format_using_date"])
    except ValueError as error:
        problems.append(Problem("prefix_format_using_date", f"option 'prefix_format_using_date': {error}"))
    return problems


class PrefixListing:
    """The streams a reader's listing options select, for a store given as two functions.

    :param values: the reader's resolved options (``LISTING_OPTIONS``).
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def prefixes(self, read_pointer: Callable[[str], bytes]) -> list[str]:
        """Every prefix to list, formatted with every date, in exporters' (date-major) order."""
        pointer = self.values["prefix_pointer"]
        if pointer is not None:
            lines = read_pointer(pointer).decode("utf-8").splitlines()
            raw = [line.strip() for line in lines if line.strip()]
        else:
            given = self.values["prefix"]
            raw = given if isinstance(given, list) else [given]
        dates = date_range(self.values["prefix_format_using_date"])
        formatted = [day.strftime(prefix) if "%" in prefix else prefix for day in dates for prefix in raw]
        return list(dict.fromkeys(formatted))

    def streams(self, list_prefix: ListPrefix, read_pointer: Callable[[str], bytes]) -> list[Stream]:
        pattern = re.compile(self.values["pattern"]) if self.values["pattern"] else None
        found: dict[str, Stream] = {}
        for prefix in self.prefixes(read_pointer):
            for name, size, meta in list_prefix(prefix):
                if name.endswith("/") or name in found:
                    continue
                if pattern is not None and not pattern.search(name):
                    continue
                found[name] = Stream(name, size, meta)
        return list(found.values())
