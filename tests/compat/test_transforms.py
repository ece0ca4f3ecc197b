"""exporters tests/test_transforms.py, test_transforms_jq.py and test_transforms_pythonmap.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import RunOzzy, check_module_output, console, fs_input, random_reader
from tests.helpers import ModuleCase, parametrize_module_cases

BATCH = [{"name": "item1", "country_code": "es"}, {"name": "item2", "country_code": "uk"}]
MAP_BATCH = [{"name": "item1", "country": "es"}, {"name": "item2", "country": "uk"}]
PEOPLE = [
    {
        "name": "Claudio",
        "age": 42,
        "address": {"city": "Paris", "street": "Rue de Sevres"},
        "skills": ["hacking", "soccer"],
    },
    {
        "name": "Marcelo",
        "age": 22,
        "address": {"city": "Sao Paulo", "street": "25 de Marco"},
        "skills": ["guitar", "piano"],
    },
]
FLATSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "number"},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "street": {"type": "string"}},
        },
        "skills": {"type": "array", "items": {"type": "string"}},
    },
}

# (exporters test, module, options, input, output)
CASES: list[ModuleCase] = [
    ModuleCase(
        "NoTransformTest.test_transform_batch",
        "exporters.transform.no_transform.NoTransform",
        {},
        BATCH,
        BATCH,
    ),
    ModuleCase(
        "PythonexpTransformTest.test_transform_batch",
        "exporters.transform.pythonexp_transform.PythonexpTransform",
        {"python_expressions": ["item.update({'new_field': item.get('country_code')+'-'+item.get('name')})"]},
        BATCH,
        [{**item, "new_field": f"{item['country_code']}-{item['name']}"} for item in BATCH],
    ),
    ModuleCase(
        "JqTransformTest.test_no_transform_batch",
        "exporters.transform.jq_transform.JQTransform",
        {"jq_filter": "."},
        BATCH,
        BATCH,
    ),
    ModuleCase(
        "JqTransformTest.test_transform_batch",
        "exporters.transform.jq_transform.JQTransform",
        {"jq_filter": "{country: .country_code}"},
        BATCH,
        [{"country": "es"}, {"country": "uk"}],
    ),
    ModuleCase(
        "JqTransformTest.test_transform_with_filter[es]",
        "exporters.transform.jq_transform.JQTransform",
        {"jq_filter": 'select(.country_code == "es") | {country_code}'},
        BATCH,
        [{"country_code": "es"}],
    ),
    ModuleCase(
        "JqTransformTest.test_transform_with_filter[uk]",
        "exporters.transform.jq_transform.JQTransform",
        {"jq_filter": 'select(.country_code == "uk") | {country_code}'},
        BATCH,
        [{"country_code": "uk"}],
    ),
    ModuleCase(
        "PythonMapTransformTest.test_transform_dynamic",
        "exporters.transform.pythonmap.PythonMapTransform",
        {"map": '{"name": item.get("name") + " blah"}'},
        MAP_BATCH,
        [{"name": "item1 blah"}, {"name": "item2 blah"}],
    ),
    ModuleCase(
        # exporters' expression added two item lists (Python 2 only); the same map in Python 3
        "PythonMapTransformTest.test_transform_augmenting_item",
        "exporters.transform.pythonmap.PythonMapTransform",
        {"map": 'dict(list(item.items()) + list(dict(upper_name=item["name"].upper()).items()))'},
        MAP_BATCH,
        [{**item, "upper_name": item["name"].upper()} for item in MAP_BATCH],
    ),
    ModuleCase(
        "FlatsonTransformTest.test_transform_batch",
        "exporters.transform.flatson_transform.FlatsonTransform",
        {"flatson_schema": FLATSON_SCHEMA},
        PEOPLE,
        [
            {
                "address.city": "Paris",
                "address.street": "Rue de Sevres",
                "age": 42,
                "name": "Claudio",
                "skills": '["hacking","soccer"]',
            },
            {
                "address.city": "Sao Paulo",
                "address.street": "25 de Marco",
                "age": 22,
                "name": "Marcelo",
                "skills": '["guitar","piano"]',
            },
        ],
    ),
]


@parametrize_module_cases(CASES)
def test_transform(run_ozzy: RunOzzy, work: Path, case: ModuleCase) -> None:
    check_module_output(run_ozzy, work, "transform", case.module, case.options, case.items, case.expected)


def test_flatson_field_order_is_the_schema_order(run_ozzy: RunOzzy, work: Path) -> None:
    """FlatsonTransformTest.test_transform_batch expected alphabetical keys (flatson sorted them).
    Departure (docs/design.md, "Departures from exporters' output": FlatsonTransform with a
    schema): with a schema, fields come in the schema's order; the values are the same."""
    result = run_ozzy(
        {
            "reader": fs_input(work, PEOPLE[:1]),
            "transform": {"name": "FlatsonTransform", "options": {"flatson_schema": FLATSON_SCHEMA}},
            "writer": console(),
        }
    )
    assert result.code == 0, result.err
    assert list(result.printed_items[0]) == ["name", "age", "address.city", "address.street", "skills"]


@pytest.mark.parametrize(
    ("case", "module", "options"),
    [
        ("NoTransformTest.test_transform_empty_batch", "exporters.transform.no_transform.NoTransform", {}),
        (
            "JqTransformTest.test_transform_empty_batch",
            "exporters.transform.jq_transform.JQTransform",
            {"jq_filter": "."},
        ),
        (
            "PythonexpTransformTest.test_transform_empty_batch",
            "exporters.transform.pythonexp_transform.PythonexpTransform",
            {"python_expressions": ["item.update({'a': 1})"]},
        ),
        (
            "PythonMapTransformTest.test_transform_empty_batch",
            "exporters.transform.pythonmap.PythonMapTransform",
            {"map": '""'},
        ),
        (
            "FlatsonTransformTest.test_transform_empty_batch",
            "exporters.transform.flatson_transform.FlatsonTransform",
            {"flatson_schema": FLATSON_SCHEMA},
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and "Test" in value else "",
)
def test_empty_input(run_ozzy: RunOzzy, work: Path, case: str, module: str, options: dict[str, Any]) -> None:
    result = run_ozzy(
        {"reader": random_reader(0), "transform": {"name": module, "options": options}, "writer": console()}
    )
    assert result.code == 0, result.err
    assert result.stats["items_read"] == 0
    assert result.stats["items_written"] == 0


@pytest.mark.parametrize(
    ("case", "module", "options", "named"),
    [
        (
            "JqTransformTest.test_invalid_jq_expression",
            "exporters.transform.jq_transform.JQTransform",
            {"jq_filter": "blah"},
            "jq_filter",
        ),
        (
            "PythonMapTransformTest.test_transform_invalid_code",
            "exporters.transform.pythonmap.PythonMapTransform",
            {"map": "{"},
            "map",
        ),
        (
            "ConfigValidationTest.test_missing_supported_options",
            "exporters.transform.jq_transform.JQTransform",
            {},
            "jq_filter",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and "Test" in value else "",
)
def test_invalid_transform_is_a_configuration_error(
    run_ozzy: RunOzzy, work: Path, case: str, module: str, options: dict[str, Any], named: str
) -> None:
    result = run_ozzy(
        {
            "reader": fs_input(work, BATCH),
            "transform": {"name": module, "options": options},
            "writer": console(),
        }
    )
    assert result.code == 2
    assert named in result.err
    assert not result.out.strip()


@pytest.mark.parametrize(
    ("case", "expression"),
    [
        ("PythonMapTransformTest.test_transform_static", '""'),
        ("PythonMapTransformTest.test_transform_using_stdlib_functions", "tuple(sorted(item.values()))"),
        ("PythonMapTransformTest.test_transform_allows_regexp", 'bool(re.match("u.", item.get("country")))'),
    ],
    ids=lambda value: value if "Test" in value else "",
)
def test_map_to_a_non_item_fails_the_export(
    run_ozzy: RunOzzy, work: Path, case: str, expression: str
) -> None:
    """exporters passed strings, tuples and booleans on as "items" and a writer then failed or wrote
    garbage. Departure (docs/design.md, "Filters, transforms and groupers: departures": items are plain
    dicts everywhere): a map result that is no object fails the export, naming the transform."""
    result = run_ozzy(
        {
            "reader": fs_input(work, MAP_BATCH),
            "transform": {"name": "PythonMapTransform", "options": {"map": expression}},
            "writer": console(),
        }
    )
    assert result.code == 1
    assert "transform PythonmapTransform: option 'map'" in result.err
    assert "not a dict" in result.err
    assert not result.out.strip()
