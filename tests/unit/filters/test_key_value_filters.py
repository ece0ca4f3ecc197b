"""KeyValueFilter and KeyValueRegexFilter: operators, nested keys, missing keys, non-strings, unicode."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_ozzy.engine.registry import resolve
from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.filters.key_value_filter import KeyValueFilter as LegacyKeyValueFilter
from airflow_provider_ozzy.filters.key_value_filters import KeyValueFilter, KeyValueRegexFilter

ITEMS: list[dict[str, Any]] = [
    {
        "id": 1,
        "country": "ES",
        "city": {"name": "Málaga", "zip": "29001"},
        "n": 5,
        "tags": ["a", "b"],
        "ok": True,
    },
    {"id": 2, "country": "FR", "city": {"name": "Paris"}, "n": 5.0, "tags": [], "ok": False},
    {"id": 3, "country": None, "city": None, "n": "5", "tags": ["b"], "ok": 1},
    {"id": 4, "country": "España 東京", "n": -1},
    {"id": 5, "city.name": "Dotted", "country": "es"},
]


def kept(filter_class: type[KeyValueFilter], keys: list[dict[str, Any]], **options: Any) -> list[int]:
    module = filter_class({"keys": keys, **options})
    result = [item["id"] for item in module.filter_batch([dict(item) for item in ITEMS])]
    assert module.total == len(ITEMS) and module.filtered_out == len(ITEMS) - len(result)
    return result


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ([{"name": "country", "value": "ES"}], [1]),
        ([{"name": "country", "value": "ES", "operator": "=="}], [1]),
        ([{"name": "country", "value": None}], [3]),  # null is a value; missing is not
        ([{"name": "n", "value": 5}], [1, 2]),  # 5 == 5.0, never "5"
        ([{"name": "ok", "value": True}], [1]),  # true is not 1
        ([{"name": "ok", "value": 1}], [3]),
        ([{"name": "country", "value": ["ES", "FR"], "operator": "in"}], [1, 2]),
        ([{"name": "n", "value": [-1, "5"], "operator": "in"}], [3, 4]),
        ([{"name": "country", "value": "東京", "operator": "contains"}], [4]),
        ([{"name": "tags", "value": "b", "operator": "contains"}], [1, 3]),
        ([{"name": "n", "value": 5, "operator": "contains"}], []),  # a number contains nothing
        ([{"name": "country", "value": "E", "operator": "re_match"}], [1, 4]),  # anchored at the start
        ([{"name": "country", "value": "s", "operator": "re_match"}], []),
        ([{"name": "n", "value": r"5(\.0)?$", "operator": "re_match"}], [1, 2, 3]),  # numbers as text
        ([{"name": "ok", "value": "true", "operator": "re_match"}], [1]),
        ([{"name": "city.name", "value": "Málaga"}], [1]),
        ([{"name": "city.name", "value": "Dotted"}], [5]),  # a literal dotted key wins
        ([{"name": "city.zip", "value": "29001"}], [1]),
        ([{"name": "city.zip.x", "value": "29001"}], []),  # walking into a string: missing
        ([{"name": "country", "value": "ES"}, {"name": "n", "value": 5}], [1]),  # AND
        ([{"name": "absent", "value": None}], []),  # missing drops the item
    ],
)
def test_key_value_filter(keys: list[dict[str, Any]], expected: list[int]) -> None:
    assert kept(KeyValueFilter, keys) == expected


def test_nested_field_separator() -> None:
    assert kept(KeyValueFilter, [{"name": "city/name", "value": "Paris"}], nested_field_separator="/") == [2]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ([{"name": "country", "value": "E"}], [1, 4]),
        ([{"name": "country", "value": "(?i)es"}], [1, 4, 5]),
        ([{"name": "country", "value": ".*"}], [1, 2, 4, 5]),  # null never matches
        ([{"name": "n", "value": "5"}], [1, 2, 3]),
        ([{"name": "city.name", "value": "M.laga$"}], [1]),
        ([{"name": "tags", "value": "a"}], []),  # lists never match
    ],
)
def test_key_value_regex_filter(keys: list[dict[str, Any]], expected: list[int]) -> None:
    assert kept(KeyValueRegexFilter, keys) == expected


@pytest.mark.parametrize(
    ("filter_class", "keys", "message"),
    [
        (KeyValueFilter, [{"name": "x", "value": 1, "operator": "<"}], "unknown operator '<'"),
        (KeyValueFilter, [{"name": "x", "value": 1, "operator": "in"}], "operator 'in' needs a list"),
        (
            KeyValueFilter,
            [{"name": "x", "value": "(", "operator": "re_match"}],
            "not a valid regular expression",
        ),
        (KeyValueRegexFilter, [{"name": "x", "value": "[a"}], "not a valid regular expression"),
        (KeyValueFilter, [{"value": 1}], "'name' must be a non-empty string"),
        (KeyValueFilter, [{"name": "x"}], "'value' is missing"),
        (KeyValueFilter, [{"name": "x", "value": 1, "op": "=="}], "unknown entries ['op']"),
        (KeyValueFilter, [], "at least one condition"),
    ],
)
def test_bad_keys_are_configuration_errors(
    filter_class: type[KeyValueFilter], keys: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        filter_class({"keys": keys})
    assert f"filter {filter_class.__name__}" in str(raised.value) and message in str(raised.value)


def test_names_and_legacy_paths_resolve() -> None:
    assert LegacyKeyValueFilter is KeyValueFilter
    assert resolve("exporters.filters.key_value_filter.KeyValueFilter", "filters") is KeyValueFilter
    assert (
        resolve("exporters.filters.key_value_filters.KeyValueRegexFilter", "filters") is KeyValueRegexFilter
    )
    assert (
        resolve("ozzy.filters.key_value_regex_filter.KeyValueRegexFilter", "filters") is KeyValueRegexFilter
    )
