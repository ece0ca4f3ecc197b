"""What a sandbox child process (``sandbox_process``) does with each request.

Requests and answers are tuples of plain values:

* ``("expressions", sources, mode, modules)`` -> ``("ok", None)`` or ``("violation", message)``
* ``("run", batch)`` -> ``("ok", values)``: for ``filter`` the positions of the kept items (the
  parent keeps its own objects), for the other modes the list ``CompiledExpressions.run`` gives
* ``("reduce", code, modules)`` -> compiles ReduceWriter's code and runs its top level
* ``("accumulator", encoded)`` -> restores the accumulator (``reduce_values`` encoding)
* ``("fold", items)`` -> ``("ok", (encoded accumulator or None, why it cannot be saved or None))``

A failing item answers ``("failure", source, position, exception)``; running out of memory
``("memory", position)``.
"""

from __future__ import annotations

import importlib
import pickle
from typing import Any

from airflow_provider_ozzy.expressions import python_sandbox as sandbox
from airflow_provider_ozzy.expressions.reduce_sandbox import compile_reduce
from airflow_provider_ozzy.expressions.reduce_values import UnsavableValue, decode, encode

# imported now, before the memory limit, so that the first expression using them pays nothing
for _name in (*sandbox.IMPORTABLE_MODULES, "_strptime", "decimal"):
    importlib.import_module(_name)
    if _name in sandbox.IMPORTABLE_MODULES:
        sandbox.module_proxy(_name)


def _portable(error: BaseException) -> BaseException:
    """``error`` if the parent can rebuild it, else a ``RuntimeError`` with its text."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


class Worker:
    def __init__(self) -> None:
        self.expressions: sandbox.CompiledExpressions | None = None
        self.written: list[str] | None = None
        self.reduce_function: Any = None
        self.accumulator: Any = None

    def answer(self, message: tuple[Any, ...]) -> tuple[Any, ...]:
        try:
            return getattr(self, f"_{message[0]}")(*message[1:])  # type: ignore[no-any-return]
        except sandbox.SandboxViolation as violation:
            return ("violation", str(violation))
        except MemoryError:
            return ("memory", None)

    def _expressions(
        self, sources: list[str], mode: str, modules: dict[str, str], written: list[str] | None = None
    ) -> tuple[Any, ...]:
        self.expressions = sandbox.CompiledExpressions(sources, mode, modules)
        self.written = written
        return ("ok", None)

    def _run(self, batch: list[Any]) -> tuple[Any, ...]:
        compiled = self.expressions
        assert compiled is not None
        try:
            values = compiled.run(batch)
        except sandbox.ExpressionFailure as failure:
            if isinstance(failure.cause, MemoryError):
                return ("memory", failure.position)
            return ("failure", failure.source, failure.position, _portable(failure.cause))
        if compiled.mode == sandbox.FILTER:
            kept = set(map(id, values))
            return ("ok", [position for position, item in enumerate(batch) if id(item) in kept])
        if self.written is not None:  # ``item.update({...})`` transforms: only the keys they set
            written = self.written
            return ("ok", [{key: item[key] for key in written} for item in values])
        return ("ok", values)

    def _reduce(self, code: str, modules: dict[str, str]) -> tuple[Any, ...]:
        self.reduce_function = compile_reduce(code, modules)
        self.accumulator = None
        return ("ok", None)

    def _accumulator(self, encoded: Any) -> tuple[Any, ...]:
        self.accumulator = decode(encoded)
        return ("ok", None)

    def _fold(self, items: list[Any]) -> tuple[Any, ...]:
        function, accumulator = self.reduce_function, self.accumulator
        for position, item in enumerate(items):
            try:
                accumulator = function(item, accumulator)
            except MemoryError:
                return ("memory", position)
            except Exception as error:
                return ("failure", None, position, _portable(error))
        self.accumulator = accumulator
        try:
            return ("ok", (encode(accumulator), None))
        except UnsavableValue as error:
            return ("ok", (None, str(error)))
