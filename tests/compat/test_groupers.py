"""exporters tests/test_groupers.py: what a grouper decides is seen in the files' paths.

exporters' tests looked at ``item.group_membership``; through a config, FSWriter's
``{groups[N]}`` placeholders show the same values as folders, and each file holds only its group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import RunOzzy, files_under, fs_input, items_of


def text(value: Any) -> str:
    """A group value as a path segment. Departure (docs/design.md, "Group values in paths"):
    booleans are ``true``/``false`` (exporters' ``str()`` gave ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


COUNTRIES, STATES, CITIES = (
    ["es", "uk", "us"],
    ["valencia", "madrid", "barcelona"],
    ["alicante", "lleida", "somecity"],
)
BATCH = [
    {
        "key": n,
        "country_code": COUNTRIES[n % 3],
        "state": STATES[(n // 3) % 3],
        "city": CITIES[(n // 9) % 3],
        "value": n * 7,
    }
    for n in range(27)
]


def grouped_export(
    run_ozzy: RunOzzy, work: Path, grouper: dict[str, Any], depth: int
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    placeholders = "/".join(f"{{groups[{n}]}}" for n in range(depth))
    result = run_ozzy(
        {
            "reader": fs_input(work, BATCH),
            "grouper": grouper,
            "writer": {
                "name": "exporters.writers.fs_writer.FSWriter",
                "options": {"filebase": f"out/{placeholders}/part_"},
            },
        }
    )
    assert result.code == 0, result.err
    assert result.stats["items_written"] == len(BATCH)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for name in files_under(work / "out"):
        *folders, _file = name.split("/")
        groups.setdefault(tuple(folders), []).extend(items_of(work / "out" / name))
    return groups


def test_file_key_grouper_groups_by_keys(run_ozzy: RunOzzy, work: Path) -> None:
    """FileKeyGrouperTest.test_group_batch."""
    grouper = {
        "name": "exporters.groupers.file_key_grouper.FileKeyGrouper",
        "options": {"keys": ["country_code", "state", "city"]},
    }
    groups = grouped_export(run_ozzy, work, grouper, 3)
    assert len(groups) == 27
    for (country, state, city), items in groups.items():
        assert all(
            (item["country_code"], item["state"], item["city"]) == (country, state, city) for item in items
        )


def test_file_key_grouper_unknown_key(run_ozzy: RunOzzy, work: Path) -> None:
    """FileKeyGrouperTest.test_unknown_keys_batch: a key an item lacks groups as ``unknown``."""
    grouper = {
        "name": "exporters.groupers.file_key_grouper.FileKeyGrouper",
        "options": {"keys": ["country_code", "not_a_key", "city"]},
    }
    groups = grouped_export(run_ozzy, work, grouper, 3)
    assert {state for _, state, _ in groups} == {"unknown"}
    assert len(groups) == 9


@pytest.mark.parametrize(
    ("case", "expressions", "expected"),
    [
        (
            "PythonExpGrouperTest.test_group_batch_is_in",
            ["item['country_code'] in ['uk', 'us']"],
            lambda i: (text(i["country_code"] in ["uk", "us"]),),
        ),
        (
            "PythonExpGrouperTest.test_group_batch_modulo",
            ["item['value'] % 5"],
            lambda i: (str(i["value"] % 5),),
        ),
        (
            "PythonExpGrouperTest.test_group_batch_multiple",
            ["item['country_code'] in ['uk', 'us']", "item['value'] % 5"],
            lambda i: (text(i["country_code"] in ["uk", "us"]), text(i["value"] % 5)),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_python_exp_grouper(
    run_ozzy: RunOzzy, work: Path, case: str, expressions: list[str], expected: Any
) -> None:
    grouper = {
        "name": "exporters.groupers.python_exp_grouper.PythonExpGrouper",
        "options": {"python_expressions": expressions},
    }
    groups = grouped_export(run_ozzy, work, grouper, len(expressions))
    for folders, items in groups.items():
        assert all(expected(item) == folders for item in items), folders


def test_python_exp_grouper_invalid_expression_fails(run_ozzy: RunOzzy, work: Path) -> None:
    """PythonExpGrouperTest.test_group_batch_invalid: ``item['description'] % 5`` on items without it."""
    result = run_ozzy(
        {
            "reader": fs_input(work, BATCH),
            "grouper": {
                "name": "exporters.groupers.python_exp_grouper.PythonExpGrouper",
                "options": {"python_expressions": ["item['description'] % 5"]},
            },
            "writer": {"name": "FSWriter", "options": {"filebase": "out/{groups[0]}/part_"}},
        }
    )
    assert result.code == 1
    assert "description" in result.err
    assert not (work / "out").exists() or files_under(work / "out") == []


def test_no_grouper_writes_one_file(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters' default grouper (NoGrouper, tests/utils.py VALID_EXPORTER_CONFIG)."""
    result = run_ozzy(
        {
            "reader": fs_input(work, BATCH),
            "grouper": {"name": "exporters.groupers.no_grouper.NoGrouper"},
            "writer": {"name": "FSWriter", "options": {"filebase": "out/part_"}},
        }
    )
    assert result.code == 0, result.err
    assert files_under(work / "out") == ["part_0000.jl.gz"]
    assert items_of(work / "out/part_0000.jl.gz") == BATCH


def test_key_file_grouper_module_path_from_the_docs(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters' docs named the grouper ``KeyFileGrouper``; Ozzy's spec lists it as such."""
    groups = grouped_export(
        run_ozzy, work, {"name": "KeyFileGrouper", "options": {"keys": ["country_code"]}}, 1
    )
    assert sorted(groups) == [("es",), ("uk",), ("us",)]
