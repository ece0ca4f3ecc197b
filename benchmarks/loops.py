"""Baseline loops measured in the same run as Ozzy: the *limit* (best libraries, one thread), *plain*
and the *two-thread* loops (the two-core ceiling).

All do the same work as the FS->FS JSON lines gzip export: read gzip lines, parse every item,
serialise it again and write gzip at the same level as Ozzy's default (6), or, for the isal
two-thread loops, at an isal level (0-3).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import queue
import sys
import threading
import zlib
from collections.abc import Callable
from typing import Any

import orjson
from isal import isal_zlib

LEVEL = 6
BATCH = 10000


def limit_loop(source: str, target: str) -> int:
    """orjson + zlib, batched writes: what a careful hand-written single-threaded loop does."""
    return _batched_loop(source, target, lambda batch: [orjson.dumps(orjson.loads(line)) for line in batch])


def _batched_loop(
    source: str,
    target: str,
    render: Callable[[list[bytes]], list[bytes]],
    head: bytes = b"",
    tail: bytes = b"",
) -> int:
    """The limit loops' frame: gzip lines read ``BATCH`` at a time, each batch rendered (one line per
    item) and compressed with one call, ``head`` and ``tail`` around them; returns the item count."""
    count = 0
    with gzip.open(source, "rb") as lines, open(target, "wb") as raw:
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
        raw.write(compressor.compress(head))
        while batch := list(itertools.islice(lines, BATCH)):
            count += len(batch)
            raw.write(compressor.compress(b"\n".join(render(batch)) + b"\n"))
        raw.write(compressor.compress(tail))
        raw.write(compressor.flush())
    return count


def two_thread_loop(source: str, target: str, engine: str = "zlib", level: int = LEVEL) -> int:
    """orjson on the main thread, compression and writes on a second one, batches of ``BATCH``.

    What a user with two cores writes by hand: zlib (and isal) release the GIL while they compress,
    so parsing and formatting the next batch overlaps compressing this one. ``engine`` is ``zlib``
    or ``isal`` (``isal.isal_zlib``, levels 0-3); both write one standard gzip member.
    """
    compressor: Any = (zlib if engine == "zlib" else isal_zlib).compressobj(level, zlib.DEFLATED, 31)
    batches: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    count = 0
    with gzip.open(source, "rb") as lines, open(target, "wb") as raw:

        def compress_all() -> None:
            while (data := batches.get()) is not None:
                raw.write(compressor.compress(data))
            raw.write(compressor.flush())

        thread = threading.Thread(target=compress_all)
        thread.start()
        try:
            while batch := list(itertools.islice(lines, BATCH)):
                count += len(batch)
                batches.put(b"\n".join([orjson.dumps(orjson.loads(line)) for line in batch]) + b"\n")
        finally:
            batches.put(None)
            thread.join()
    return count


def plain_loop(source: str, target: str) -> int:
    """Standard library only: json and gzip, one write per item."""
    count = 0
    with (
        gzip.open(source, "rt", encoding="utf-8") as lines,
        gzip.open(target, "wt", compresslevel=LEVEL, encoding="utf-8") as out,
    ):
        for line in lines:
            out.write(json.dumps(json.loads(line)) + "\n")
            count += 1
    return count


def limit_csv_loop(source: str, target: str, fields: list[str]) -> int:
    """The limit loop doing CSV formatting with the csv module (nested values as JSON text)."""
    count = 0
    with gzip.open(source, "rb") as lines, open(target, "wb") as raw:
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerow(fields)
        for line in lines:
            item = orjson.loads(line)
            row = []
            for field in fields:
                value = item.get(field)
                if isinstance(value, (dict, list)):
                    value = orjson.dumps(value).decode()
                elif isinstance(value, bool):
                    value = "true" if value else "false"
                row.append("" if value is None else value)
            writer.writerow(row)
            count += 1
            if count % BATCH == 0:
                raw.write(compressor.compress(text.getvalue().encode()))
                text.seek(0)
                text.truncate()
        raw.write(compressor.compress(text.getvalue().encode()))
        raw.write(compressor.flush())
    return count


def _xml_value(key: str, value: object) -> str:
    from xml.sax.saxutils import escape

    if value is None:
        return f'<{key} type="null"></{key}>'
    if isinstance(value, bool):
        return f'<{key} type="bool">{"true" if value else "false"}</{key}>'
    if isinstance(value, dict):
        inner = "".join(_xml_value(k, v) for k, v in value.items())
        return f'<{key} type="dict">{inner}</{key}>'
    if isinstance(value, list):
        inner = "".join(_xml_value("item", v) for v in value)
        return f'<{key} type="list">{inner}</{key}>'
    kind = {int: "int", float: "float"}.get(type(value), "str")
    return f'<{key} type="{kind}">{escape(str(value))}</{key}>'


def limit_xml_loop(source: str, target: str) -> int:
    """The limit loop writing the same typed XML as Ozzy's XMLExportFormatter, by hand."""

    def render(batch: list[bytes]) -> list[bytes]:
        items = map(orjson.loads, batch)
        return [
            ("<item>" + "".join(_xml_value(k, v) for k, v in item.items()) + "</item>").encode()
            for item in items
        ]

    return _batched_loop(
        source, target, render, head=b'<?xml version="1.0" encoding="UTF-8"?>\n<root>\n', tail=b"</root>"
    )


if __name__ == "__main__":
    # loops.py limit|plain SOURCE TARGET, or loops.py two-thread SOURCE TARGET [zlib|isal LEVEL]
    if sys.argv[1] == "two-thread":
        engine, level = (sys.argv[4], int(sys.argv[5])) if len(sys.argv) > 5 else ("zlib", LEVEL)
        print(two_thread_loop(sys.argv[2], sys.argv[3], engine, level))
    else:
        loops = {"limit": limit_loop, "plain": plain_loop}
        print(loops[sys.argv[1]](sys.argv[2], sys.argv[3]))
