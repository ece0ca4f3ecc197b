"""Logs, after every batch, the seconds each pipeline stage took (as one JSON object)."""

from __future__ import annotations

from typing import Any

import orjson

from airflow_provider_ozzy.stats_managers.basic_stats_manager import BasicStatsManager


class LoggingStatsManager(BasicStatsManager):
    """Per-iteration timings, to see where an export spends its time."""

    def iteration_report(self, timings: dict[str, float], counters: dict[str, Any]) -> None:
        rounded = {stage: round(seconds, 6) for stage, seconds in timings.items()}
        self.log.info("Iteration: %s", orjson.dumps({"timings": rounded, **counters}).decode())
