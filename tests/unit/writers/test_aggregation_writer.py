"""AggregationWriter: exact key coverage on crafted items, the report file, and the stats ``result``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.engine.config import validate
from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import key_coverage_report, run_ozzy, write_config

ITEMS: list[dict[str, Any]] = [
    {"a": 1, "b": {"c": 1, "d": {"e": 1}}},
    {"a": None, "b": {"c": 2}},
    {"b": 5},
    {"f": [{"g": 1}], "h": {}},
    {"a": 2, "b": {"d": {}}, "f": []},
    {"a": 3},
]
EXPECTED = key_coverage_report(
    6,
    {
        "a": (4, 66.67),
        "b": (4, 66.67),
        "b.c": (2, 33.33),
        "b.d": (2, 33.33),
        "b.d.e": (1, 16.67),
        "f": (2, 33.33),
        "h": (1, 16.67),
    },
)


def config(tmp_path: Path, **options: Any) -> dict[str, Any]:
    source = tmp_path / "in.jl"
    source.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    return {
        "reader": {"name": "FSReader", "options": {"input": str(source), "batch_size": 4}},
        "writer": {"name": "AggregationWriter", "options": options},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
    }


def test_exact_coverage_in_stats_and_report_file(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "coverage.json"
    stats = BasicExporter(config(tmp_path, path=str(report))).export()
    assert stats["result"] == EXPECTED
    assert json.loads(report.read_text()) == EXPECTED
    assert stats["items_written"] == 6


def test_nested_separator_and_no_report_file(tmp_path: Path) -> None:
    stats = BasicExporter(config(tmp_path, nested_separator="/")).export()
    assert stats["result"]["keys"]["b/d/e"] == {"count": 1, "percentage": 16.67}
    assert not list(tmp_path.glob("*.json"))


def test_cli_prints_the_result(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.json", config(tmp_path, path="out/report.json"))
    result = run_ozzy("run", str(path), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert stats["result"] == EXPECTED
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == EXPECTED


def test_legacy_name_and_bad_options() -> None:
    reader = {"name": "RandomReader", "options": {"number_of_items": 1}}
    validate(
        {
            "reader": reader,
            "writer": {"name": "exporters.writers.aggregation_stats_writer.AggregationStatsWriter"},
        }
    )
    with pytest.raises(
        ConfigurationError, match=r"AggregationWriter\): option 'nested_separator' must not be empty"
    ):
        validate(
            {"reader": reader, "writer": {"name": "AggregationWriter", "options": {"nested_separator": ""}}}
        )
