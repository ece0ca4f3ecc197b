"""What every module configured with sandboxed Python expressions shares (filter, transforms, grouper).

The ``imports`` option, the budgets (``time_budget_seconds``, ``memory_budget_mib``), the validation
of the expressions (without running them: validation runs when a DAG is parsed), and running them
over a batch in the module's sandbox process (``sandbox_process``) with errors that name the
module, the option and the item.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_ozzy.core.errors import permanent
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.expressions.python_sandbox import (
    APPLY,
    FILTER,
    MAP,
    VALUES,
    CompiledExpressions,
    ExpressionError,
    ExpressionFailure,
    SandboxBudgetError,
    SandboxViolation,
    _short,
    compile_expressions,
    expression_problem,
    item_keys,
    resolve_imports,
    update_keys,
)
from airflow_provider_ozzy.expressions.sandbox_process import MEMORY, TIME, OutOfBudget, SandboxProcess

IMPORTS_OPTION: dict[str, Any] = {
    "type": dict,
    "default": {},
    "help": 'Extra modules by alias, from the sandbox allow-list: {"hashlib": "hashlib"}.',
}
TIME_RANGE = (0.1, 86_400.0)
MEMORY_RANGE = (32, 1_048_576)
BUDGET_OPTIONS: dict[str, dict[str, Any]] = {
    TIME: {
        "type": (int, float),
        "default": 60,
        "minimum": TIME_RANGE[0],
        "maximum": TIME_RANGE[1],
        "help": "Seconds the Python code may take per batch (0.1 to 86400); then the export fails.",
    },
    MEMORY: {
        "type": int,
        "default": 1024,
        "minimum": MEMORY_RANGE[0],
        "maximum": MEMORY_RANGE[1],
        "help": "MiB the Python code may allocate (batch included; 32 to 1048576); then the export fails.",
    },
}


def budget_problems(values: dict[str, Any]) -> list[Problem]:
    """The budgets' ranges (booleans are not numbers here)."""
    problems = []
    for option, (low, high) in ((TIME, TIME_RANGE), (MEMORY, MEMORY_RANGE)):
        value = values[option]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            problems.append(
                Problem(
                    option, f"option '{option}' must be a number from {low:g} to {high:.0f}, got {value!r}"
                )
            )
    return problems


def budget_error(
    label: str, over: OutOfBudget, values: dict[str, Any], what: str, first_item: int, count: int
) -> SandboxBudgetError:
    """One line: module, option and its value, the code, the items."""
    if over.position is not None:
        where = f"item {first_item + over.position}"
    elif count == 1:
        where = f"item {first_item}"
    else:
        where = f"items {first_item}-{first_item + count - 1}"
    unit = "s" if over.option == TIME else "MiB"
    detail = over.detail if over.option == TIME else f"needed more than {values[MEMORY]} MiB ({over.detail})"
    return SandboxBudgetError(
        f"{label}: option '{over.option}' ({values[over.option]:g} {unit}): {what} {detail} on {where}"
    )


class SandboxedExpressions:
    """Compiled expressions evaluated in a sandbox process; ``run(batch)`` as ``CompiledExpressions.run``."""

    def __init__(
        self, compiled: CompiledExpressions, mode: str, modules: dict[str, str], values: dict[str, Any]
    ) -> None:
        self.sources = list(compiled.sources)
        self.mode = mode
        # only the keys the expressions read cross to the sandbox process, when that is all they
        # read and the items themselves do not come back; an ``apply`` of ``item.update({...})``
        # gets back only the keys it sets (``written``), other ``apply`` expressions whole items
        self.keys = item_keys(compiled._trees) if mode in (FILTER, MAP, VALUES) else None
        self.written: tuple[str, ...] | None = None
        updates = update_keys(compiled._trees) if mode == APPLY else None
        if updates is not None:
            self.keys = item_keys(compiled._trees, skip=updates[1])
            self.written = updates[0] if self.keys is not None else None
        written = self.written
        self.process = SandboxProcess(
            values[TIME], values[MEMORY], lambda: [("expressions", self.sources, mode, modules, written)]
        )

    def run(self, batch: list[Any]) -> list[Any]:
        keys = self.keys
        if keys is None:
            sent = batch
        elif len(keys) == 1:
            (key,) = keys
            sent = [{key: item[key]} if key in item else {} for item in batch]
        else:
            sent = [{key: item[key] for key in keys if key in item} for item in batch]
        answer = self.process.request(("run", sent))
        if answer[0] == "ok":
            if self.mode == FILTER:
                return [batch[position] for position in answer[1]]
            if self.written is not None:  # the values of the keys set, per item: changed in place
                for item, changes in zip(batch, answer[1], strict=True):
                    item.update(changes)
                return batch
            if self.mode == APPLY:  # whole items came back: changed in place, as without a process
                for item, changed in zip(batch, answer[1], strict=True):
                    item.clear()
                    item.update(changed)
                return batch
            return answer[1]  # type: ignore[no-any-return]
        if answer[0] == "failure":
            raise ExpressionFailure(answer[1], answer[2], answer[3])
        if answer[0] == "memory":
            raise OutOfBudget(MEMORY, "MemoryError", answer[1])
        raise SandboxViolation(answer[1])

    def close(self) -> None:
        self.process.close()


class ExpressionModule:
    """Mixin for a ``PipelineItem`` whose option ``expression_option`` holds one or more expressions."""

    expression_option: ClassVar[str]
    expression_mode: ClassVar[str]
    kind: ClassVar[str]
    options: dict[str, Any]
    _sandboxed: SandboxedExpressions | None = None

    @classmethod
    def _sources(cls, values: dict[str, Any]) -> list[str]:
        value = values[cls.expression_option]
        return value if isinstance(value, list) else [value]

    @classmethod
    def _mode(cls, expressions: list[str]) -> str:
        return cls.expression_mode

    @classmethod
    def expression_problems(cls, values: dict[str, Any]) -> list[Problem]:
        """Problems of the expressions, imports and budgets, found without running anything."""
        option = cls.expression_option
        expressions = cls._sources(values)
        budgets = budget_problems(values)
        if not expressions:
            return [Problem(option, f"option '{option}' must not be empty"), *budgets]
        problem = expression_problem(expressions, cls._mode(expressions), values["imports"])
        if not problem:
            return budgets
        where = "imports" if problem.startswith(("import ", "module ")) else option
        return [Problem(where, f"option '{where}': {problem}"), *budgets]

    def compile(self) -> SandboxedExpressions:
        """Checked here (nothing runs), evaluated in a sandbox process started at the first batch."""
        expressions = self._sources(self.options)
        mode = self._mode(expressions)
        compiled = compile_expressions(expressions, mode, self.options["imports"])
        modules = resolve_imports(self.options["imports"])
        self._sandboxed = SandboxedExpressions(compiled, mode, modules, self.options)
        return self._sandboxed

    def run_expressions(self, compiled: Any, batch: list[dict[str, Any]], items_before: int) -> Any:
        """``compiled.run(batch)``; a failing item or an exceeded budget stops the export, located."""
        label = f"{self.kind} {type(self).__name__}"
        try:
            return compiled.run(batch)
        except ExpressionFailure as failure:
            raise ExpressionError(
                f"{label}: {failure.describe(self.expression_option, items_before)}"
            ) from failure.cause
        except SandboxViolation as violation:  # only if the sandbox process disagrees with this one
            refused = ExpressionError(f"{label}: option '{self.expression_option}': {violation}")
            raise permanent(refused) from None
        except OutOfBudget as over:
            what = f"option '{self.expression_option}': " + " ; ".join(
                _short(source) for source in compiled.sources
            )
            raise budget_error(label, over, self.options, what, items_before + 1, len(batch)) from None

    def close(self) -> None:
        if self._sandboxed is not None:
            self._sandboxed.close()
        super().close()  # type: ignore[misc]
