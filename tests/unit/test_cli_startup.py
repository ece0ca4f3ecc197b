"""SPEC §6: a local export imports no Airflow module, so ``ozzy run`` starts fast."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from tests.helpers import run_ozzy_listing_imports, write_config


def test_a_local_export_never_imports_airflow(tmp_path: Path) -> None:
    write_config(
        tmp_path / "config.json",
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": 50}},
            "filter_before": {
                "name": "PythonexpFilter",
                "options": {"python_expression": "item['key'] % 2 == 0"},
            },
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country_code"]}},
            "writer": {"name": "FSWriter", "options": {"filebase": "out/{groups[0]}/items_"}},
            "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
            "exporter_options": {"formatter": {"name": "CSVExportFormatter", "options": {"fields": ["key"]}}},
        },
    )
    result = run_ozzy_listing_imports(tmp_path, timeout=60)
    assert "EXIT 0 IMPORTED []" in result.stdout, result.stdout + result.stderr
    assert sum(1 for _ in (tmp_path / "out").rglob("*.csv.gz")) >= 1


def test_a_json_config_export_starts_without_pyyaml_or_tenacity(tmp_path: Path) -> None:
    """Both are imported when needed (a YAML config, a message pointing at a line, a transient error):
    together they cost 0.14 s of every ``ozzy`` process and task start, most of the CLI's own."""
    (tmp_path / "in.jl").write_text("".join(f'{{"id": {n}}}\n' for n in range(100)))
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"file": str(tmp_path / "in.jl")}}},
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "items_")}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = run_ozzy_listing_imports(tmp_path, roots=("yaml", "tenacity"))
    assert "EXIT 0 IMPORTED []" in result.stdout, result.stdout + result.stderr
    [written] = (tmp_path / "out").iterdir()
    assert len(gzip.decompress(written.read_bytes()).splitlines()) == 100
