"""The order the suite's tests start in under pytest-xdist: the longest first.

``scripts/test.sh`` runs the suite with ``--dist loadgroup --no-loadscope-reorder``: every test is a
unit of work of its own, except tests marked ``xdist_group`` (tests that share an expensive
module fixture, such as an Airflow stack), which form one unit and run on one worker. A worker gets
the next unit from the front of the queue whenever it runs low. With the queue sorted longest
first, a 200 s test starts at the beginning, not in the last minutes when the other workers are
idle (on the profile of 2026-12-07 this cut the simulated wall time with 6 workers from 1033 s to
817 s, the total divided by the workers).

The durations come from a junit XML of a whole run (``durations.json``: seconds per test id, tests
of 2 s or more; relative values are all that matter). Refresh them after adding slow tests:
``bash scripts/test.sh --junit-xml=/tmp/run.xml``, then ``python -m tests.durations /tmp/run.xml``.
A test missing from the table counts as short and keeps its place in collection order.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("durations.json")
KEEP_FROM_SECONDS = 2.0


def load() -> dict[str, float]:
    try:
        return {str(key): float(value) for key, value in json.loads(TABLE.read_text()).items()}
    except FileNotFoundError:
        return {}


def longest_first(items: Sequence[Any], seconds: dict[str, float]) -> list[Any]:
    """``items`` (pytest items) sorted by the duration of their unit, longest first.

    A unit is an ``xdist_group`` (its tests' durations added up) or a single test; the tests of a
    group stay together in their collection order, and units of equal duration keep theirs.
    """
    units: dict[str, list[Any]] = {}
    for item in items:
        group = group_name(item)
        units.setdefault(f"group:{group}" if group else f"test:{item.nodeid}", []).append(item)
    ordered = sorted(
        units.values(), key=lambda unit: -sum(seconds.get(_plain_id(item.nodeid), 0.0) for item in unit)
    )
    return [item for unit in ordered for item in unit]


def group_name(item: Any) -> str:
    """The item's ``xdist_group`` name as loadgroup forms it (several marks: joined), or ``""``."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names))


def name_xdist_groups(items: Sequence[Any]) -> None:
    """Suffixes ``@group`` to the id of every test marked ``xdist_group``, as ``--dist loadgroup``
    needs to send a group to one worker. pytest-xdist 3.8 writes the suffix to ``item._nodeid``,
    which pytest 9 no longer reads (the id is ``item._id``): every group was scattered over the
    workers, so a module fixture (an Airflow stack, a killed DAG run) was built once per worker that
    got one of its tests, and tests reading each other's runs failed. Idempotent: a suffix already
    there is left alone."""
    from _pytest.nodeid import coerce_node_id

    for item in items:
        group = group_name(item)
        if group and not item.nodeid.endswith(f"@{group}"):
            item._id = coerce_node_id(f"{item.nodeid}@{group}")  # type: ignore[attr-defined]


def _plain_id(nodeid: str) -> str:
    """The test id without the ``@group`` suffix that loadgroup adds."""
    at, bracket = nodeid.rfind("@"), nodeid.rfind("]")
    return nodeid[:at] if at > bracket else nodeid


def from_junit(path: str) -> dict[str, float]:
    """Seconds per test id (setup, call and teardown) of the tests of a junit XML that took long."""
    root = Path(__file__).resolve().parents[1]
    found: dict[str, float] = {}
    for case in ElementTree.parse(path).iter("testcase"):
        parts = (case.get("classname") or "").split(".")
        # the module is the longest dotted prefix that is a file; what follows is a class
        for end in range(len(parts), 0, -1):
            module = "/".join(parts[:end]) + ".py"
            if (root / module).is_file():
                # junit writes a grouped parametrized test as "test[p]@group]"
                name = re.sub(r"\]@[^\[\]@]+\]$", "]", case.get("name") or "")
                nodeid = _plain_id("::".join([module, *parts[end:], name]))
                seconds = float(case.get("time") or 0)
                if seconds >= KEEP_FROM_SECONDS:
                    found[nodeid] = round(seconds, 1)
                break
    return dict(sorted(found.items()))


if __name__ == "__main__":
    table = from_junit(sys.argv[1])
    TABLE.write_text(json.dumps(table, indent=0) + "\n")
    print(f"{TABLE}: {len(table)} tests of {KEEP_FROM_SECONDS:g} s or more")
