"""The wheel and sdist users install: valid for the package index, and carrying a provider's metadata."""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

from tests.packaging.conftest import ROOT, Distributions, run

# the wheel (a session fixture) is built once for this module and test_fresh_install.py
pytestmark = [pytest.mark.packaging, pytest.mark.xdist_group("packaging-build")]

# airflow.providers.* packages the code may import without declaring them: common.sql comes with
# whichever provider serves a SQL connection (OdoWriter only asks such a hook for its URL).
UNDECLARED_PROVIDERS = {"common.sql"}


def _metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(each for each in archive.namelist() if each.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode())


def _requirement_names(metadata: Message) -> set[str]:
    return {
        re.split(r"[\s;<>=!~\[]", each, maxsplit=1)[0].lower()
        for each in metadata.get_all("Requires-Dist", [])
    }


def test_twine_check_passes_for_wheel_and_sdist(distributions: Distributions) -> None:
    done = run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(distributions.wheel),
            str(distributions.sdist),
        ],
        timeout=120,
    )
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_wheel_metadata_is_a_providers(distributions: Distributions) -> None:
    metadata = _metadata(distributions.wheel)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    classifiers = set(metadata.get_all("Classifier", []))
    assert {"Framework :: Apache Airflow", "Framework :: Apache Airflow :: Provider"} <= classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "airflow-provider" in metadata["Keywords"].split(",")
    assert metadata["Author-email"]
    urls = dict(each.split(", ", 1) for each in metadata.get_all("Project-URL", []))
    assert {"Documentation", "Source", "Changelog"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values()), urls


def test_every_airflow_provider_the_code_imports_is_declared(distributions: Distributions) -> None:
    imported = {
        match.group(1)
        for path in (ROOT / "airflow_provider_ozzy").rglob("*.py")
        for match in re.finditer(
            r"airflow\.providers\.((?:common|microsoft|apache)\.\w+|\w+)", path.read_text()
        )
    }
    declared = _requirement_names(_metadata(distributions.wheel))
    missing = {
        name
        for name in imported - UNDECLARED_PROVIDERS
        if "apache-airflow-providers-" + name.replace(".", "-") not in declared
    }
    assert not missing, f"imported but not in Requires-Dist (dependencies or an extra): {sorted(missing)}"


def test_wheel_ships_py_typed_license_and_the_provider_entry_point(distributions: Distributions) -> None:
    with zipfile.ZipFile(distributions.wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(
            next(each for each in names if each.endswith(".dist-info/entry_points.txt"))
        ).decode()
    assert "airflow_provider_ozzy/py.typed" in names
    assert any(each.endswith(".dist-info/licenses/LICENSE") for each in names)
    assert (
        "[apache_airflow_provider]\nprovider_info = airflow_provider_ozzy:get_provider_info" in entry_points
    )
    assert "ozzy = airflow_provider_ozzy.cli:main" in entry_points


def test_sdist_holds_what_a_rebuild_needs(distributions: Distributions) -> None:
    with tarfile.open(distributions.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "airflow_provider_ozzy/py.typed",
    } <= names
    sources = {str(path.relative_to(ROOT)) for path in (ROOT / "airflow_provider_ozzy").rglob("*.py")}
    assert sources <= names, sorted(sources - names)[:5]
