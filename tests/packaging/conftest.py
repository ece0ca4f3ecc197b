"""The built distributions, made once per test process from a copy of the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the sdist is made of (pyproject.toml's readme, license-files and package); a file missing here
# but named in pyproject.toml fails the build, so the list cannot silently fall behind.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in", "airflow_provider_ozzy")
UV = Path(sys.executable).with_name("uv")  # scripts/setup-venv.sh installs uv into the venv


@dataclass(frozen=True)
class Distributions:
    wheel: Path
    sdist: Path


def run(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; its output is the assertion message when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, (
        f"{command[:3]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


@pytest.fixture(scope="session")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    """``uv build`` of the package: the sdist, then the wheel built from that sdist (as a user's pip would)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    run([str(UV), "build", "--quiet", "--out-dir", str(out), str(source)], timeout=600)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Distributions(wheel=wheel, sdist=sdist)
