"""The suite's start order under pytest-xdist (``tests/durations.py``): longest units first, the
tests of one ``xdist_group`` together and in their order, unknown tests after, in collection order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.durations import from_junit, longest_first


@dataclass
class Item:
    """What ``longest_first`` reads of a pytest item: its id and its ``xdist_group`` marks."""

    nodeid: str
    groups: list[str] = field(default_factory=list)

    def iter_markers(self, name: str) -> list[pytest.Mark]:
        return [pytest.mark.xdist_group(group).mark for group in self.groups] if name == "xdist_group" else []


def test_longest_units_start_first_and_groups_stay_whole() -> None:
    items = [
        Item("a.py::short"),
        Item("b.py::stack_1", ["stack"]),
        Item("b.py::stack_2@stack", ["stack"]),  # the id loadgroup gives it
        Item("c.py::unknown_1"),
        Item("c.py::long"),
        Item("c.py::unknown_2"),
    ]
    seconds = {"a.py::short": 3.0, "b.py::stack_1": 50.0, "b.py::stack_2": 60.0, "c.py::long": 100.0}
    order = [item.nodeid for item in longest_first(items, seconds)]
    assert order == [
        "b.py::stack_1",
        "b.py::stack_2@stack",
        "c.py::long",
        "a.py::short",
        "c.py::unknown_1",
        "c.py::unknown_2",
    ]


def test_the_table_is_read_from_a_junit_report_keeping_only_long_tests(tmp_path: Path) -> None:
    report = tmp_path / "run.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.integration.test_s3" name="test_a[x]" time="12.34"/>'
        '<testcase classname="tests.unit.test_suite_order" name="test_b" time="0.5"/>'
        "</testsuite></testsuites>"
    )
    assert from_junit(str(report)) == {"tests/integration/test_s3.py::test_a[x]": 12.3}
