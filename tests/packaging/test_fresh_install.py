"""The built wheel installed as a user would: a new virtual environment, the wheel with an extra, and
the package registry resolving everything else (no lock file). Then an export and Airflow's view.

uv's cache keeps this fast: about 10 s to install with a warm cache, 20 s with an empty one
(measured on 2 cores, 2026-12-07); the two Airflow commands take about 6 s of CPU each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import airflow_provider_ozzy
from tests.packaging.conftest import ROOT, UV, Distributions, run
from tests.servers.moto_server import MotoServer

# the wheel (a session fixture) is built once for this module and test_distributions.py
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900), pytest.mark.xdist_group("packaging-build")]

CONFIG = """\
reader: {name: FSReader, options: {input: {dir: in, pattern: '\\.jl$'}}}
writer: {name: FSWriter, options: {filebase: 'out/items_', compression: none}}
persistence: {name: PicklePersistence, options: {file_path: state}}
exporter_options: {persistence_state_id: fresh}
"""


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment a user's shell would have: nothing that points back into this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow-home")
    return env


@pytest.fixture(scope="module")
def fresh_venv(distributions: Distributions, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], timeout=120)
    run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            f"{distributions.wheel}[amazon]",
        ],
        timeout=600,
    )
    return venv


def test_installed_wheel_runs_an_export_and_airflow_lists_the_provider(
    fresh_venv: Path, tmp_path: Path
) -> None:
    env = _clean_env(tmp_path)
    bin_dir = fresh_venv / "bin"
    located = run(
        [
            str(bin_dir / "python"),
            "-c",
            "import airflow_provider_ozzy; print(airflow_provider_ozzy.__file__)",
        ],
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert located.stdout.startswith(str(fresh_venv)), located.stdout  # the wheel's copy, not the checkout

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jl").write_text('{"id":1}\n{"id":2}\n')
    (tmp_path / "export.yaml").write_text(CONFIG)
    exported = run([str(bin_dir / "ozzy"), "run", "export.yaml"], timeout=120, env=env, cwd=tmp_path)
    assert json.loads(exported.stdout)["items_written"] == 2
    assert (tmp_path / "out" / "items_0000.jl").read_text() == '{"id":1}\n{"id":2}\n'

    # kafka-python comes only with the [kafka] extra: its reader is refused at validation, in one line
    (tmp_path / "kafka.yaml").write_text(
        "reader: {name: KafkaScannerReader, options: {brokers: ['127.0.0.1:9'], topic: t}}\n"
        "writer: {name: FSWriter, options: {filebase: 'out/k_'}}\n"
    )
    refused = subprocess.run(
        [str(bin_dir / "ozzy"), "validate", "kafka.yaml"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert (
        "kafka.yaml:1: reader: KafkaScannerReader needs the Python package 'kafka', which is not "
        "installed: pip install 'airflow-provider-ozzy[kafka]'" in refused.stderr
    ), refused.stderr

    airflow = str(bin_dir / "airflow")
    commands = {
        "list": [airflow, "providers", "list", "-o", "json"],
        "get": [airflow, "providers", "get", "airflow-provider-ozzy", "--full", "-o", "json"],
    }
    running = {
        name: subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, command in commands.items()
    }
    results = {name: process.communicate(timeout=300) for name, process in running.items()}
    for name, process in running.items():
        assert process.returncode == 0, results[name][1][-3000:]

    listed = {entry["package_name"]: entry["version"] for entry in json.loads(results["list"][0])}
    assert listed["airflow-provider-ozzy"] == airflow_provider_ozzy.__version__
    assert "apache-airflow-providers-amazon" in listed  # the [amazon] extra was resolved
    assert "apache-airflow-providers-common-compat" in listed

    (info,) = json.loads(results["get"][0])
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    # Airflow reads it from the wheel's Project-URL metadata, not from get_provider_info
    assert info["documentation-url"] and info["documentation-url"] == urls.get("Documentation"), info
    assert {each["integration-name"] for each in info["integrations"]} >= {"Ozzy exports"}
    assert any(
        "airflow_provider_ozzy.operators.ozzy_export" in each["python-modules"] for each in info["operators"]
    )
    assert any("airflow_provider_ozzy.hooks.kafka_hook" in each["python-modules"] for each in info["hooks"])
    assert {each["connection-type"] for each in info["connection-types"]} == {
        "ozzy_kafka",
        "ozzy_scrapy_cloud",
    }
    assert info["notifications"]


def test_installed_amazon_extra_exports_to_s3(
    fresh_venv: Path, moto_server: MotoServer, tmp_path: Path
) -> None:
    """The ``[amazon]`` extra resolved from the registry is enough for S3Writer over the wire."""
    bucket = moto_server.create_bucket("fresh")
    env = {**_clean_env(tmp_path), "AIRFLOW_CONN_OZZY_S3": moto_server.connection_json()}
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jl").write_text('{"id":1}\n{"id":2}\n')
    config = CONFIG.replace(
        "writer: {name: FSWriter, options: {filebase: 'out/items_', compression: none}}",
        f"writer: {{name: S3Writer, options: {{aws_conn_id: ozzy_s3, bucket: {bucket}, filebase: 'out/items_', compression: none}}}}",
    )
    (tmp_path / "export.yaml").write_text(config)
    exported = run(
        [str(fresh_venv / "bin" / "ozzy"), "run", "export.yaml"], timeout=120, env=env, cwd=tmp_path
    )
    assert json.loads(exported.stdout)["items_written"] == 2
    body = moto_server.client("s3").get_object(Bucket=bucket, Key="out/items_0000.jl")["Body"].read()
    assert body == b'{"id":1}\n{"id":2}\n'
