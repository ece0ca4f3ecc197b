"""Keep items for which a Python expression is truthy, run in Ozzy's sandbox.

The expression sees ``item`` (the record, a dict), the modules ``datetime``, ``re``, ``math``,
``json``, ``itertools`` and ``calendar``, modules named in ``imports`` (alias -> module, from the
allow-list of ``python_sandbox``) and safe builtins. It is checked and compiled once, then run as
one list comprehension per batch. An escape attempt is a configuration error; an expression that
fails on an item (``KeyError`` for a missing key, say) stops the export with an error naming the
expression and the item, as in exporters (use ``item.get('key')`` for optional fields).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.expressions.expression_module import (
    BUDGET_OPTIONS,
    IMPORTS_OPTION,
    ExpressionModule,
)
from airflow_provider_ozzy.expressions.python_sandbox import FILTER
from airflow_provider_ozzy.filters.base_filter import BaseFilter


class PythonexpFilter(ExpressionModule, BaseFilter):
    """``python_expression``: keep the items for which it is truthy."""

    supported_options = {
        "python_expression": {
            "type": str,
            "help": "Keep items for which this is truthy: item['country'] == 'ES'.",
        },
        "imports": IMPORTS_OPTION,
        **BUDGET_OPTIONS,
    }

    expression_option = "python_expression"
    expression_mode = FILTER

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._expression = self.compile()

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return super().check_values(values) + cls.expression_problems(values)

    def filter_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = self.run_expressions(self._expression, batch, self.total)
        self.total += len(batch)
        self.filtered_out += len(batch) - len(kept)
        return kept

    def filter(self, item: dict[str, Any]) -> bool:
        """One item, outside the export loop (counts nothing)."""
        return bool(self._expression.run([item]))
