"""FileKeyGrouper, NoGrouper and PythonExpGrouper: nested keys, missing values, non-string values."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.expressions.python_sandbox import ExpressionError
from airflow_provider_ozzy.groupers.base_grouper import group_value
from airflow_provider_ozzy.groupers.file_key_grouper import FileKeyGrouper
from airflow_provider_ozzy.groupers.no_grouper import NoGrouper
from airflow_provider_ozzy.groupers.python_exp_grouper import PythonExpGrouper

ITEMS = [
    {"id": 1, "country": "ES", "city": {"name": "Málaga"}, "n": 1, "flag": True},
    {"id": 2, "country": "ES", "city": {"name": "東京"}, "n": 1.0, "flag": 1},
    {"id": 3, "country": None, "city": None, "n": [1, 2], "flag": False},
    {"id": 4, "city": {}, "n": {"b": 1, "a": 2}},
    {"id": 5, "country": "ES", "city": {"name": "Málaga"}, "n": 1, "flag": True},
]


def layout(groups: dict) -> dict:
    return {key: [item["id"] for item in items] for key, items in groups.items()}


def test_file_key_grouper_nested_missing_and_non_string() -> None:
    groups = FileKeyGrouper({"keys": ["country", "city.name"]}).group_batch(ITEMS)
    assert layout(groups) == {
        ("ES", "Málaga"): [1, 5],
        ("ES", "東京"): [2],
        ("unknown", "unknown"): [3, 4],
    }
    by_value = FileKeyGrouper({"keys": ["flag"]}).group_batch(ITEMS)
    assert layout(by_value) == {("true",): [1, 5], ("1",): [2], ("false",): [3], ("unknown",): [4]}
    by_n = FileKeyGrouper({"keys": ["n"]}).group_batch(ITEMS)
    assert layout(by_n) == {("1",): [1, 5], ("1.0",): [2], ("[1,2]",): [3], ('{"a":2,"b":1}',): [4]}


def test_no_grouper() -> None:
    assert layout(NoGrouper({}).group_batch(ITEMS)) == {(): [1, 2, 3, 4, 5]}
    assert NoGrouper({}).group_batch([]) == {}


def test_python_exp_grouper_values_of_any_type() -> None:
    grouper = PythonExpGrouper(
        {
            "python_expressions": [
                "item.get('country')",
                "item['id'] % 2 == 0",
                "item.get('n')",
                "item['id'] // 2",
            ]
        }
    )
    groups = grouper.group_batch(ITEMS)
    assert layout(groups) == {
        ("ES", "false", "1", "0"): [1],
        ("ES", "true", "1.0", "1"): [2],
        ("unknown", "false", "[1,2]", "1"): [3],
        ("unknown", "true", '{"a":2,"b":1}', "2"): [4],
        ("ES", "false", "1", "2"): [5],
    }


def test_python_exp_grouper_errors() -> None:
    with pytest.raises(ConfigurationError, match="grouper PythonExpGrouper: option 'python_expressions'"):
        PythonExpGrouper({"python_expressions": ["__import__('os')"]})
    with pytest.raises(ConfigurationError, match="must not be empty"):
        PythonExpGrouper({"python_expressions": []})
    grouper = PythonExpGrouper({"python_expressions": ["item['country'].lower()"]})
    with pytest.raises(ExpressionError, match="failed on item 3: AttributeError"):
        grouper.group_batch(ITEMS)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "x"),
        (None, "unknown"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-1.5, "-1.5"),
        ([1, "a"], '[1,"a"]'),
        ({"b": 1, "a": None}, '{"a":null,"b":1}'),
        ((1, 2), "[1,2]"),
    ],
)
def test_group_value(value: object, text: str) -> None:
    assert group_value(value) == text
