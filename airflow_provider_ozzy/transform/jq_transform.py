"""Rewrite items with a jq program (the ``jq`` bindings of libjq), compiled once.

``outputs``: ``first`` (default, as exporters) keeps the first output of the program for each
item (later ones are ignored); ``all`` keeps every output, so ``.children[]`` turns one item into several. A program with
no output for an item (``select(.price > 10)`` when false) drops it. Every output must be a JSON
object (items are objects); wrap other values: ``{value: .price}``.

The batch goes through libjq as one stream of JSON text (orjson on both sides), not item by item.
The program cannot read the process environment (``env`` and ``$ENV`` are empty), other inputs
(``input``/``inputs``) or jq modules from disk (``import``/``include``).
"""

from __future__ import annotations

from typing import Any

import jq
import orjson

from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.transform.base_transform import BaseTransform

OUTPUTS = ("first", "all")
_PRELUDE = (
    'def env: {}; def input: error("input is not available in Ozzy"); '
    'def inputs: error("inputs is not available in Ozzy"); {} as $ENV | '
)


class JqTransformError(OzzyError):
    """A jq program failed on a batch, or produced something that is not an item."""


def _compile_problem(program: str) -> str | None:
    try:
        jq.compile(program)
    except ValueError as error:
        detail = " ".join(str(error).split())
        return f"option 'jq_filter': {program!r} does not compile: {detail}"
    try:
        jq.compile(_wrap(program, "first"))
    except ValueError:
        return f"option 'jq_filter': {program!r}: jq modules (import/include) are not available in Ozzy"
    return None


# After each item's outputs the program emits this string, so one pass over a whole batch still
# tells which outputs belong to which item (``first(f)`` costs about 7 µs per item in libjq 1.7,
# the marker about 1 µs). Items are objects, so a string output can never be taken for it.
_END = "\\u0000ozzy-end"


def _wrap(program: str, outputs: str) -> str:
    # the newline ends a trailing '# comment' of the program
    body = f'(({program}\n), "{_END}")' if outputs == "first" else f"({program}\n)"
    return _PRELUDE + body


def _end_line() -> str:
    """How libjq prints the end marker (its text form, one line)."""
    return str(jq.compile(f'"{_END}"').input_value(None).text())


class JqTransform(BaseTransform):
    """``jq_filter``: a jq program applied to every item (legacy name ``JQTransform``)."""

    supported_options = {
        "jq_filter": {"type": str, "help": "jq program run on every item, e.g. '{id, name: .user.name}'."},
        "outputs": {
            "type": str,
            "default": "first",
            "choices": OUTPUTS,
            "help": "first: one item per input item (exporters); all: every output is an item.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._first = self.options["outputs"] == "first"
        self._program = jq.compile(_wrap(self.options["jq_filter"], self.options["outputs"]))
        self._end = _end_line()
        self.items_in = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        problem = _compile_problem(values["jq_filter"])
        if problem:
            problems.append(Problem("jq_filter", problem))
        return problems

    def transform_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not batch:
            return batch
        text = b"\n".join(map(orjson.dumps, batch)).decode("utf-8")
        try:
            output = self._program.input_text(text).text()
        except ValueError as error:
            raise self._failure(batch, error) from None
        self.items_in += len(batch)
        if not output:
            return []
        lines = output.split("\n")
        if self._first:
            lines = self._first_outputs(lines)
        items = [orjson.loads(line) for line in lines]
        for item in items:
            if not isinstance(item, dict):
                raise JqTransformError(
                    f"{self.kind} {type(self).__name__}: option 'jq_filter' {self.options['jq_filter']!r} produced "
                    f"{orjson.dumps(item).decode()[:80]}, which is not an object; wrap it, e.g. {{value: ...}}"
                )
        return items

    def _first_outputs(self, lines: list[str]) -> list[str]:
        """The first output line of every item (none for an item without output: it is dropped)."""
        end = self._end
        first: list[str] = []
        taken = False
        for line in lines:
            if line == end:
                taken = False
            elif not taken:
                first.append(line)
                taken = True
        return first

    def _failure(self, batch: list[dict[str, Any]], error: ValueError) -> JqTransformError:
        """Name the first item the program fails on (slow path, after a failure only)."""
        for position, item in enumerate(batch):
            try:
                self._program.input_text(orjson.dumps(item).decode("utf-8")).text()
            except ValueError as found:
                number = self.items_in + position + 1
                return JqTransformError(
                    f"{self.kind} {type(self).__name__}: option 'jq_filter' {self.options['jq_filter']!r} failed "
                    f"on item {number}: {' '.join(str(found).split())}"
                )
        return JqTransformError(f"{self.kind} {type(self).__name__}: jq failed: {error}")
