"""exporters tests/test_filters.py and tests/test_filters_pythonexp.py, through ``ozzy run``.

Each filter case runs in the three places a filter goes (``filter``, exporters' name for
``filter_before``; ``filter_before``; ``filter_after``) on a file read by FSReader, printed by
ConsoleWriter; the case compares the printed items and the stats' counts.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from tests.compat.conftest import RunOzzy, check_module_output, console, fs_input
from tests.helpers import ModuleCase, parametrize_module_cases

PLACES = ["filter", "filter_before", "filter_after"]
NESTED = [
    {"country": {"state": {"city": city}}, "value": n} for n, city in enumerate(["val", "es", "uk", "val"])
]
KEYED = [
    {"_key": key, "custom_key": key, "name": f"item{n + 1}", "country_code": cc}
    for n, (key, cc) in enumerate(
        [
            ("8062219f", "es"),
            ("8062219f", "es"),
            ("1859834d", "us"),
            ("1859834d", "us"),
            ("e2abb7b4", "uk"),
            ("e2abb7b4", "uk"),
        ]
    )
]

# (exporters test, filter module, options, input items, the items that pass)
CASES: list[ModuleCase] = [
    ModuleCase(
        "KeyValueFilterTest.test_filter_with_key_value",
        "exporters.filters.key_value_filter.KeyValueFilter",
        {"keys": [{"name": "country_code", "value": "es"}]},
        [{"name": "item1", "country_code": "es"}, {"name": "item2", "country_code": "uk"}],
        [{"name": "item1", "country_code": "es"}],
    ),
    ModuleCase(
        "KeyValueFilterTest.test_filter_with_nested_key_value",
        "exporters.filters.key_value_filter.KeyValueFilter",
        {"keys": [{"name": "country.state.city", "value": "val"}]},
        NESTED,
        [NESTED[0], NESTED[3]],
    ),
    ModuleCase(
        "KeyValueFilterTest.test_filter_with_nested_key_value_with_comma",
        "exporters.filters.key_value_filter.KeyValueFilter",
        {"keys": [{"name": "country,state,city", "value": "val"}], "nested_field_separator": ","},
        NESTED,
        [NESTED[0], NESTED[3]],
    ),
    ModuleCase(
        "KeyValueFilterTest.test_filter_with_no_nested_key",
        "exporters.filters.key_value_filter.KeyValueFilter",
        {"keys": [{"name": "not_a_key", "value": "val"}]},
        NESTED,
        [],
    ),
    ModuleCase(
        "KeyValueRegexFilterTest.test_filter_batch_with_key_value_regex",
        "exporters.filters.key_value_regex_filter.KeyValueRegexFilter",
        {"keys": [{"name": "country", "value": "e[sg]"}]},
        [
            {"name": "item1", "country": "es"},
            {"name": "item2", "country": "egypt"},
            {"name": "item3", "country": "uk"},
            {"name": "item4", "country": "españa"},
        ],
        [
            {"name": "item1", "country": "es"},
            {"name": "item2", "country": "egypt"},
            {"name": "item4", "country": "españa"},
        ],
    ),
    ModuleCase(
        "KeyValueRegexFilterTest.test_filter_with_nested_key_value",
        "exporters.filters.key_value_regex_filter.KeyValueRegexFilter",
        {"keys": [{"name": "country.state.city", "value": "val"}]},
        NESTED,
        [NESTED[0], NESTED[3]],
    ),
    ModuleCase(
        "KeyValueRegexFilterTest.test_filter_with_nested_key_value_with_comma",
        "exporters.filters.key_value_regex_filter.KeyValueRegexFilter",
        {"keys": [{"name": "country,state,city", "value": "val"}], "nested_field_separator": ","},
        NESTED,
        [NESTED[0], NESTED[3]],
    ),
    ModuleCase(
        "KeyValueRegexFilterTest.test_filter_with_no_nested_key",
        "exporters.filters.key_value_regex_filter.KeyValueRegexFilter",
        {"keys": [{"name": "not_a_key", "value": "val"}]},
        NESTED,
        [],
    ),
    ModuleCase(
        "KeyValueRegexFilterTest.test_filter_with_nonstring_values",
        "exporters.filters.key_value_regex_filter.KeyValueRegexFilter",
        {"keys": [{"name": "address.country", "value": "US|3"}]},
        [{"address": {"country": v}} for v in (None, "US", 3, "BR")],
        [{"address": {"country": "US"}}, {"address": {"country": 3}}],
    ),
    ModuleCase(
        "KeyValueFiltersTest.test_filter_with_contains_key_value (operator in)",
        "exporters.filters.key_value_filter.KeyValueFilter",
        {"keys": [{"name": "country_code", "value": ["es", "us"], "operator": "in"}]},
        [
            {"name": "item1", "country_code": "es"},
            {"name": "item2", "country_code": "us"},
            {"name": "item3", "country_code": "uk"},
        ],
        [{"name": "item1", "country_code": "es"}, {"name": "item2", "country_code": "us"}],
    ),
    ModuleCase(
        "KeyValueFiltersTest.test_filter_with_in_key_value (operator contains)",
        "exporters.filters.key_value_filter.KeyValueFilter",
        {"keys": [{"name": "country_code", "value": "es", "operator": "contains"}]},
        [
            {"name": "item1", "country_code": ["es", "us"]},
            {"name": "item2", "country_code": ["es", "us"]},
            {"name": "item3", "country_code": ["uk"]},
        ],
        [{"name": "item1", "country_code": ["es", "us"]}, {"name": "item2", "country_code": ["es", "us"]}],
    ),
    ModuleCase(
        "DupeFilterTest.test_filter_duplicates_with_default_key",
        "exporters.filters.dupe_filter.DupeFilter",
        {},
        KEYED,
        [KEYED[0], KEYED[2], KEYED[4]],
    ),
    ModuleCase(
        "DupeFilterTest.test_filter_duplicates_with_custom_key",
        "exporters.filters.dupe_filter.DupeFilter",
        {"key_field": "custom_key"},
        [{k: v for k, v in item.items() if k != "_key"} for item in KEYED],
        [{k: v for k, v in KEYED[n].items() if k != "_key"} for n in (0, 2, 4)],
    ),
    ModuleCase(
        "DupeFilterTest.test_filter_duplicates_empty_key_dont_get_filtered",
        "exporters.filters.dupe_filter.DupeFilter",
        {},
        [{"_key": "", "name": f"item{n}"} for n in range(3)],
        [{"_key": "", "name": f"item{n}"} for n in range(3)],
    ),
    ModuleCase(
        "DupeFilterTest.test_filter_duplicates_items_without_keys_dont_get_filtered",
        "exporters.filters.dupe_filter.DupeFilter",
        {},
        [{"name": f"item{n}", "country_code": "es"} for n in range(3)],
        [{"name": f"item{n}", "country_code": "es"} for n in range(3)],
    ),
    ModuleCase(
        "PythonexpFilterFilterTest.test_filter_batch_with_python_expression",
        "exporters.filters.pythonexp_filter.PythonexpFilter",
        {"python_expression": "item['country_code']=='uk'"},
        [{"name": "item1", "country_code": "es"}, {"name": "item2", "country_code": "uk"}],
        [{"name": "item2", "country_code": "uk"}],
    ),
    ModuleCase(
        "NoFilterTest.test_filter_batch_no_op",
        "exporters.filters.no_filter.NoFilter",
        {},
        [{"name": "item1", "value": "value1"}, {"name": "item2", "value": "value2"}],
        [{"name": "item1", "value": "value1"}, {"name": "item2", "value": "value2"}],
    ),
]


@pytest.mark.parametrize("place", PLACES)
@parametrize_module_cases(CASES)
def test_filter(run_ozzy: RunOzzy, work: Path, place: str, case: ModuleCase) -> None:
    result = check_module_output(run_ozzy, work, place, case.module, case.options, case.items, case.expected)
    assert result.stats["items_read"] == len(case.items)


def test_filter_with_datetime(run_ozzy: RunOzzy, work: Path) -> None:
    """PythonexpFilterFilterTest.test_filter_with_datetime: ``datetime`` is in the expression's scope."""
    now = datetime.datetime.now()
    items = [{"name": f"item{n + 1}", "updated": str(now - datetime.timedelta(days=2 - n))} for n in range(3)]
    expression = (
        "item.get('updated') and item['updated'] >= "
        "str(datetime.datetime.now() - datetime.timedelta(days=1))[:10]"
    )
    result = run_ozzy(
        {
            "reader": fs_input(work, items),
            "filter": {
                "name": "exporters.filters.pythonexp_filter.PythonexpFilter",
                "options": {"python_expression": expression},
            },
            "writer": console(),
        }
    )
    assert result.code == 0, result.err
    assert [item["name"] for item in result.printed_items] == ["item2", "item3"]


def test_filter_with_imports_outside_the_sandbox_is_refused(run_ozzy: RunOzzy, work: Path) -> None:
    """PythonexpFilterFilterTest.test_filter_with_fuzzywuzzy: exporters imported any module named in
    ``imports`` and ran the expression with ``eval``. Departure (docs/design.md, "Python expressions:
    a real sandbox"): a module outside the allow-list is a configuration error, nothing is read."""
    items = [{"name": "New York Jets"}]
    result = run_ozzy(
        {
            "reader": fs_input(work, items),
            "filter": {
                "name": "exporters.filters.pythonexp_filter.PythonexpFilter",
                "options": {
                    "python_expression": "fuzz.ratio('New York', item.get('name')) > 50",
                    "imports": {"fuzz": "fuzzywuzzy.fuzz"},
                },
            },
            "writer": console(),
        }
    )
    assert result.code == 2, result.err
    assert "fuzz" in result.err
    assert not result.out.strip()


@pytest.mark.parametrize("place", PLACES)
def test_filter_with_non_existing_operator_is_a_configuration_error(
    run_ozzy: RunOzzy, work: Path, place: str
) -> None:
    """KeyValueFiltersTest.test_filter_with_non_existing_op: exporters raised InvalidOperator."""
    result = run_ozzy(
        {
            "reader": fs_input(work, [{"country_code": "es"}]),
            place: {
                "name": "exporters.filters.key_value_filter.KeyValueFilter",
                "options": {
                    "keys": [{"name": "country_code", "value": ["es", "us"], "operator": "not_an_operator"}]
                },
            },
            "writer": console(),
        }
    )
    assert result.code == 2
    assert "not_an_operator" in result.err
    assert not result.out.strip()


def test_filter_logs_on_a_big_batch(run_ozzy: RunOzzy, work: Path) -> None:
    """KeyValueFilterTest.test_filter_logs: a 5000-item batch filters without error."""
    items = [{"country": ("es", "uk")[n % 2], "value": n} for n in range(5000)]
    result = run_ozzy(
        {
            "reader": {
                **fs_input(work, items),
                "options": {**fs_input(work, items)["options"], "batch_size": 5000},
            },
            "filter": {
                "name": "exporters.filters.key_value_filter.KeyValueFilter",
                "options": {"keys": [{"name": "country", "value": "es"}]},
            },
            "writer": {"name": "FSWriter", "options": {"filebase": "out/es_"}},
        }
    )
    assert result.code == 0, result.err
    assert result.stats["items_read"] == 5000
    assert result.stats["items_written"] == 2500


def test_filter_and_filter_before_together_apply_filter(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters read ``filter`` and ignored ``filter_before`` when a config had both."""
    items = [{"country_code": cc} for cc in ("es", "uk", "us")]
    result = run_ozzy(
        {
            "reader": fs_input(work, items),
            "filter": {
                "name": "KeyValueFilter",
                "options": {"keys": [{"name": "country_code", "value": "es"}]},
            },
            "filter_before": {
                "name": "KeyValueFilter",
                "options": {"keys": [{"name": "country_code", "value": "uk"}]},
            },
            "writer": console(),
        }
    )
    assert result.code == 0, result.err
    assert result.printed_items == [{"country_code": "es"}]
