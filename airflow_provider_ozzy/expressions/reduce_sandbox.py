"""ReduceWriter's user code (``def reduce_function(item, accumulator=None): ...``) in Ozzy's sandbox.

exporters ran this code with plain ``exec``. Here it goes through the same three layers as
expressions (``python_sandbox``): the same names, attributes, builtins and module proxies, the
same guarded ``**``/``*``/``<<``, RestrictedPython's compiler, plus a whitelist of the statements a
fold needs: ``def`` (no decorators), assignments (to names and items, not attributes), ``return``,
``if``, ``for``, ``break``/``continue``/``pass``, ``del`` of items and expression statements.
No ``import``, ``class``, ``while``, ``try``, ``with``, ``global``, ``lambda``, ``yield``.
``acc[k] += v`` is rewritten to ``acc[k] = acc[k] + v`` (RestrictedPython refuses the first) when
the target has no calls (it is evaluated twice). Item assignment works on dicts, lists and the
``collections`` containers; anything else refuses it.
"""

from __future__ import annotations

import ast
import collections
import copy
from collections.abc import Callable, Mapping
from typing import Any

from RestrictedPython import compile_restricted_exec

from airflow_provider_ozzy.expressions import python_sandbox as sandbox
from airflow_provider_ozzy.expressions.python_sandbox import SandboxViolation

FUNCTION = "reduce_function"
MAX_CODE = 20_000
MISSING = f"Missing definition of {FUNCTION}(item, accumulator=None)"

_STATEMENTS: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.Return,
    ast.Assign,
    ast.AugAssign,
    ast.If,
    ast.For,
    ast.Break,
    ast.Continue,
    ast.Pass,
    ast.Expr,
    ast.Delete,
    ast.Del,
)
_STATEMENT_NAMES = {
    ast.Import: "import (modules come from the 'imports' option)",
    ast.ImportFrom: "import (modules come from the 'imports' option)",
    ast.ClassDef: "class definitions",
    ast.While: "while loops (use for)",
    ast.Try: "try/except",
    ast.With: "with",
    ast.Global: "global",
    ast.Nonlocal: "nonlocal",
    ast.Raise: "raise",
    ast.AsyncFunctionDef: "async functions",
}
_WRITABLE = (
    dict,
    list,
    collections.Counter,
    collections.defaultdict,
    collections.OrderedDict,
    collections.deque,
)


def _write_guard(target: Any) -> Any:
    """``target[key] = value``/``del target[key]`` only on plain containers."""
    if type(target) in _WRITABLE:
        return target
    raise TypeError(f"items of a {type(target).__name__} cannot be assigned in reduce code")


def _as_load(node: ast.expr) -> ast.expr:
    for inner in ast.walk(node):
        if hasattr(inner, "ctx"):
            inner.ctx = ast.Load()
    return node


class _RewriteAugAssign(ast.NodeTransformer):
    """``x op= v`` -> ``x = x op v`` for names, and items of a name with a simple index."""

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        target = node.target
        if isinstance(target, ast.Name):
            load: ast.expr = ast.Name(target.id, ast.Load())
        elif isinstance(target, ast.Subscript) and not any(
            isinstance(inner, ast.Call) for inner in ast.walk(target)
        ):  # evaluated twice: only without calls, which could differ the second time
            load = _as_load(copy.deepcopy(target))
        else:
            return node  # RestrictedPython refuses it with its own message
        value = ast.BinOp(load, node.op, node.value)
        return ast.copy_location(ast.Assign(targets=[target], value=value), node)


def _check(tree: ast.Module, modules: Mapping[str, str]) -> None:
    """Layer 1 for statements: allowed nodes, names and attributes (raises ``SandboxViolation``)."""
    for statement in tree.body:
        docstring = isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        if not isinstance(statement, (ast.FunctionDef, ast.Assign)) and not docstring:
            raise SandboxViolation(
                f"line {statement.lineno}: only function definitions and assignments are allowed at the top level"
            )
    bound = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
    }
    bound |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    bound |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    bound = {name for name in bound if not name.startswith(("_", "ozzy_"))}
    known = {sandbox.ITEM, *modules, *sandbox.SAFE_BUILTINS} | bound
    for node in ast.walk(tree):
        problem = None
        if not isinstance(node, (*_STATEMENTS, *sandbox._ALLOWED_NODES)):
            what = _STATEMENT_NAMES.get(type(node)) or sandbox._NODE_NAMES.get(
                type(node), f"{type(node).__name__} nodes"
            )
            problem = f"{what} not allowed in reduce code"
        elif isinstance(node, ast.FunctionDef) and (node.decorator_list or node.returns):
            problem = f"function {node.name!r}: decorators and annotations are not allowed"
        elif isinstance(node, ast.arg) and (node.annotation or node.arg.startswith(("_", "ozzy_"))):
            problem = f"parameter {node.arg!r} is not allowed (no annotations, no names starting with '_')"
        elif isinstance(node, ast.arguments) and (node.vararg or node.kwarg):
            problem = "*args and **kwargs are not allowed"
        elif isinstance(node, ast.FunctionDef) and node.name.startswith(("_", "ozzy_")):
            problem = f"function name {node.name!r} is not allowed (names starting with '_' or 'ozzy_')"
        elif isinstance(node, ast.Name):
            problem = sandbox._name_problem(node.id, known) if node.id.startswith(("_", "ozzy_")) else None
            if problem is None and isinstance(node.ctx, ast.Load):
                problem = sandbox._name_problem(node.id, known)
        elif isinstance(node, ast.Attribute):
            if not isinstance(node.ctx, ast.Load):
                problem = "assigning or deleting attributes is not allowed"
            else:
                problem = sandbox._attribute_problem(node.attr) or sandbox._module_attribute_problem(
                    node, modules, bound
                )
        if problem:
            line = getattr(node, "lineno", None)
            raise SandboxViolation(f"reduce code {'line ' + str(line) + ': ' if line else ''}{problem}")
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    reduce_function = functions.get(FUNCTION)
    if reduce_function is None or not 1 <= len(reduce_function.args.args) <= 2:
        raise SandboxViolation(MISSING)


def check_reduce(code: Any, imports: Mapping[str, Any] | None = None) -> None:
    """Check and compile ``code`` without running any of it (validation, DAG parsing)."""
    _compiled(code, imports)


def _compiled(code: Any, imports: Mapping[str, Any] | None) -> tuple[Any, dict[str, str]]:
    modules = sandbox.resolve_imports(imports)
    if not isinstance(code, str) or not code.strip():
        raise SandboxViolation("reduce code must be non-empty text")
    if len(code) > MAX_CODE:
        raise SandboxViolation(f"reduce code is longer than {MAX_CODE} characters")
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as error:
        raise SandboxViolation(f"reduce code line {error.lineno}: invalid Python: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise SandboxViolation(f"reduce code cannot be parsed: {error}") from None
    _check(tree, modules)
    tree = _RewriteAugAssign().visit(tree)
    tree = sandbox._GuardOperators().visit(tree)
    ast.fix_missing_locations(tree)
    result = compile_restricted_exec(tree, filename="<ozzy reduce code>")
    if result.errors or result.code is None:
        raise SandboxViolation(f"reduce code is not allowed: {'; '.join(result.errors)}")
    return result.code, modules


def compile_reduce(code: Any, imports: Mapping[str, Any] | None = None) -> Callable[[Any, Any], Any]:
    """Check and compile ``code``, run its top level; returns its ``reduce_function``.

    Runs user code (top-level assignments): only in a sandbox process (``sandbox_worker``), under
    the writer's budgets. Raises ``SandboxViolation``.
    """
    code_object, modules = _compiled(code, imports)
    namespace = sandbox._namespace(modules)
    namespace["_write_"] = _write_guard
    try:
        exec(code_object, namespace)  # noqa: S102 - restricted code, restricted namespace
    except MemoryError:
        raise  # the sandbox process reports its memory budget
    except Exception as error:  # top-level assignments run here
        raise SandboxViolation(
            f"reduce code failed while being defined: {type(error).__name__}: {error}"
        ) from None
    function: Callable[[Any, Any], Any] = namespace[FUNCTION]
    return function
