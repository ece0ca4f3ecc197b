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
    hide = f"import sys; sys.modules[{package!r}] = None; from airflow_provider_ozzy.cli import main; "
    for command in ("validate", "run"):
        done = subprocess.run(
            [sys.executable, "-c", hide + f"sys.exit(main([{command!r}, 'job.yaml']))"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
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
        for package in getattr(module_class, "requires", ()):
            assert package in EXTRA_OF, f"{name} requires {package}, which no extra is known to bring"
    assert set(EXTRA_OF.values()) <= set(extras)
    # the suite runs with every extra: each package is found, so no valid config is refused for it
    assert all(installed(package) for package in EXTRA_OF)
