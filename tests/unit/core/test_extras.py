"""A module whose Python package is missing is refused when the config is checked, in one line naming
the module, the config line and the ``pip install`` of the extra that brings the package."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from airflow_provider_ozzy.core.extras import EXTRA_OF, installed
from airflow_provider_ozzy.engine.registry import all_modules

ROOT = Path(__file__).resolve().parents[3]

CONFIGS = {
    "boto3": "reader: {name: FSReader, options: {input: {dir: in}}}\n"
    "writer: {name: S3Writer, options: {bucket: b, filebase: 'out/x_'}}\n",
    "kafka": "reader: {name: KafkaScannerReader, options: {brokers: ['127.0.0.1:9'], topic: t}}\n"
    "writer: {name: FSWriter, options: {filebase: 'out/x_'}}\n",
    "pyarrow": "reader: {name: FSReader, options: {input: {dir: in}}}\n"
    "writer: {name: FSWriter, options: {filebase: 'out/x_'}}\n"
    "exporter_options: {formatter: {name: ParquetExportFormatter}}\n",
}


def ozzy_without(package: str, folder: Path, command: str, config: str) -> subprocess.CompletedProcess[str]:
    """``ozzy <command> <config>`` in a child process where ``package`` cannot be imported, as if
    it were not installed."""
    hide = f"import sys; sys.modules[{package!r}] = None; from airflow_provider_ozzy.cli import main; "
    return subprocess.run(
        [sys.executable, "-c", hide + f"sys.exit(main([{command!r}, {config!r}]))"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("package", "module", "extra", "line"),
    [
        ("boto3", "S3Writer", "amazon", 2),
        ("kafka", "KafkaScannerReader", "kafka", 1),
        ("pyarrow", "ParquetExportFormatter", "parquet", 3),
    ],
)
def test_a_missing_package_is_one_line_naming_module_line_and_extra(
    tmp_path: Path, package: str, module: str, extra: str, line: int
) -> None:
    """The package is hidden from the child process as if it were not installed."""
    (tmp_path / "job.yaml").write_text(CONFIGS[package])
    for command in ("validate", "run"):
        done = ozzy_without(package, tmp_path, command, "job.yaml")
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        (problem,) = [each for each in done.stderr.splitlines() if "needs the Python package" in each]
        assert f"job.yaml:{line}:" in problem, problem
        assert f"{module} needs the Python package '{package}'" in problem, problem
        assert f"pip install 'airflow-provider-ozzy[{extra}]'" in problem, problem
    assert not (tmp_path / "out").exists()


def test_every_required_package_names_an_extra_of_the_package() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for _kind, name, module_class in all_modules():
        when_set = getattr(module_class, "requires_when_set", {}).values()
        for package in [
            *getattr(module_class, "requires", ()),
            *(name for names in when_set for name in names),
        ]:
            assert package in EXTRA_OF, f"{name} requires {package}, which no extra is known to bring"
    assert set(EXTRA_OF.values()) <= set(extras)
    # the suite runs with every extra: each package is found, so no valid config is refused for it
    assert all(installed(package) for package in EXTRA_OF)


@pytest.mark.parametrize("kind", ["sftp", "ftp"])
def test_the_file_server_provider_is_required_only_with_a_connection_id(tmp_path: Path, kind: str) -> None:
    """The old host/user/password options connect with paramiko or ftplib: a config using them is
    valid without the SFTP or FTP provider; one naming an Airflow connection is refused, in one line
    naming the extra."""
    writer = "SFTPWriter" if kind == "sftp" else "FTPWriter"
    legacy = f"{{host: 127.0.0.1, {kind}_user: u, {kind}_password: p, filebase: 'out/x_'}}"
    configs = {"legacy": legacy, "connection": f"{{{kind}_conn_id: files, filebase: 'out/x_'}}"}
    codes = {}
    for name, options in configs.items():
        (tmp_path / f"{name}.yaml").write_text(
            f"reader: {{name: FSReader, options: {{input: {{dir: in}}}}}}\nwriter: {{name: {writer}, options: {options}}}\n"
        )
        done = ozzy_without(f"airflow.providers.{kind}", tmp_path, "validate", f"{name}.yaml")
        codes[name] = (done.returncode, done.stderr)
    assert codes["legacy"][0] == 0, codes["legacy"][1]
    code, stderr = codes["connection"]
    assert code == 2 and "Traceback" not in stderr, stderr
    assert (
        f"connection.yaml:2: writer: {writer} needs the Python package 'airflow.providers.{kind}'" in stderr
    )
    assert f"pip install 'airflow-provider-ozzy[{kind}]'" in stderr
