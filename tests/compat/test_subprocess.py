"""A few cases through a real ``ozzy`` process (the rest run ``cli.main`` in-process): the entry
point, exit codes and stdout as a shell sees them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.compat.conftest import EXPORTERS_DATA
from tests.helpers import run_ozzy, write_config


def test_readme_config_in_a_process(tmp_path: Path) -> None:
    """README.rst's simplest config, RandomReader -> ConsoleWriter, as ``ozzy run``."""
    config = {
        "reader": {
            "name": "exporters.readers.random_reader.RandomReader",
            "options": {"number_of_items": 20, "batch_size": 10},
        },
        "writer": {"name": "exporters.writers.console_writer.ConsoleWriter", "options": {}},
    }
    write_config(tmp_path / "config.json", config)
    done = run_ozzy("run", "--quiet", "config.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 21
    assert json.loads(lines[-1])["items_written"] == 20


def test_invalid_config_in_a_process(tmp_path: Path) -> None:
    """ConfigValidationTest.test_missing_supported_options as ``ozzy validate``: exit 2, file:line."""
    config = {
        "reader": {"name": "exporters.readers.random_reader.RandomReader"},
        "writer": {"name": "exporters.writers.console_writer.ConsoleWriter"},
        "transform": {"name": "exporters.transform.jq_transform.JQTransform", "options": {}},
    }
    write_config(tmp_path / "bad.json", config)
    done = run_ozzy("validate", "bad.json", cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.json:" in done.stderr
    assert "jq_filter" in done.stderr


def test_exporters_data_read_in_a_process(tmp_path: Path) -> None:
    """tests/data/dummy_data.jl.gz (200 items) through FSReader -> FSWriter in a process."""
    config = {
        "reader": {
            "name": "exporters.readers.fs_reader.FSReader",
            "options": {"input": str(EXPORTERS_DATA / "dummy_data.jl.gz")},
        },
        "writer": {"name": "exporters.writers.fs_writer.FSWriter", "options": {"filebase": "out/"}},
    }
    write_config(tmp_path / "config.json", config)
    done = run_ozzy("run", "--quiet", "config.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["items_written"] == 200
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["0000.jl.gz"]


def test_stdout_holds_only_items_and_stats_with_an_airflow_connection(
    tmp_path: Path, moto_server: Any
) -> None:
    """S3ReaderTest.test_get_batch printed as ``ozzy run`` would (S3Reader -> ConsoleWriter, an
    Airflow connection): stdout is for the items and the stats JSON only. Airflow's structlog setup
    writes ``[info] AWS Connection ... credentials retrieved`` and secrets-masker warnings there,
    which corrupts an export piped to a file."""
    bucket = moto_server.create_bucket("stdout")
    moto_server.client("s3").put_object(Bucket=bucket, Key="k.jl", Body=b'{"a": 1}\n')
    config = {
        "reader": {"name": "S3Reader", "options": {"bucket": bucket, "aws_conn_id": "ozzy_s3"}},
        "writer": {"name": "ConsoleWriter"},
    }
    write_config(tmp_path / "config.json", config)
    env = {"AIRFLOW_CONN_OZZY_S3": moto_server.connection_json(), "OZZY_DISABLE_RETRIES": "1"}
    done = run_ozzy("run", "--quiet", "config.json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert json.loads(lines[0]) == {"a": 1}
    assert [json.loads(line) for line in lines][-1]["items_written"] == 1
