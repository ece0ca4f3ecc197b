"""What every module configured with sandboxed Python expressions shares (filter, transforms, grouper).

The ``imports`` option, the validation of the expressions (without running them), compiling them
once, and running them over a batch with errors that name the module, the option and the item.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_ozzy.options import Problem
from airflow_provider_ozzy.python_sandbox import (
    ExpressionError,
    ExpressionFailure,
    compile_expressions,
    expression_problem,
)

IMPORTS_OPTION: dict[str, Any] = {
    "type": dict,
    "default": {},
    "help": 'Extra modules by alias, from the sandbox allow-list: {"hashlib": "hashlib"}.',
}


class ExpressionModule:
    """Mixin for a ``PipelineItem`` whose option ``expression_option`` holds one or more expressions."""

    expression_option: ClassVar[str]
    expression_mode: ClassVar[str]
    kind: ClassVar[str]
    options: dict[str, Any]

    @classmethod
    def _sources(cls, values: dict[str, Any]) -> list[str]:
        value = values[cls.expression_option]
        return value if isinstance(value, list) else [value]

    @classmethod
    def _mode(cls, expressions: list[str]) -> str:
        return cls.expression_mode

    @classmethod
    def expression_problems(cls, values: dict[str, Any]) -> list[Problem]:
        """Problems of the expressions and imports, found without running anything."""
        option = cls.expression_option
        expressions = cls._sources(values)
        if not expressions:
            return [Problem(option, f"option '{option}' must not be empty")]
        problem = expression_problem(expressions, cls._mode(expressions), values["imports"])
        if not problem:
            return []
        where = "imports" if problem.startswith(("import ", "module ")) else option
        return [Problem(where, f"option '{where}': {problem}")]

    def compile(self) -> Any:
        expressions = self._sources(self.options)
        return compile_expressions(expressions, self._mode(expressions), self.options["imports"])

    def run_expressions(self, compiled: Any, batch: list[dict[str, Any]], items_before: int) -> Any:
        """``compiled.run(batch)``; a failing item stops the export with its place named."""
        try:
            return compiled.run(batch)
        except ExpressionFailure as failure:
            raise ExpressionError(
                f"{self.kind} {type(self).__name__}: {failure.describe(self.expression_option, items_before)}"
            ) from failure.cause
