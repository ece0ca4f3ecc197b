"""``AggregationWriter``: key coverage statistics, how many items (and what percentage) have each key.

Nested keys count as dotted paths (``address.city``), next to their parent (``address``); keys
inside lists are not descended into. The counts are part of the committed writer state after
every batch (nothing is buffered), so a resume after ``kill -9`` continues them exactly. At the
end the report goes to ``path`` (JSON, written atomically), to the log, and into the export's
stats under ``result`` (the operator's XCom, the CLI's summary). exporters'
``AggregationStatsWriter`` only logged the table.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import orjson

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.writers.unbuffered_writer import UnbufferedWriter


class AggregationWriter(UnbufferedWriter):
    """Counts, per key path, the items that have it; writes nothing else."""

    supported_options = {
        "path": {
            "type": (str, type(None)),
            "default": None,
            "help": "File to write the JSON report to (default: only the stats and the log).",
        },
        "nested_separator": {"type": str, "default": ".", "help": "Joins nested keys into paths."},
        "compression": {"type": str, "default": "none", "help": "Unused: nothing is buffered."},
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.items = 0
        self.counts: dict[str, int] = {}

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if not values["nested_separator"]:
            problems.append(Problem("nested_separator", "option 'nested_separator' must not be empty"))
        if values["path"] is not None and (not values["path"] or values["path"].endswith(os.sep)):
            problems.append(Problem("path", "option 'path' must name a file"))
        return problems

    # -- counting -------------------------------------------------------------------------------------
    def write_items(self, items: list[dict[str, Any]]) -> None:
        separator = self.options["nested_separator"]
        counts = self.counts
        for item in items:
            for path in _paths(item, separator, ""):
                counts[path] = counts.get(path, 0) + 1
        self.items += len(items)
        self.items_written += len(items)

    def result(self) -> dict[str, Any]:
        total = self.items
        keys = {
            path: {"count": count, "percentage": round(count * 100 / total, 2) if total else 0.0}
            for path, count in sorted(self.counts.items())
        }
        return {"items": total, "keys": keys}

    # -- commit protocol: the counts travel with the position -------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"items": self.items, "counts": self.counts}

    def restore_extra(self, extra: Any) -> None:
        saved = extra or {}
        self.items = int(saved.get("items", 0))
        self.counts = {str(path): int(count) for path, count in saved.get("counts", {}).items()}

    # -- the report -------------------------------------------------------------------------------------
    def finish_writing(self) -> None:
        super().finish_writing()
        report = self.result()
        width = max((len(path) for path in report["keys"]), default=3)
        lines = [f"{'key':<{width}}  {'count':>10}  coverage"]
        lines += [
            f"{path:<{width}}  {v['count']:>10}  {v['percentage']:>7.2f}%"
            for path, v in report["keys"].items()
        ]
        self.log.info("AggregationWriter: %d item(s)\n%s", report["items"], "\n".join(lines))
        if self.options["path"]:
            self._write_report(self.options["path"], report)

    def _write_report(self, path: str, report: dict[str, Any]) -> None:
        folder = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(folder, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".ozzy-report-", dir=folder)
            with os.fdopen(handle, "wb") as out:
                out.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except OSError as error:
            raise WriterError(
                f"writer AggregationWriter: cannot write the report to {path} (option 'path'): {error}"
            ) from None


def _paths(item: dict[str, Any], separator: str, prefix: str) -> list[str]:
    found = []
    for key, value in item.items():
        path = f"{prefix}{separator}{key}" if prefix else str(key)
        found.append(path)
        if isinstance(value, dict):
            found.extend(_paths(value, separator, path))
    return found
