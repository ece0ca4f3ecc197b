"""SPEC §6: a local export imports no Airflow module, so ``ozzy run`` starts fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import write_config

PROBE = """
import sys
from airflow_provider_ozzy.cli import main
code = main(["run", "config.json", "--quiet"])
loaded = sorted(name for name in sys.modules if name == "airflow" or name.startswith("airflow."))
print("EXIT", code, "AIRFLOW", loaded[:5])
"""


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
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "EXIT 0 AIRFLOW []" in result.stdout, result.stdout + result.stderr
    assert sum(1 for _ in (tmp_path / "out").rglob("*.csv.gz")) >= 1
