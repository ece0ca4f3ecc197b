"""Hypothesis profiles for the hostile-input tests, and a count of the inputs they tried.

``ci`` (the default) is derandomized with few examples, so the whole folder runs in well under
40 s and every run tries the same inputs; ``slow`` (``OZZY_HYPOTHESIS_PROFILE=slow``) tries many
more, randomly. The terminal summary prints how many inputs each test fed to Ozzy
(docs/reliability.md records these numbers).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.property.inputs import INPUTS_TRIED

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=40,
    deadline=None,  # a loaded machine must not fail a test; hangs are caught by pytest-timeout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "slow",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("OZZY_HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Under the slow profile a test tries thousands of inputs: give it an hour, not pytest's 300 s."""
    if os.environ.get("OZZY_HYPOTHESIS_PROFILE") == "slow":
        for item in items:
            if "tests/property/" in str(item.fspath):
                item.add_marker(pytest.mark.timeout(3600))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not INPUTS_TRIED:
        return
    profile = os.environ.get("OZZY_HYPOTHESIS_PROFILE", "ci")
    terminalreporter.section(f"hostile inputs tried (hypothesis profile {profile!r})")
    for what, count in sorted(INPUTS_TRIED.items()):
        terminalreporter.write_line(f"{count:8d}  {what}")
    terminalreporter.write_line(f"{sum(INPUTS_TRIED.values()):8d}  in all")
