"""Run Python expressions on every item for their side effects (``item.update({...})``).

Each expression of ``python_expressions`` runs in order, in Ozzy's sandbox (see
``python_sandbox``), with ``item`` in scope; the item, changed in place, goes on. All of them are
compiled once into one comprehension over the batch.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.options import STR_LIST, Problem
from airflow_provider_ozzy.python_sandbox import (
    APPLY,
    ExpressionError,
    ExpressionFailure,
    compile_expressions,
    expression_problem,
)
from airflow_provider_ozzy.transform.base_transform import BaseTransform


class PythonexpTransform(BaseTransform):
    """``python_expressions``: e.g. ``["item.update({'total': item['price'] * item['qty']})"]``."""

    supported_options = {
        "python_expressions": {
            "type": STR_LIST,
            "help": "Expressions run on every item in order, e.g. item.update({'n': len(item['tags'])}).",
        },
        "imports": {
            "type": dict,
            "default": {},
            "help": 'Extra modules by alias, from the sandbox allow-list: {"hashlib": "hashlib"}.',
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._expressions = compile_expressions(
            self.options["python_expressions"], APPLY, self.options["imports"]
        )
        self.items_in = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if not values["python_expressions"]:
            problems.append(Problem("python_expressions", "option 'python_expressions' must not be empty"))
            return problems
        problem = expression_problem(values["python_expressions"], APPLY, values["imports"])
        if problem:
            option = "imports" if problem.startswith("import ") else "python_expressions"
            problems.append(Problem(option, f"option '{option}': {problem}"))
        return problems

    def transform_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            items = self._expressions.run(batch)
        except ExpressionFailure as failure:
            raise ExpressionError(
                f"{self.kind} {type(self).__name__}: {failure.describe('python_expressions', self.items_in)}"
            ) from failure.cause
        self.items_in += len(batch)
        return items
