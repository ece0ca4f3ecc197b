"""Group items by the values of Python expressions, run in Ozzy's sandbox.

``python_expressions`` give one value each per item; the tuple of values names the group
(``{groups[0]}``, ``{groups[1]}`` in ``filebase``). Values may be anything: numbers and booleans
name folders by their text (``true``), ``None`` is ``unknown`` (as FileKeyGrouper), lists and
objects name them by their JSON text (``group_value``). Writers turn every value into a safe path segment (see ``path_safety``). All expressions
are compiled once into one comprehension over the batch.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.groupers.base_grouper import BaseGrouper, GroupKey, group_value
from airflow_provider_ozzy.options import STR_LIST, Problem
from airflow_provider_ozzy.python_sandbox import (
    MAP,
    VALUES,
    ExpressionError,
    ExpressionFailure,
    compile_expressions,
    expression_problem,
)


class PythonExpGrouper(BaseGrouper):
    """``python_expressions``: e.g. ``["item['country'].lower()", "item['price'] > 100"]``."""

    supported_options = {
        "python_expressions": {
            "type": STR_LIST,
            "help": "One expression per group level, e.g. item['country'].lower().",
        },
        "imports": {
            "type": dict,
            "default": {},
            "help": 'Extra modules by alias, from the sandbox allow-list: {"hashlib": "hashlib"}.',
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        expressions = self.options["python_expressions"]
        self._single = len(expressions) == 1
        # one expression gives bare values, not 1-tuples: no tuple to build and unpack per item
        mode = MAP if self._single else VALUES
        self._expressions = compile_expressions(expressions, mode, self.options["imports"])
        self.items_in = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if not values["python_expressions"]:
            problems.append(Problem("python_expressions", "option 'python_expressions' must not be empty"))
            return problems
        problem = expression_problem(values["python_expressions"], VALUES, values["imports"])
        if problem:
            option = "imports" if problem.startswith("import ") else "python_expressions"
            problems.append(Problem(option, f"option '{option}': {problem}"))
        return problems

    def group_batch(self, batch: list[dict[str, Any]]) -> dict[GroupKey, list[dict[str, Any]]]:
        try:
            keys = self._expressions.run(batch)
        except ExpressionFailure as failure:
            raise ExpressionError(
                f"{self.kind} {type(self).__name__}: {failure.describe('python_expressions', self.items_in)}"
            ) from failure.cause
        self.items_in += len(batch)
        groups: dict[GroupKey, list[dict[str, Any]]] = {}
        single = self._single
        for values, item in zip(keys, batch, strict=True):
            if single:
                key: GroupKey = (values if type(values) is str else group_value(values),)
            else:
                key = tuple(map(group_value, values))
            members = groups.get(key)
            if members is None:
                groups[key] = [item]
            else:
                members.append(item)
        return groups

    def group_key(self, item: dict[str, Any]) -> GroupKey:
        return next(iter(self.group_batch([item])))
