"""Fixtures the integration tests share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder, as the current directory (job state and outputs go under it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
