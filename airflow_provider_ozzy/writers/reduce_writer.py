"""Folds every item with user code: ``reduce_function(item, accumulator=None)`` returns the new accumulator.

The code runs in Ozzy's sandbox (``reduce_sandbox``), not with ``exec`` as in exporters, in a
sandbox process of its own (``sandbox_process``) bounded by ``time_budget_seconds`` per batch and
``memory_budget_mib``. Validation (``ozzy validate``, DAG parsing) only checks and compiles it: not
even its top-level assignments run then. Nothing is written anywhere: the accumulator is part of the
writer state committed with the reader position after each batch (``writers/reduce_values``
saves it exactly, a ``Counter`` stays a ``Counter``), so a resume continues the fold from the last
committed batch and no item is counted twice or missed. The final value is logged and returned
under ``result`` in the stats (the operator's XCom, ``ozzy run``'s output).
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_ozzy.core.errors import OzzyError, WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.expressions.expression_module import (
    BUDGET_OPTIONS,
    IMPORTS_OPTION,
    budget_error,
    budget_problems,
)
from airflow_provider_ozzy.expressions.python_sandbox import SandboxViolation, resolve_imports
from airflow_provider_ozzy.expressions.reduce_sandbox import check_reduce
from airflow_provider_ozzy.expressions.reduce_values import decode, plain
from airflow_provider_ozzy.expressions.sandbox_process import MEMORY, OutOfBudget, SandboxProcess
from airflow_provider_ozzy.writers.unbuffered_writer import UnbufferedWriter


def _source(values: dict[str, Any]) -> tuple[str, str]:
    """(option, code) from ``code`` or the file ``source_path``."""
    if values["source_path"]:
        with open(values["source_path"], encoding="utf-8") as handle:
            return "source_path", handle.read()
    return "code", values["code"]


class ReduceWriter(UnbufferedWriter):
    """``code``: Python defining ``reduce_function(item, accumulator=None)``; the result goes to the stats."""

    supported_options = {
        "code": {
            "type": (str, type(None)),
            "default": None,
            "help": "Python code defining reduce_function(item, accumulator=None) (sandboxed).",
        },
        "source_path": {
            "type": (str, type(None)),
            "default": None,
            "help": "File holding the code instead of 'code'.",
        },
        "imports": IMPORTS_OPTION,
        **BUDGET_OPTIONS,
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.code_option, code = _source(self.options)
        check_reduce(code, self.options["imports"])  # nothing runs here: in the sandbox process
        modules = resolve_imports(self.options["imports"])
        self.sandbox = SandboxProcess(
            self.options["time_budget_seconds"],
            self.options["memory_budget_mib"],
            lambda: [("reduce", code, modules), ("accumulator", self._encoded)],
        )
        self._encoded: Any = None  # the accumulator as reduce_values.encode gives it
        self._unsavable: str | None = None
        self._decoded: tuple[Any, Any] | None = None
        self.items_reduced = 0

    @property
    def accumulator(self) -> Any:
        """The accumulator as the sandbox process last reported it (rebuilt from its encoding)."""
        if self._decoded is None or self._decoded[0] is not self._encoded:
            self._decoded = (self._encoded, decode(self._encoded))
        return self._decoded[1]

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if bool(values["code"]) == bool(values["source_path"]):
            return problems + [Problem("code", "give exactly one of option 'code' and option 'source_path'")]
        try:
            option, code = _source(values)
        except OSError as error:
            return problems + [
                Problem(
                    "source_path", f"option 'source_path': cannot read {error.filename}: {error.strerror}"
                )
            ]
        try:
            check_reduce(code, values["imports"])
        except SandboxViolation as violation:
            where = "imports" if str(violation).startswith(("import ", "module ")) else option
            problems.append(Problem(where, f"option '{where}': {violation}"))
        return problems + budget_problems(values)

    @property
    def label(self) -> str:
        return f"{self.kind} {type(self).__name__}"

    def write_items(self, items: list[dict[str, Any]]) -> None:
        first = self.items_reduced + 1
        try:
            answer = self.sandbox.request(("fold", items))
        except OutOfBudget as over:
            what = f"reduce code (option '{self.code_option}')"
            raise budget_error(self.label, over, self.options, what, first, len(items)) from None
        if answer[0] == "memory":
            what = f"reduce code (option '{self.code_option}')"
            memory = OutOfBudget(MEMORY, "MemoryError", answer[1])
            raise budget_error(self.label, memory, self.options, what, first, len(items))
        if answer[0] == "violation":  # its top level failed in the sandbox process
            raise WriterError(f"{self.label}: option '{self.code_option}': {answer[1]}")
        if answer[0] == "failure":
            error = answer[3]
            raise WriterError(
                f"{self.label}: reduce_function failed on item {first + answer[2]}: "
                f"{type(error).__name__}: {error}"
            ) from None
        self._encoded, self._unsavable = answer[1]
        self.items_reduced += len(items)
        self.items_written = self.items_reduced
        self.log.debug("%s: %d items reduced", self.label, self.items_reduced)

    def extra_state(self) -> Any:
        if self._unsavable is not None:
            raise OzzyError(f"{self.label}: the accumulator cannot be committed: {self._unsavable}")
        return {"accumulator": self._encoded, "items_reduced": self.items_reduced}

    def restore_extra(self, extra: Any) -> None:
        if extra:
            decode(extra["accumulator"])  # refuses a damaged state here, not in the sandbox process
            self._encoded = extra["accumulator"]
            self.items_reduced = int(extra.get("items_reduced", 0))
            self.sandbox.kill()  # the next batch starts from this accumulator

    def close(self) -> None:
        self.sandbox.close()
        super().close()

    def finish_writing(self) -> None:
        super().finish_writing()
        shown = json.dumps(plain(self.accumulator), default=str)
        self.log.info(
            "%s: result after %d items: %s",
            self.label,
            self.items_reduced,
            shown[:2000] + ("..." if len(shown) > 2000 else ""),
        )

    def result(self) -> dict[str, Any] | None:
        return {"value": plain(self.accumulator), "items_reduced": self.items_reduced}
