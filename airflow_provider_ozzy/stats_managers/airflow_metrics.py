"""Airflow metrics (StatsD/OpenTelemetry through ``Stats``) for a running export, tagged with dag and task.

Counters are increments: each try sends only the work it did. A try that resumes a job starts from
the counters the job had committed (``start``), so the sums over all tries are the job's totals.
"""

from __future__ import annotations

from typing import Any

COUNTERS = ("items_read", "items_written", "files_written", "bytes_written")


class AirflowMetrics:
    """Counters after every batch, gauges and a timing at the end. Metric names start with ``ozzy.``."""

    def __init__(self, tags: dict[str, str]) -> None:
        from airflow.providers.common.compat.sdk import Stats

        self.stats = Stats
        self.tags = tags
        self._sent: dict[str, int] = {}

    def start(self, counters: dict[str, Any]) -> None:
        """The job's counters before this run (non-zero when it resumes): not this run's work."""
        self._sent = {name: int(counters.get(name, 0)) for name in COUNTERS}

    def batch(self, timings: dict[str, float], counters: dict[str, Any]) -> None:
        for name in COUNTERS:
            value = int(counters.get(name, 0))
            delta = value - self._sent.get(name, 0)
            if delta:
                self.stats.incr(f"ozzy.{name}", delta, tags=self.tags)
                self._sent[name] = value
        for stage, seconds in timings.items():
            self.stats.timing(f"ozzy.stage.{stage}", seconds * 1000.0, tags=self.tags)

    def final(self, stats: dict[str, Any]) -> None:
        self.batch({}, stats)
        for name in COUNTERS:
            self.stats.gauge(f"ozzy.export.{name}", stats.get(name, 0), tags=self.tags)
        self.stats.timing(
            "ozzy.export.duration", float(stats.get("elapsed_seconds", 0)) * 1000.0, tags=self.tags
        )
