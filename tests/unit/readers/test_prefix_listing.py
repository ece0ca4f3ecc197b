"""Object-store listing semantics (prefixes, pointer, pattern, dates) with an in-memory store."""

from __future__ import annotations

import datetime

import pytest

from airflow_provider_ozzy.services.prefix_listing import PrefixListing, date_range, parse_date

TODAY = datetime.date(2026, 3, 1)
STORE = {
    "logs/2026-02-27/a": 1,
    "logs/2026-02-28/b": 2,
    "logs/2026-03-01/c": 3,
    "logs/2026-03-01/": 0,
    "misc/d.jl.gz": 4,
    "misc/e.txt": 5,
}


def list_prefix(prefix: str):
    return [(name, size, None) for name, size in sorted(STORE.items()) if name.startswith(prefix)]


def names(**values) -> list[str]:
    options = {
        "prefix": "",
        "prefix_pointer": None,
        "pattern": None,
        "prefix_format_using_date": None,
        **values,
    }
    streams = PrefixListing(options).streams(list_prefix, lambda key: b"misc/\n\nlogs/2026-02-27/\n")
    return [stream.name for stream in streams]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", TODAY),
        ("Yesterday", datetime.date(2026, 2, 28)),
        ("tomorrow", datetime.date(2026, 3, 2)),
        ("3 days ago", datetime.date(2026, 2, 26)),
        ("1 week ago", datetime.date(2026, 2, 22)),
        ("2026-01-31", datetime.date(2026, 1, 31)),
        ("2026-01-31T23:59:00", datetime.date(2026, 1, 31)),
    ],
)
def test_dates(text, expected):
    assert parse_date(text, TODAY) == expected


def test_date_ranges_are_inclusive_and_ordered():
    assert date_range(["2026-02-27", "2026-03-01"], TODAY) == [
        datetime.date(2026, 2, d) for d in (27, 28)
    ] + [TODAY]
    assert date_range(None, TODAY) == [TODAY]
    with pytest.raises(ValueError, match="greater or equal"):
        date_range(["today", "yesterday"], TODAY)


def test_listing_options():
    assert names(prefix="misc/") == ["misc/d.jl.gz", "misc/e.txt"]
    assert names(prefix=["misc/", "logs/2026-03-01/"], pattern=r"\.txt$|/c$") == [
        "misc/e.txt",
        "logs/2026-03-01/c",
    ]
    assert names(prefix_pointer="pointer") == ["misc/d.jl.gz", "misc/e.txt", "logs/2026-02-27/a"]
    assert names(prefix="logs/%Y-%m-%d/", prefix_format_using_date=["2026-02-27", "2026-02-28"]) == [
        "logs/2026-02-27/a",
        "logs/2026-02-28/b",
    ]
    assert names(prefix=["logs/", "logs/2026"]) == [
        "logs/2026-02-27/a",
        "logs/2026-02-28/b",
        "logs/2026-03-01/c",
    ]
