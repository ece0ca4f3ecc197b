"""Folds every item with user code: ``reduce_function(item, accumulator=None)`` returns the new accumulator.

The code runs in Ozzy's sandbox (``reduce_sandbox``), not with ``exec`` as in exporters, and is
checked when the config is validated. Nothing is written anywhere: the accumulator is part of the
writer state committed with the reader position after each batch (``writers/reduce_values``
saves it exactly, a ``Counter`` stays a ``Counter``), so a resume continues the fold from the last
committed batch and no item is counted twice or missed. The final value is logged and returned
under ``result`` in the stats (the operator's XCom, ``ozzy run``'s output).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from airflow_provider_ozzy.errors import OzzyError, WriterError
from airflow_provider_ozzy.expression_module import IMPORTS_OPTION
from airflow_provider_ozzy.options import Problem
from airflow_provider_ozzy.python_sandbox import SandboxViolation
from airflow_provider_ozzy.reduce_sandbox import compile_reduce
from airflow_provider_ozzy.writers.reduce_values import UnsavableValue, decode, encode, plain
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
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        _, code = _source(self.options)
        self.reduce_function: Callable[[Any, Any], Any] = compile_reduce(code, self.options["imports"])
        self.accumulator: Any = None
        self.items_reduced = 0

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
            compile_reduce(code, values["imports"])
        except SandboxViolation as violation:
            where = "imports" if str(violation).startswith(("import ", "module ")) else option
            problems.append(Problem(where, f"option '{where}': {violation}"))
        return problems

    @property
    def label(self) -> str:
        return f"{self.kind} {type(self).__name__}"

    def write_items(self, items: list[dict[str, Any]]) -> None:
        accumulator = self.accumulator
        function = self.reduce_function
        for offset, item in enumerate(items):
            try:
                accumulator = function(item, accumulator)
            except Exception as error:
                raise WriterError(
                    f"{self.label}: reduce_function failed on item {self.items_reduced + offset + 1}: "
                    f"{type(error).__name__}: {error}"
                ) from None
        self.accumulator = accumulator
        self.items_reduced += len(items)
        self.items_written = self.items_reduced
        self.log.debug("%s: %d items reduced", self.label, self.items_reduced)

    def extra_state(self) -> Any:
        try:
            return {"accumulator": encode(self.accumulator), "items_reduced": self.items_reduced}
        except UnsavableValue as error:
            raise OzzyError(f"{self.label}: the accumulator cannot be committed: {error}") from None

    def restore_extra(self, extra: Any) -> None:
        if extra:
            self.accumulator = decode(extra["accumulator"])
            self.items_reduced = int(extra.get("items_reduced", 0))

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
