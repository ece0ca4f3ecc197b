"""Progress of a running export: a bar on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

# where a running export keeps its latest counters in the task state store (visible progress)
PROGRESS_KEY = "progress"
log = logging.getLogger("airflow_provider_ozzy.progress")
BAR_WIDTH = 30  # at most; narrower when the terminal has no room for it beside the counters
MIN_BAR_WIDTH = 10
# room kept for the terse counters beside the bar: "1,234,567 read, 1,234,567 written, 123,456/s, 45%, ETA 0:01:02"
TYPICAL_TEXT = 56


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def describe(update: dict[str, Any], terse: bool = False) -> str:
    """``12,345 items read, 12,000 written, 4,321 items/s, 45%, ETA 0:00:12``; ``terse`` (beside
    a bar on a terminal line): ``12,345 read, 12,000 written, 4,321/s, 45%, ETA 0:00:12``."""
    elapsed = max(update.get("elapsed_seconds", 0.0), 1e-9)
    if "objects_total" in update:  # a bypass moves objects, not items
        text = f"{update.get('files_written', 0):,} of {update['objects_total']:,} objects copied"
        text += f", {update.get('bytes_written', 0):,} bytes"
        return text + (f", {update['fraction']:.0%}" if update.get("fraction") else "")
    read = update.get("items_read", 0)
    rate = read / elapsed
    items = "" if terse else " items"
    text = f"{read:,}{items} read, {update.get('items_written', 0):,} written, {rate:,.0f}{items}/s"
    fraction = update.get("fraction")
    if fraction:
        remaining = elapsed * (1 - fraction) / fraction
        text += f", {fraction:.0%}, ETA {_duration(remaining)}"
    return text


def terminal_columns(stream: TextIO) -> int:
    """Columns of the terminal ``stream`` shows on: ``COLUMNS`` when set, else the stream's own
    terminal (standard output may be a pipe while the bar goes to standard error), else
    ``shutil.get_terminal_size``'s answer (80 where nothing knows; a terminal without a size says 0)."""
    if not os.environ.get("COLUMNS"):
        with contextlib.suppress(AttributeError, ValueError, OSError, io.UnsupportedOperation):
            columns = os.get_terminal_size(stream.fileno()).columns
            if columns > 0:
                return columns
    return shutil.get_terminal_size().columns


def fit_bar(update: dict[str, Any], columns: int) -> str:
    """``[#####-----] counters`` in ``columns - 1`` characters, padded so it hides the longer line
    it overwrites; the last column stays free, where a terminal would wrap. The bar's width depends
    on the terminal only, so it does not jump while the counters grow; counters too long for the
    line are cut."""
    width = max(columns - 1, 1)
    room = min(BAR_WIDTH, width - TYPICAL_TEXT - 3)  # "[", "] "
    text = describe(update, terse=True)
    if room >= MIN_BAR_WIDTH:
        filled = int((update.get("fraction") or 0.0) * room)
        text = f"[{'#' * filled}{'-' * (room - filled)}] {text}"
    return text[:width].ljust(width)


class ProgressPrinter:
    """Callable given to the exporter; throttles its output.

    On a terminal it redraws one line in place; while it does, every log record ends that line
    first (``keep_logs_apart``), so a log line never starts glued to the bar.
    """

    def __init__(self, stream: TextIO | None = None, interval: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if interval is not None else (0.1 if self.tty else 10.0)
        self._last: float | None = None
        self._drawn = False  # a bar is on the screen, its line not ended yet
        self._lock = threading.Lock()  # delivery threads log while the export thread draws
        self._factory: Callable[..., logging.LogRecord] | None = None  # ours, while installed
        self._previous_factory: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def __call__(self, update: dict[str, Any]) -> None:
        now = time.monotonic()
        done = update.get("done", False)
        if not done and self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        if not self.tty:
            log.info("Progress: %s", describe(update))
            return
        with self._lock:
            self.stream.write("\r" + fit_bar(update, terminal_columns(self.stream)))
            self._drawn = not done
            if done:
                self.stream.write("\n")
            self.stream.flush()

    def end_line(self) -> None:
        """Ends a drawn bar's line, so what is written next starts on a line of its own."""
        with self._lock:
            if self._drawn:
                self._drawn = False
                self.stream.write("\n")
                self.stream.flush()

    def keep_logs_apart(self) -> None:
        """Ends the bar's line before every log record is made, whichever handler prints it: a
        handler's filter would not do, since Airflow replaces the root handlers when a module first
        resolves a connection. ``close`` undoes it."""
        if not self.tty or self._factory is not None:
            return
        make_record = logging.getLogRecordFactory()

        def end_line_first(*args: Any, **kwargs: Any) -> logging.LogRecord:
            if self._factory is end_line_first:  # until close
                self.end_line()
            return make_record(*args, **kwargs)

        self._factory, self._previous_factory = end_line_first, make_record
        logging.setLogRecordFactory(end_line_first)

    def close(self) -> None:
        self.end_line()
        if self._factory is not None and logging.getLogRecordFactory() is self._factory:
            logging.setLogRecordFactory(self._previous_factory)
        # else a later factory (log masking) calls ours: it stays, doing nothing
        self._factory = None
