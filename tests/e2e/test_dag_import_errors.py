"""A config with a bad option fails the DAG import, and the import error names section, module and option.

DAG files are parsed the way the dag-processor does it (``DagBag``), from a temporary folder so the
broken files never reach the configured DAG bundles.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.e2e.conftest import EXAMPLE_DAGS


def _import_errors(folder: Path) -> dict[str, str]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=folder, safe_mode=False)
    assert bag.dags == {}
    return bag.import_errors


def _only_error(folder: Path) -> str:
    errors = _import_errors(folder)
    assert len(errors) == 1, errors
    return next(iter(errors.values()))


def _dag_file(folder: Path, operator_arguments: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "broken_export.py"
    path.write_text(
        textwrap.dedent(
            """\
            from datetime import datetime

            from airflow.sdk import DAG

            from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

            with DAG("broken_export", schedule=None, start_date=datetime(2026, 1, 1)):
                OzzyExportOperator(
                    task_id="export",
            {arguments}
                )
            """
        ).format(arguments=textwrap.indent(textwrap.dedent(operator_arguments), " " * 8))
    )
    return path


def test_a_misspelt_option_in_the_example_dag_fails_its_import(tmp_path: Path) -> None:
    source = (EXAMPLE_DAGS / "ozzy_local_export.py").read_text()
    assert '"items_per_buffer_write"' in source
    (tmp_path / "ozzy_local_export.py").write_text(
        source.replace('"items_per_buffer_write"', '"items_per_bufer_write"')
    )

    error = _only_error(tmp_path)

    assert "task export_orders" in error
    assert "writer (FSWriter): unknown option 'items_per_bufer_write'" in error
    assert "items_per_buffer_write" in error  # the supported options are listed


def test_a_missing_mandatory_option_fails_the_import(tmp_path: Path) -> None:
    _dag_file(
        tmp_path,
        """\
        reader={"name": "RandomReader"},
        writer={"name": "FSWriter", "options": {"compression": "none"}},
        grouper={"name": "FileKeyGrouper", "options": {}},
        """,
    )

    error = _only_error(tmp_path)

    assert "invalid configuration: 2 errors" in error
    assert "task export: writer (FSWriter): missing mandatory option 'filebase'" in error
    assert "task export: grouper (FileKeyGrouper): missing mandatory option 'keys'" in error


def test_a_bad_option_in_a_yaml_config_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "job.yaml").write_text(
        textwrap.dedent(
            """\
            reader:
              name: RandomReader
            writer:
              name: FSWriter
              options:
                filebase: "/tmp/out/{{ ds_nodash }}/items_"
                compresion: gz
            """
        )
    )
    _dag_file(tmp_path, 'config="configs/job.yaml",\n')

    error = _only_error(tmp_path)

    assert f"{tmp_path / 'configs' / 'job.yaml'}:7: writer (FSWriter): unknown option 'compresion'" in error
    assert "task export" in error


def test_a_wrong_option_type_and_an_unknown_module_are_reported_together(tmp_path: Path) -> None:
    _dag_file(
        tmp_path,
        """\
        reader={"name": "RandomReader", "options": {"number_of_items": "many"}},
        writer={"name": "FSWritter", "options": {"filebase": "/tmp/x_"}},
        """,
    )

    error = _only_error(tmp_path)

    assert "invalid configuration: 2 errors" in error
    assert "task export: reader (RandomReader): option 'number_of_items' must be a" in error
    assert "got string 'many'" in error
    assert "task export: writer: unknown writers module 'FSWritter'; did you mean FSWriter?" in error
