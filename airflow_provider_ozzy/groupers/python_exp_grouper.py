"""Group items by the values of Python expressions, run in Ozzy's sandbox.

``python_expressions`` give one value each per item; the tuple of values names the group
(``{groups[0]}``, ``{groups[1]}`` in ``filebase``). Values may be anything: numbers and booleans
name folders by their text (``true``), ``None`` is ``unknown`` (as FileKeyGrouper), lists and
objects name them by their JSON text (``group_value``). Writers turn every value into a safe path segment (see ``path_safety``). All expressions
are compiled once into one comprehension over the batch.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.options import STR_LIST, Problem
from airflow_provider_ozzy.expressions.expression_module import (
    BUDGET_OPTIONS,
    IMPORTS_OPTION,
    ExpressionModule,
)
from airflow_provider_ozzy.expressions.python_sandbox import MAP, VALUES
from airflow_provider_ozzy.groupers.base_grouper import BaseGrouper, GroupKey, gather, group_value


class PythonExpGrouper(ExpressionModule, BaseGrouper):
    """``python_expressions``: e.g. ``["item['country'].lower()", "item['price'] > 100"]``."""

    supported_options = {
        "python_expressions": {
            "type": STR_LIST,
            "help": "One expression per group level, e.g. item['country'].lower().",
        },
        "imports": IMPORTS_OPTION,
        **BUDGET_OPTIONS,
    }

    expression_option = "python_expressions"
    expression_mode = VALUES

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._single = len(self.options["python_expressions"]) == 1
        self._expressions = self.compile()
        self.items_in = 0

    @classmethod
    def _mode(cls, expressions: list[str]) -> str:
        # one expression gives bare values, not 1-tuples: no tuple to build and unpack per item
        return MAP if len(expressions) == 1 else VALUES

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return super().check_values(values) + cls.expression_problems(values)

    def group_batch(self, batch: list[dict[str, Any]]) -> dict[GroupKey, list[dict[str, Any]]]:
        keys = self.run_expressions(self._expressions, batch, self.items_in)
        self.items_in += len(batch)
        if self._single:
            return gather([(value if type(value) is str else group_value(value),) for value in keys], batch)
        return gather([tuple(map(group_value, values)) for values in keys], batch)

    def group_key(self, item: dict[str, Any]) -> GroupKey:
        return next(iter(self.group_batch([item])))
