"""Replace every item by the value of a Python expression (legacy name ``PythonMapTransform``).

``map`` runs in Ozzy's sandbox (see ``python_sandbox``) with ``item`` in scope and must give an
object (a dict): ``{'id': item['id'], 'name': item['name'].title()}``. Items are plain dicts all
the way to the writers, so the exporters bug where a map returning a plain dict broke buffered
writers cannot happen; a value that is not a dict is an error naming the item.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.expressions.expression_module import (
    BUDGET_OPTIONS,
    IMPORTS_OPTION,
    ExpressionModule,
)
from airflow_provider_ozzy.expressions.python_sandbox import MAP
from airflow_provider_ozzy.transform.base_transform import BaseTransform


class PythonmapTransform(ExpressionModule, BaseTransform):
    """``map``: an expression giving the new item, e.g. ``{'id': item['id'], 'n': len(item['tags'])}``."""

    supported_options = {
        "map": {"type": str, "help": "Expression giving each new item (a dict)."},
        "imports": IMPORTS_OPTION,
        **BUDGET_OPTIONS,
    }

    expression_option = "map"
    expression_mode = MAP

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._expression = self.compile()
        self.items_in = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return super().check_values(values) + cls.expression_problems(values)

    def transform_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items = self.run_expressions(self._expression, batch, self.items_in)
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                raise OzzyError(
                    f"{self.kind} {type(self).__name__}: option 'map' {self.options['map']!r} gave a "
                    f"{type(item).__name__}, not a dict, for item {self.items_in + position + 1}"
                )
        self.items_in += len(batch)
        return items
