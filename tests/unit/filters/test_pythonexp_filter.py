"""PythonexpFilter: the expression decides per item, compiled once, run per batch."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.expressions.python_sandbox import ExpressionError
from airflow_provider_ozzy.filters.pythonexp_filter import PythonexpFilter

ITEMS = [
    {"id": 1, "country": "ES", "price": 10, "address": {"city": "Málaga"}},
    {"id": 2, "country": "FR", "price": 99.5, "address": {}},
    {"id": 3, "country": None, "price": "12"},
    {"id": 4, "country": "東京", "price": True},
]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("item['country'] == 'ES'", [1]),
        ("item.get('address', {}).get('city', '').startswith('M')", [1]),
        ("isinstance(item['price'], (int, float)) and not isinstance(item['price'], bool)", [1, 2]),
        ("item['country'] is None", [3]),
        ("len(item['country'] or '') == 2", [1, 2, 4]),
        ("'東' in (item['country'] or '')", [4]),
        ("re.match('^[A-Z]{2}$', item['country'] or '')", [1, 2]),
        ("math.isclose(float(item['price']), 12)", [3]),
        ("item['id'] % 2 == 0", [2, 4]),
        ("h.md5(str(item['id']).encode()).hexdigest().startswith('c')", [1, 2]),
    ],
)
def test_keeps_items_where_the_expression_is_truthy(expression: str, expected: list[int]) -> None:
    module = PythonexpFilter({"python_expression": expression, "imports": {"h": "hashlib"}})
    kept = module.filter_batch([dict(item) for item in ITEMS])
    assert [item["id"] for item in kept] == expected
    assert (module.total, module.filtered_out) == (4, 4 - len(expected))


def test_failure_on_an_item_names_module_option_expression_and_item() -> None:
    module = PythonexpFilter({"python_expression": "item['address']['city'] == 'x'"})
    module.filter_batch([ITEMS[0]])
    with pytest.raises(ExpressionError) as raised:
        module.filter_batch([ITEMS[0], ITEMS[1]])
    message = str(raised.value)
    assert message.startswith("filter PythonexpFilter: option 'python_expression'")
    assert "failed on item 3: KeyError: 'city'" in message


def test_validation_collects_the_problem() -> None:
    with pytest.raises(ConfigurationError, match="option 'python_expression': expression 'item.__dict__'"):
        PythonexpFilter({"python_expression": "item.__dict__"})
    with pytest.raises(ConfigurationError, match="missing mandatory option 'python_expression'"):
        PythonexpFilter({})
