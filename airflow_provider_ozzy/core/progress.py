"""Progress of a running export: a bar on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

# where a running export keeps its latest counters in the task state store (visible progress)
PROGRESS_KEY = "progress"
log = logging.getLogger("airflow_provider_ozzy.progress")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def describe(update: dict[str, Any]) -> str:
    """``12,345 items read, 12,000 written, 4,321 items/s, 45%, ETA 0:00:12``."""
    elapsed = max(update.get("elapsed_seconds", 0.0), 1e-9)
    if "objects_total" in update:  # a bypass moves objects, not items
        text = f"{update.get('files_written', 0):,} of {update['objects_total']:,} objects copied"
        text += f", {update.get('bytes_written', 0):,} bytes"
        return text + (f", {update['fraction']:.0%}" if update.get("fraction") else "")
    read = update.get("items_read", 0)
    rate = read / elapsed
    text = f"{read:,} items read, {update.get('items_written', 0):,} written, {rate:,.0f} items/s"
    fraction = update.get("fraction")
    if fraction:
        remaining = elapsed * (1 - fraction) / fraction
        text += f", {fraction:.0%}, ETA {_duration(remaining)}"
    return text


class ProgressPrinter:
    """Callable given to the exporter; throttles its output."""

    def __init__(self, stream: TextIO | None = None, interval: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if interval is not None else (0.1 if self.tty else 10.0)
        self._last: float | None = None

    def __call__(self, update: dict[str, Any]) -> None:
        now = time.monotonic()
        done = update.get("done", False)
        if not done and self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        if self.tty:
            fraction = update.get("fraction") or 0.0
            filled = int(fraction * 30)
            bar = "#" * filled + "-" * (30 - filled)
            self.stream.write(f"\r[{bar}] {describe(update)}   ")
            if done:
                self.stream.write("\n")
            self.stream.flush()
        else:
            log.info("Progress: %s", describe(update))
