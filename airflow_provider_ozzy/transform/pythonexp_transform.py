"""Run Python expressions on every item for their side effects (``item.update({...})``).

Each expression of ``python_expressions`` runs in order, in Ozzy's sandbox (see
``python_sandbox``), with ``item`` in scope; the item, changed in place, goes on. All of them are
compiled once into one comprehension over the batch.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.options import STR_LIST, Problem
from airflow_provider_ozzy.expressions.expression_module import (
    BUDGET_OPTIONS,
    IMPORTS_OPTION,
    ExpressionModule,
)
from airflow_provider_ozzy.expressions.python_sandbox import APPLY
from airflow_provider_ozzy.transform.base_transform import BaseTransform


class PythonexpTransform(ExpressionModule, BaseTransform):
    """``python_expressions``: e.g. ``["item.update({'total': item['price'] * item['qty']})"]``."""

    supported_options = {
        "python_expressions": {
            "type": STR_LIST,
            "help": "Expressions run on every item in order, e.g. item.update({'n': len(item['tags'])}).",
        },
        "imports": IMPORTS_OPTION,
        **BUDGET_OPTIONS,
    }

    expression_option = "python_expressions"
    expression_mode = APPLY

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._expressions = self.compile()
        self.items_in = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return super().check_values(values) + cls.expression_problems(values)

    def transform_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items = self.run_expressions(self._expressions, batch, self.items_in)
        self.items_in += len(batch)
        return items
