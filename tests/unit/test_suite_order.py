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
        '<testcase classname="tests.unit.test_suite_order" name="test_c@stack" time="3"/>'
        '<testcase classname="tests.unit.test_suite_order" name="test_d[p]@stack]" time="4"/>'
        "</testsuite></testsuites>"
    )
    assert from_junit(str(report)) == {
        "tests/integration/test_s3.py::test_a[x]": 12.3,
        "tests/unit/test_suite_order.py::test_c": 3.0,  # without the group suffix, as the order looks it up
        "tests/unit/test_suite_order.py::test_d[p]": 4.0,
    }


def test_the_tests_of_an_xdist_group_run_on_one_worker(tmp_path: Path) -> None:
    """Through real pytest-xdist workers with this suite's hooks: pytest 9 ignores the id suffix
    pytest-xdist 3.8 sets, and without ``name_xdist_groups`` the group's tests land on every worker."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\n"
        "pytestmark = pytest.mark.xdist_group('shared')\n"
        "@pytest.mark.parametrize('n', range(6))\n"
        "def test_grouped(n):\n"
        "    with open('workers.txt', 'a') as log:\n"
        "        log.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n"
        "@pytest.mark.parametrize('n', range(6))\n"
        "def test_loose(n):\n"
        "    pass\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest"]
        + ["-n", "3", "--dist", "loadgroup", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    workers = (tmp_path / "workers.txt").read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers
