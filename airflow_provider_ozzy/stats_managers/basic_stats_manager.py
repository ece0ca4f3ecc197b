"""Collects the export's counters; the final report is the stats dict the CLI prints and the operator returns."""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_ozzy.core.pipeline_item import PipelineItem


class BasicStatsManager(PipelineItem):
    """Logs the final stats; nothing per batch. Stats errors are logged, never fatal."""

    kind = "stats_manager"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.metrics: Any = None  # AirflowMetrics inside the operator

    def report_start(self, counters: dict[str, Any]) -> None:
        """What the exporter calls once the reader and writer are open: the counters before this run."""
        if self.metrics is not None:
            self.safely_call(self.metrics.start, counters)

    def report_iteration(self, timings: dict[str, float], counters: dict[str, Any]) -> None:
        """What the exporter calls after every batch: the module's report, then the metrics."""
        self.safely("iteration_report", timings, counters)
        if self.metrics is not None:
            self.safely_call(self.metrics.batch, timings, counters)

    def report_final(self, stats: dict[str, Any]) -> None:
        self.safely("final_report", stats)
        if self.metrics is not None:
            self.safely_call(self.metrics.final, stats)

    def iteration_report(self, timings: dict[str, float], counters: dict[str, Any]) -> None:
        """Called after every batch with seconds spent per stage and running counters."""

    def final_report(self, stats: dict[str, Any]) -> None:
        self.log.info("Export stats: %s", stats)

    def safely(self, method: str, *args: Any) -> None:
        self.safely_call(getattr(self, method), *args)

    @staticmethod
    def safely_call(function: Any, *args: Any) -> None:
        try:
            function(*args)
        except Exception:  # stats must never break an export
            logging.getLogger(__name__).warning("stats report %s failed", function, exc_info=True)
