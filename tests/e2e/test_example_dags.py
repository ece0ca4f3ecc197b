"""The example DAGs of ``dags/``: they import cleanly, and they run under ``dag.test()``.

Each run reads the demo's orders (generated into a temporary folder) and reads back what the DAG
wrote: every input item exactly once, in the folder of its country, and the stats returned as XCom.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import EXAMPLE_DAGS, load_dag
from tests.e2e.dag_runs import xcom
from tests.helpers import output_files, read_json_lines, write_json_lines_gz

ROOT = EXAMPLE_DAGS.parent
CSV_FIELDS = ["id", "country", "product", "quantity", "price", "customer.name", "customer.vip"]


def _demo_items(folder: Path, count: int) -> list[dict[str, Any]]:
    """The demo's input generator, with fewer items; returns the items it wrote."""
    spec = importlib.util.spec_from_file_location(
        "ozzy_demo_generate_input", ROOT / "demo" / "generate_input.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(str(folder), items=count)
    return sorted(
        (item for path in sorted(folder.iterdir()) for item in read_json_lines(path)),
        key=lambda item: item["id"],
    )


def _run_example(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    output_variable: str = "OZZY_DEMO_OUTPUT",
    **test: Any,
) -> Any:
    """``dag.test(**test)`` of the example DAG ``name`` (``dags/<name>.py``): input ``tmp_path/in``, output ``tmp_path/out``."""
    monkeypatch.setenv("OZZY_DEMO_INPUT", str(tmp_path / "in"))
    monkeypatch.setenv(output_variable, str(tmp_path / "out"))
    return load_dag(f"{name}.py", name, EXAMPLE_DAGS).test(**test)


def _rendered_fields(run: Any, task_id: str) -> dict[str, Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = run.get_task_instance(task_id, session=session)
        return RenderedTaskInstanceFields.get_templated_fields(ti, session=session) or {}


def test_every_dag_file_in_dags_imports_without_errors_or_warnings() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=EXAMPLE_DAGS, safe_mode=False)

    assert bag.import_errors == {}
    assert bag.captured_warnings == {}
    files = {path.name for path in EXAMPLE_DAGS.glob("*.py")}
    assert {Path(dag.fileloc).name for dag in bag.dags.values()} == files
    assert {"ozzy_local_export", "ozzy_local_export_yaml"} <= set(bag.dag_ids)
    for dag in bag.dags.values():
        assert "example" in dag.tags, dag.dag_id
        assert dag.doc_md, f"{dag.dag_id} has no documentation"


def test_the_local_export_dag_writes_one_csv_folder_per_country(
    airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _demo_items(tmp_path / "in", 2000)
    run = _run_example("ozzy_local_export", tmp_path, monkeypatch)

    assert run.state == "success"
    files = output_files(tmp_path / "out")
    countries = {item["country"] for item in items}
    assert {name.split("/")[0] for name in files} == countries
    rows = []
    for name in files:
        assert name.endswith(".csv") and Path(name).name.startswith("orders_"), name
        with open(tmp_path / "out" / name, newline="") as handle:
            reader = csv.reader(handle)
            assert next(reader) == CSV_FIELDS
            for row in reader:
                assert row[1] == name.split("/")[0]  # the folder of its country
                rows.append(row)
    assert sorted(int(row[0]) for row in rows) == [item["id"] for item in items]
    by_id = {int(row[0]): row for row in rows}
    for item in items[:50]:
        row = by_id[item["id"]]
        assert row[2:6] == [
            item["product"],
            str(item["quantity"]),
            str(item["price"]),
            item["customer"]["name"],
        ]
        assert row[6] == json.dumps(item["customer"]["vip"])

    stats = xcom(run, "export_orders")
    assert stats["items_read"] == stats["items_written"] == 2000
    assert stats["files_written"] == len(files)
    assert stats["finished"] is True


def test_the_yaml_config_dag_renders_its_templated_config_file(
    airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _demo_items(tmp_path / "in", 1000)
    run = _run_example(
        "ozzy_local_export_yaml",
        tmp_path,
        monkeypatch,
        "OZZY_DEMO_YAML_OUTPUT",
        logical_date=datetime(2026, 3, 4, 5, 6, tzinfo=UTC),
    )

    assert run.state == "success"
    files = output_files(tmp_path / "out")
    assert files and all(name.startswith("20260304/") for name in files)  # {{ ds_nodash }}
    written = [item for name in files for item in read_json_lines(tmp_path / "out" / name)]
    assert sorted(written, key=lambda item: item["id"]) == items
    for name in files:
        assert {item["country"] for item in read_json_lines(tmp_path / "out" / name)} == {name.split("/")[1]}
    rendered = _rendered_fields(run, "export_orders")["config"]
    assert f"{tmp_path / 'out'}/20260304/{{groups[0]}}/orders_" in rendered
    assert xcom(run, "export_orders")["items_written"] == 1000


def test_the_example_dag_reads_gzip_json_lines_written_by_others(
    airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Input that does not come from the demo generator: a country missing lands in ``unknown``."""
    items: list[dict[str, Any]] = [{"id": 1, "country": "ES"}, {"id": 2}, {"id": 3, "country": None}]
    write_json_lines_gz(tmp_path / "in" / "a.jl.gz", items)
    write_json_lines_gz(tmp_path / "in" / "ignored.json.gz", [{"id": 4, "country": "FR"}])
    run = _run_example("ozzy_local_export", tmp_path, monkeypatch)

    assert run.state == "success"
    assert output_files(tmp_path / "out") == ["ES/orders_0000.csv", "unknown/orders_0000.csv"]
    unknown = (tmp_path / "out" / "unknown" / "orders_0000.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in unknown[1:]] == ["2", "3"]
