"""Replace every item by the value of a Python expression (legacy name ``PythonMapTransform``).

``map`` runs in Ozzy's sandbox (see ``python_sandbox``) with ``item`` in scope and must give an
object (a dict): ``{'id': item['id'], 'name': item['name'].title()}``. Items are plain dicts all
the way to the writers, so the exporters bug where a map returning a plain dict broke buffered
writers cannot happen; a value that is not a dict is an error naming the item.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.errors import OzzyError
from airflow_provider_ozzy.options import Problem
from airflow_provider_ozzy.python_sandbox import (
    MAP,
    ExpressionError,
    ExpressionFailure,
    compile_expressions,
    expression_problem,
)
from airflow_provider_ozzy.transform.base_transform import BaseTransform


class PythonmapTransform(BaseTransform):
    """``map``: an expression giving the new item, e.g. ``{'id': item['id'], 'n': len(item['tags'])}``."""

    supported_options = {
        "map": {"type": str, "help": "Expression giving each new item (a dict)."},
        "imports": {
            "type": dict,
            "default": {},
            "help": 'Extra modules by alias, from the sandbox allow-list: {"hashlib": "hashlib"}.',
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._expression = compile_expressions([self.options["map"]], MAP, self.options["imports"])
        self.items_in = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        problem = expression_problem([values["map"]], MAP, values["imports"])
        if problem:
            option = "imports" if problem.startswith("import ") else "map"
            problems.append(Problem(option, f"option '{option}': {problem}"))
        return problems

    def transform_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            items = self._expression.run(batch)
        except ExpressionFailure as failure:
            raise ExpressionError(
                f"{self.kind} {type(self).__name__}: {failure.describe('map', self.items_in)}"
            ) from failure.cause
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                raise OzzyError(
                    f"{self.kind} {type(self).__name__}: option 'map' {self.options['map']!r} gave a "
                    f"{type(item).__name__}, not a dict, for item {self.items_in + position + 1}"
                )
        self.items_in += len(batch)
        return items
