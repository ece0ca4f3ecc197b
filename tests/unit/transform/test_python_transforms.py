"""PythonexpTransform and PythonmapTransform: sandboxed, per batch, plain dicts out."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.engine.registry import resolve
from airflow_provider_ozzy.errors import ConfigurationError, OzzyError
from airflow_provider_ozzy.expressions.python_sandbox import ExpressionError
from airflow_provider_ozzy.transform.pythonexp_transform import PythonexpTransform
from airflow_provider_ozzy.transform.pythonmap import PythonmapTransform

ITEMS = [
    {"id": 1, "name": "ana", "tags": ["a"], "address": {"city": "Málaga"}, "price": 2.5, "qty": 4},
    {"id": 2, "name": "東京", "tags": [], "price": 1, "qty": 0},
]


def fresh() -> list[dict]:
    return [dict(item) for item in ITEMS]


def test_pythonexp_transform_runs_every_expression_in_order() -> None:
    module = PythonexpTransform(
        {
            "python_expressions": [
                "item.update({'total': item['price'] * item['qty']})",
                "item.update({'city': item.get('address', {}).get('city', 'unknown')})",
                "item.pop('tags')",
                "item.update({'big': item['total'] > 5})",
            ]
        }
    )
    assert module.transform_batch(fresh()) == [
        {
            "id": 1,
            "name": "ana",
            "address": {"city": "Málaga"},
            "price": 2.5,
            "qty": 4,
            "total": 10.0,
            "city": "Málaga",
            "big": True,
        },
        {"id": 2, "name": "東京", "price": 1, "qty": 0, "total": 0, "city": "unknown", "big": False},
    ]


def test_pythonexp_transform_failure_is_located() -> None:
    module = PythonexpTransform({"python_expressions": ["item.update({'c': item['address']['city']})"]})
    with pytest.raises(
        ExpressionError, match="transform PythonexpTransform: option 'python_expressions'.*item 2: KeyError"
    ):
        module.transform_batch(fresh())


def test_pythonmap_returns_plain_dicts() -> None:
    module = PythonmapTransform(
        {"map": "{'id': item['id'], 'name': item['name'].title(), 'n': len(item['tags'])}"}
    )
    assert module.transform_batch(fresh()) == [
        {"id": 1, "name": "Ana", "n": 1},
        {"id": 2, "name": "東京", "n": 0},
    ]
    assert resolve("exporters.transform.pythonmap.PythonMapTransform", "transform") is PythonmapTransform


def test_pythonmap_must_give_dicts() -> None:
    module = PythonmapTransform({"map": "item['name']"})
    with pytest.raises(OzzyError, match="gave a str, not a dict, for item 1"):
        module.transform_batch(fresh())


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (
            PythonmapTransform,
            {"map": "item.__class__"},
            "option 'map': expression 'item.__class__' is not allowed",
        ),
        (PythonexpTransform, {"python_expressions": []}, "option 'python_expressions' must not be empty"),
        (PythonexpTransform, {"python_expressions": ["item", "open('x')"]}, "'open' is not available"),
        (PythonexpTransform, {"python_expressions": ["1"], "imports": {"o": "os"}}, "option 'imports'"),
    ],
)
def test_bad_expressions_are_configuration_errors(cls: type, options: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        cls(options)
    assert f"transform {cls.__name__}" in str(raised.value) and message in str(raised.value)
