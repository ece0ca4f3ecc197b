"""Python expressions from configs: checked and compiled once, run per batch inside a sandbox.

Filters, transforms, groupers (and the reduce code of ReduceWriter) take Python expressions. In
exporters they ran through ``eval`` with the real builtins, so ``__import__('os')`` worked. Here an
expression goes through three layers, and any rejection is a ``SandboxViolation`` that the module
turns into a ``ConfigurationError`` naming itself, the option and the expression:

1. **Our AST whitelist** (Python 3 node types): one expression, no lambda, no walrus, no
   ``await``/``yield``; every name is ``item``, an allowed module, an allowed builtin or a
   comprehension variable; no name or attribute starting with ``_``, no frame/code/generator
   internals (``gi_frame``, ``f_globals``, ...), no ``format``/``format_map`` (``str.format``
   walks attributes by itself), no ``mro``.
2. **RestrictedPython** (Zope's restricted compiler) compiles the code with its own policy on top
   (it rejects the same families of names and attributes) and routes attribute access, subscripts
   and iteration through guard functions.
3. **A restricted run-time namespace**: a small set of builtins (no ``open``, ``getattr``,
   ``eval``, ``type``, ``__import__``, ...); modules only from an allow-list, given as proxies that
   hold their public functions and classes but no submodules (``json.codecs``, ``datetime.sys``
   would reach ``open`` and ``os``); ``**``, ``*``, ``<<``, ``pow`` and ``range`` refuse results
   too large to compute.

Each expression list is compiled into *one* Python function that runs a list comprehension over
the whole batch, so the per-item cost is the expression's own bytecode plus one guard call per
attribute or subscript: no per-item parsing, lookup of the expression or Python-level call.
Compilation results are cached per process.

Modules offer only an allow-list of pure functions, classes and constants (``_MODULE_NAMES``):
nothing that prints (``calendar.prcal``, ``re.DEBUG``), changes process-wide state
(``calendar.setfirstweekday``) or reads files (``json.load``, ``hashlib.file_digest``). Aliases in
``imports`` cannot take the sandbox's own names (``ozzy_pow``, ``item``, builtins).

Time and memory are bounded outside the interpreted code: modules run these functions in a child
process with a time and a memory budget per batch (``sandbox_process``), started with a fixed hash
seed, so set iteration order is the same in every run. ``random`` is not offered;
``datetime.datetime.now()`` still makes output depend on when it ran.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import operator
import re
import types
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from airflow_provider_ozzy.core.errors import OzzyError

# Modules every expression sees (as exporters gave them, minus ``random``: see the docstring).
DEFAULT_MODULES: tuple[str, ...] = ("datetime", "re", "math", "json", "itertools", "calendar")
# Modules an ``imports`` option may name, each reviewed: no file, process, network or global state.
IMPORTABLE_MODULES: tuple[str, ...] = (
    *DEFAULT_MODULES,
    "base64",
    "collections",
    "fractions",
    "hashlib",
    "statistics",
    "unicodedata",
)
# What each module offers: pure functions, classes and constants only. Not offered: anything that
# prints (calendar.prcal/prmonth, the calendar classes' pr* methods), changes process-wide state
# (calendar.setfirstweekday, re.purge, locale-switching calendars), reads or writes files
# (json.load/dump, base64.encode/decode, hashlib.file_digest), draws random numbers
# (statistics.NormalDist.samples) or creates classes (collections.namedtuple).
_MODULE_NAMES: dict[str, tuple[str, ...]] = {
    "datetime": ("MAXYEAR", "MINYEAR", "UTC", "date", "datetime", "time", "timedelta", "timezone", "tzinfo"),
    "re": (
        "A",
        "ASCII",
        "DOTALL",
        "I",
        "IGNORECASE",
        "L",
        "LOCALE",
        "M",
        "MULTILINE",
        "Match",
        "NOFLAG",
        "Pattern",
        "S",
        "U",
        "UNICODE",
        "VERBOSE",
        "X",
        "compile",
        "error",
        "escape",
        "findall",
        "finditer",
        "fullmatch",
        "match",
        "search",
        "split",
        "sub",
        "subn",
    ),
    "math": (),  # every public name: pure functions and constants
    "json": ("JSONDecodeError", "dumps", "loads"),
    "itertools": (),
    "calendar": (
        "FRIDAY",
        "MONDAY",
        "SATURDAY",
        "SUNDAY",
        "THURSDAY",
        "TUESDAY",
        "WEDNESDAY",
        "JANUARY",
        "FEBRUARY",
        "MARCH",
        "APRIL",
        "MAY",
        "JUNE",
        "JULY",
        "AUGUST",
        "SEPTEMBER",
        "OCTOBER",
        "NOVEMBER",
        "DECEMBER",
        "Day",
        "Month",
        "IllegalMonthError",
        "IllegalWeekdayError",
        "calendar",
        "day_abbr",
        "day_name",
        "firstweekday",
        "isleap",
        "leapdays",
        "month",
        "month_abbr",
        "month_name",
        "monthcalendar",
        "monthrange",
        "timegm",
        "weekday",
        "weekheader",
    ),
    "base64": (
        "a85decode",
        "a85encode",
        "b16decode",
        "b16encode",
        "b32decode",
        "b32encode",
        "b32hexdecode",
        "b32hexencode",
        "b64decode",
        "b64encode",
        "b85decode",
        "b85encode",
        "decodebytes",
        "encodebytes",
        "standard_b64decode",
        "standard_b64encode",
        "urlsafe_b64decode",
        "urlsafe_b64encode",
        "z85decode",
        "z85encode",
    ),
    "collections": ("ChainMap", "Counter", "OrderedDict", "defaultdict", "deque"),
    "fractions": ("Fraction",),
    "hashlib": (
        "algorithms_available",
        "algorithms_guaranteed",
        "blake2b",
        "blake2s",
        "md5",
        "new",
        "pbkdf2_hmac",
        "sha1",
        "sha224",
        "sha256",
        "sha384",
        "sha3_224",
        "sha3_256",
        "sha3_384",
        "sha3_512",
        "sha512",
        "shake_128",
        "shake_256",
    ),
    "statistics": (
        "StatisticsError",
        "correlation",
        "covariance",
        "fmean",
        "geometric_mean",
        "harmonic_mean",
        "linear_regression",
        "mean",
        "median",
        "median_grouped",
        "median_high",
        "median_low",
        "mode",
        "multimode",
        "pstdev",
        "pvariance",
        "quantiles",
        "stdev",
        "variance",
    ),
    "unicodedata": (
        "bidirectional",
        "category",
        "combining",
        "decimal",
        "decomposition",
        "digit",
        "east_asian_width",
        "is_normalized",
        "lookup",
        "mirrored",
        "name",
        "normalize",
        "numeric",
        "unidata_version",
    ),
}
# Public module attributes never exposed: they read sys.argv, print usage and exit.
_DENIED_MODULE_ATTRIBUTES = frozenset({"main", "test"})

MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_SEQUENCE = 10_000_000  # items or characters made by one repetition or range()
MAX_SOURCE = 10_000  # characters of one expression

ITEM = "item"
_BATCH = "ozzy_batch"
_RUN = "ozzy_run"

_WHY_NOT = {
    "__import__": "imports are only possible through the module's 'imports' option",
    "eval": "no code may be evaluated from inside an expression",
    "exec": "no code may be evaluated from inside an expression",
    "compile": "no code may be evaluated from inside an expression",
    "open": "expressions have no file or network access",
    "input": "expressions have no file or network access",
    "print": "expressions have no file or network access",
    "breakpoint": "expressions cannot debug the process",
    "help": "expressions cannot inspect the process",
    "getattr": "dynamic attribute access is not allowed; write item.name or item['key']",
    "setattr": "expressions cannot change objects' attributes",
    "delattr": "expressions cannot change objects' attributes",
    "hasattr": "dynamic attribute access is not allowed",
    "globals": "expressions cannot inspect the process",
    "locals": "expressions cannot inspect the process",
    "vars": "expressions cannot inspect the process",
    "dir": "expressions cannot inspect the process",
    "type": "types and classes cannot be inspected or created",
    "object": "types and classes cannot be inspected or created",
    "super": "types and classes cannot be inspected or created",
    "classmethod": "types and classes cannot be inspected or created",
    "staticmethod": "types and classes cannot be inspected or created",
    "property": "types and classes cannot be inspected or created",
    "memoryview": "expressions cannot inspect memory",
    "id": "object ids change from run to run (a resumed export must give the same result)",
    "hash": "hashes of text change from run to run; use hashlib.md5(...).hexdigest()",
    "random": "random values change from run to run (a resumed export must give the same result)",
    "exit": "expressions cannot stop the process",
    "quit": "expressions cannot stop the process",
    "bytes": "not available; use str.encode()",
    "bytearray": "not available; use str.encode()",
}
_FORBIDDEN_ATTRIBUTES = {
    "format": "str.format() walks attributes of its arguments; use an f-string: f'{item[\"x\"]:.2f}'",
    "format_map": "str.format_map() walks attributes of its arguments; use an f-string",
    "mro": "types and classes cannot be inspected",
}
# frames, generators, coroutines, tracebacks and code objects lead back to real globals
_INTERNALS = re.compile(r"^(f|gi|cr|ag|tb|co)_")

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.IfExp,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Compare,
    ast.Call,
    ast.keyword,
    ast.FormattedValue,
    ast.JoinedStr,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Starred,
    ast.Name,
    ast.List,
    ast.Tuple,
    ast.Slice,
    ast.Load,
    ast.Store,
    ast.And,
    ast.Or,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.LShift,
    ast.RShift,
    ast.BitOr,
    ast.BitXor,
    ast.BitAnd,
    ast.Invert,
    ast.Not,
    ast.UAdd,
    ast.USub,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Is,
    ast.IsNot,
    ast.In,
    ast.NotIn,
)
_NODE_NAMES = {
    ast.Lambda: "lambda",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
    ast.MatMult: "the @ operator",
}


class SandboxViolation(ValueError):
    """An expression the sandbox refuses; the message says why (and names the expression)."""


class ExpressionError(OzzyError):
    """An expression failed on an item at run time; names the module, option, expression and item."""


class SandboxBudgetError(ExpressionError):
    """Sandboxed code exceeded its module's ``time_budget_seconds`` or ``memory_budget_mib``."""


# -- guarded operations ---------------------------------------------------------------------------
def _int_bits(value: Any) -> int | None:
    """Size in bits of an exact number (``None`` for floats and the rest, which overflow by themselves)."""
    if isinstance(value, int):
        return abs(int(value)).bit_length()
    if isinstance(value, Fraction):
        return max(abs(value.numerator).bit_length(), value.denominator.bit_length())
    return None


def _too_big(what: str) -> OverflowError:
    return OverflowError(f"{what} would be too large for an Ozzy expression")


def safe_pow(base: Any, exponent: Any, modulo: Any = None) -> Any:
    """``base ** exponent`` unless the exact result would exceed ``MAX_INT_BITS``."""
    if modulo is not None:
        return pow(base, exponent, modulo)
    bits = _int_bits(base)
    if bits is not None and bits > 1 and isinstance(exponent, int) and exponent > 0:
        if (bits - 1) * exponent > MAX_INT_BITS:
            raise _too_big(f"{bits}-bit number ** {exponent}")
    return base**exponent


def safe_mul(left: Any, right: Any) -> Any:
    """``left * right`` unless it builds a huge number, string or list."""
    left_type, right_type = type(left), type(right)
    if left_type is float or right_type is float:
        return left * right
    if left_type is int and right_type is int:
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _too_big("the product")
        return left * right
    for sequence, count in ((left, right), (right, left)):
        if isinstance(count, int) and isinstance(sequence, (str, bytes, list, tuple)):
            if count > 0 and len(sequence) * count > MAX_SEQUENCE:
                raise _too_big(f"repeating a {type(sequence).__name__} {count} times")
    return left * right


def safe_lshift(left: Any, right: Any) -> Any:
    if isinstance(right, int) and right > MAX_INT_BITS:
        raise _too_big(f"shifting by {right} bits")
    return left << right


def safe_range(*args: int) -> range:
    made = range(*args)
    if len(made) > MAX_SEQUENCE:
        raise _too_big(f"range() of {len(made)} numbers")
    return made


def _apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


def _refuse_debug(function: Callable[..., Any]) -> Callable[..., Any]:
    """``re`` functions without ``re.DEBUG`` (128), which prints the parsed pattern on stdout."""

    at = _FLAGS_AT[function.__name__]

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        flags = kwargs.get("flags", args[at] if len(args) > at else 0)
        if isinstance(flags, int) and flags & re.DEBUG:
            raise ValueError("re.DEBUG is not allowed: it prints to standard output")
        return function(*args, **kwargs)

    return checked


# where ``flags`` is among the positional arguments of each ``re`` function
_FLAGS_AT = {
    "compile": 1,
    "match": 2,
    "search": 2,
    "fullmatch": 2,
    "findall": 2,
    "finditer": 2,
    "split": 3,
    "sub": 4,
    "subn": 4,
}


_GUARDED_OPERATORS = {ast.Pow: "ozzy_pow", ast.Mult: "ozzy_mul", ast.LShift: "ozzy_lshift"}

_BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "callable",
    "chr",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hex",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "oct",
    "ord",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
)


# Imports that library code in C makes through the *calling* frame's builtins: datetime.strptime
# imports _strptime, for one. Expressions themselves can never name ``__import__`` (layers 1 and 2).
_INTERNAL_IMPORTS = frozenset(
    {"_strptime", "time", "locale", "_locale", "_datetime", "_json", "_hashlib", "_statistics", "_decimal"}
)


def _internal_import(
    name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
) -> Any:
    if level == 0 and (name in _INTERNAL_IMPORTS or name in IMPORTABLE_MODULES):
        return importlib.import_module(name) if not fromlist else __import__(name, None, None, fromlist, 0)
    raise ImportError(f"import of {name!r} is not allowed in Ozzy expressions")


def _safe_builtins() -> dict[str, Any]:
    import builtins

    allowed: dict[str, Any] = {name: getattr(builtins, name) for name in _BUILTIN_NAMES}
    allowed.update(pow=safe_pow, range=safe_range)
    return allowed


SAFE_BUILTINS: Mapping[str, Any] = types.MappingProxyType(_safe_builtins())


@functools.cache
def module_proxy(name: str) -> types.SimpleNamespace:
    """An allowed module's public functions, classes and constants, without its submodules."""
    if name not in IMPORTABLE_MODULES:
        raise SandboxViolation(f"module {name!r} is not on the allow-list ({', '.join(IMPORTABLE_MODULES)})")
    module = importlib.import_module(name)
    names = _MODULE_NAMES[name] or getattr(module, "__all__", None) or dir(module)
    public: dict[str, Any] = {}
    for attribute in names:
        if attribute.startswith("_") or attribute in _DENIED_MODULE_ATTRIBUTES:
            continue
        value = getattr(module, attribute, None)
        if value is None or isinstance(value, types.ModuleType):
            continue
        public[attribute] = _refuse_debug(value) if name == "re" and attribute in _FLAGS_AT else value
    proxy = types.SimpleNamespace(**public)
    return proxy


def _namespace(modules: Mapping[str, str]) -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "__builtins__": dict(SAFE_BUILTINS, __import__=_internal_import),
        "_getattr_": getattr,  # attribute names are checked at compile time (layers 1 and 2)
        "_getitem_": operator.getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_apply_": _apply,
        "ozzy_pow": safe_pow,
        "ozzy_mul": safe_mul,
        "ozzy_lshift": safe_lshift,
    }
    for alias, module in modules.items():
        namespace.setdefault(alias, module_proxy(module))  # never over the guards above
    return namespace


# -- layer 1: our whitelist ---------------------------------------------------------------------
# names the compiled code and the sandbox need for themselves
_RESERVED = frozenset(
    {"ozzy_pow", "ozzy_mul", "ozzy_lshift", _BATCH, _RUN, "__builtins__", "reduce_function"}
)


def _short(source: str) -> str:
    text = " ".join(source.split())
    return repr(text if len(text) <= 80 else text[:77] + "...")


def resolve_imports(imports: Mapping[str, Any] | None) -> dict[str, str]:
    """The modules an expression sees: the defaults plus ``imports`` (alias -> allowed module)."""
    modules = {name: name for name in DEFAULT_MODULES}
    for alias, module in (imports or {}).items():
        if not isinstance(alias, str) or not alias.isidentifier() or alias.startswith("_"):
            raise SandboxViolation(f"import alias {alias!r} must be a name not starting with '_'")
        if alias == ITEM or alias in SAFE_BUILTINS or alias in _RESERVED or alias in _WHY_NOT:
            raise SandboxViolation(f"import alias {alias!r} would hide '{alias}'")
        if alias.startswith("ozzy_"):
            raise SandboxViolation(
                f"import alias {alias!r} is reserved (names starting with 'ozzy_' belong to the sandbox)"
            )
        if not isinstance(module, str) or module not in IMPORTABLE_MODULES:
            raise SandboxViolation(
                f"import {alias!r}: module {module!r} is not on the allow-list "
                f"({', '.join(IMPORTABLE_MODULES)})"
            )
        modules[alias] = module
    return modules


def _name_problem(name: str, known: set[str]) -> str | None:
    if name.startswith("ozzy_"):
        return f"name {name!r} is reserved (names starting with 'ozzy_' belong to the sandbox)"
    if name in known:
        return None
    if name.startswith("_"):
        return f"name {name!r} is not available (names starting with '_' are never allowed)"
    if name in _WHY_NOT:
        return f"{name!r} is not available: {_WHY_NOT[name]}"
    if name in IMPORTABLE_MODULES:
        return f"module {name!r} must be listed in the 'imports' option (for example {{{name!r}: {name!r}}})"
    return f"unknown name {name!r} (available: item, {', '.join(sorted(known - {ITEM} - set(SAFE_BUILTINS)))} and safe builtins)"


def _attribute_problem(attribute: str) -> str | None:
    if attribute.startswith("_"):
        return f"attribute {attribute!r} is not allowed (attributes starting with '_' are never allowed)"
    if attribute in _FORBIDDEN_ATTRIBUTES:
        return f"attribute {attribute!r} is not allowed: {_FORBIDDEN_ATTRIBUTES[attribute]}"
    if attribute in INSPECT_ATTRIBUTES or _INTERNALS.match(attribute):
        return f"attribute {attribute!r} is not allowed (interpreter internals)"
    return None


def _module_attribute_problem(node: ast.Attribute, modules: Mapping[str, str], bound: set[str]) -> str | None:
    """``json.codecs``: a module proxy offers no submodules; say so before anything runs."""
    if not isinstance(node.value, ast.Name) or node.value.id not in modules or node.value.id in bound:
        return None
    module = modules[node.value.id]
    if hasattr(module_proxy(module), node.attr):
        return None
    return f"module {module!r} offers no {node.attr!r} in expressions (only its public functions, classes and constants)"


def parse_expression(source: Any, modules: Mapping[str, str]) -> ast.Expression:
    """Parse and check one expression (layer 1); raises ``SandboxViolation``."""
    if not isinstance(source, str) or not source.strip():
        raise SandboxViolation(f"an expression must be non-empty text, got {source!r}")
    if len(source) > MAX_SOURCE:
        raise SandboxViolation(f"expression {_short(source)} is longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as error:
        raise SandboxViolation(
            f"expression {_short(source)} is not a valid Python expression: {error.msg} (column {error.offset})"
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise SandboxViolation(f"expression {_short(source)} cannot be parsed: {error}") from None
    known = {ITEM, *modules, *SAFE_BUILTINS}
    bound = {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    for node in ast.walk(tree):
        problem = None
        if not isinstance(node, _ALLOWED_NODES):
            what = _NODE_NAMES.get(type(node), f"{type(node).__name__} nodes")
            problem = f"{what} not allowed in expressions"
        elif isinstance(node, ast.Name):
            if node.id.startswith(("_", "ozzy_")) or isinstance(node.ctx, ast.Load):
                problem = _name_problem(node.id, known | bound)
        elif isinstance(node, ast.Attribute):
            problem = _attribute_problem(node.attr) or _module_attribute_problem(node, modules, bound)
        elif isinstance(node, ast.comprehension) and node.is_async:
            problem = "async comprehensions are not allowed"
        if problem:
            column = getattr(node, "col_offset", None)
            where = f" (column {column + 1})" if column is not None else ""
            raise SandboxViolation(f"expression {_short(source)} is not allowed: {problem}{where}")
    return tree


def _small_number(node: ast.expr, limit: int) -> bool:
    """A float literal, or an int literal of at most ``limit``: its result stays proportionate."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
        return False
    if isinstance(node.value, float):
        return True
    return isinstance(node.value, int) and abs(node.value) <= limit


class _GuardOperators(ast.NodeTransformer):
    """``a ** b`` -> ``ozzy_pow(a, b)`` (and ``*``, ``<<``): bounded results.

    The common, harmless shapes stay plain operators (no call per item): a product with a small
    literal (``item['price'] * 100``) and a power with a small literal exponent (``x ** 2``).
    """

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = _GUARDED_OPERATORS.get(type(node.op))
        if guard is None:
            return node
        if isinstance(node.op, ast.Mult) and (
            _small_number(node.left, 1000) or _small_number(node.right, 1000)
        ):
            return node
        if isinstance(node.op, ast.Pow) and _small_number(node.right, 16):
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        return ast.copy_location(call, node)


# -- building the batch function ----------------------------------------------------------------
FILTER = "filter"  # keep items whose (only) expression is truthy
MAP = "map"  # each item becomes the (only) expression's value
APPLY = "apply"  # run every expression for its side effects, keep the item
VALUES = "values"  # a tuple of the expressions' values per item
MODES = (FILTER, MAP, APPLY, VALUES)


def _comprehension(mode: str, bodies: list[ast.expr]) -> ast.ListComp:
    item = ast.Name(ITEM, ast.Load())
    ifs: list[ast.expr] = []
    if mode == FILTER:
        element: ast.expr = item
        ifs = [bodies[0]]
    elif mode == MAP:
        element = bodies[0]
    elif mode == APPLY:
        element = ast.Subscript(ast.Tuple([*bodies, item], ast.Load()), ast.Constant(-1), ast.Load())
    else:
        element = ast.Tuple(bodies, ast.Load())
    loop = ast.comprehension(
        target=ast.Name(ITEM, ast.Store()), iter=ast.Name(_BATCH, ast.Load()), ifs=ifs, is_async=0
    )
    return ast.ListComp(elt=element, generators=[loop])


def _function(name: str, parameter: str, body: ast.expr) -> ast.Module:
    arguments = ast.arguments(
        posonlyargs=[], args=[ast.arg(parameter)], kwonlyargs=[], kw_defaults=[], defaults=[]
    )
    function = ast.FunctionDef(
        name=name, args=arguments, body=[ast.Return(body)], decorator_list=[], returns=None, type_comment=None
    )
    return ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))


def _restricted(module: ast.Module, name: str, namespace: dict[str, Any], label: str) -> Callable[[Any], Any]:
    """Layer 2: RestrictedPython's policy and guards, then a function living in ``namespace``."""
    result = compile_restricted_exec(module, filename=f"<ozzy expression {label}>")
    if result.errors or result.code is None:
        raise SandboxViolation(f"expression {label} is not allowed: {'; '.join(result.errors)}")
    exec(result.code, namespace)  # noqa: S102 - restricted code, restricted namespace
    function: Callable[[Any], Any] = namespace.pop(name)
    return function


class CompiledExpressions:
    """Expressions compiled into one batch function; ``run(batch)`` returns a list (see ``MODES``)."""

    def __init__(self, sources: Sequence[str], mode: str, modules: Mapping[str, str]) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if mode in (FILTER, MAP) and len(sources) != 1:
            raise ValueError(f"mode {mode!r} takes exactly one expression")
        self.sources = tuple(sources)
        self.mode = mode
        self.modules = dict(modules)
        self._trees = [parse_expression(source, self.modules) for source in self.sources]
        namespace = _namespace(self.modules)
        bodies = [_GuardOperators().visit(copy.deepcopy(tree)).body for tree in self._trees]
        label = " ; ".join(_short(source) for source in self.sources)
        self._run = _restricted(_function(_RUN, _BATCH, _comprehension(mode, bodies)), _RUN, namespace, label)
        self._singles: list[Callable[[Any], Any]] | None = None

    def run(self, batch: list[Any]) -> list[Any]:
        """Evaluate over ``batch``; a failure raises ``ExpressionFailure`` naming the item and expression."""
        try:
            return self._run(batch)  # type: ignore[no-any-return]
        except Exception as error:
            raise self.locate(batch, error) from error

    def evaluate(self, item: Any, index: int = 0) -> Any:
        """The value of expression ``index`` for one item (for code that is not per batch)."""
        return self.singles()[index](item)

    def singles(self) -> list[Callable[[Any], Any]]:
        """One function per expression, for one item; compiled on first use (errors, reduce code)."""
        if self._singles is None:
            namespace = _namespace(self.modules)
            self._singles = [
                _restricted(
                    _function(_RUN, ITEM, _GuardOperators().visit(copy.deepcopy(tree)).body),
                    _RUN,
                    namespace,
                    _short(source),
                )
                for tree, source in zip(self._trees, self.sources, strict=True)
            ]
        return self._singles

    def locate(self, batch: list[Any], error: Exception) -> ExpressionFailure:
        """Find the first item and expression that fail (the slow path, only after a failure)."""
        for position, item in enumerate(batch):
            for source, single in zip(self.sources, self.singles(), strict=True):
                try:
                    single(item)
                except Exception as found:
                    return ExpressionFailure(source, position, found)
        return ExpressionFailure(self.sources[0], None, error)


def item_keys(trees: Sequence[ast.Expression], skip: Sequence[ast.AST] = ()) -> tuple[str, ...] | None:
    """The keys of ``item`` the expressions read, when they read ``item`` only by constant keys.

    ``item['k']``, ``item.get('k', ...)`` and ``'k' in item`` give the same results on a dict
    holding only those keys, so a sandbox process needs only them (``None``: the whole item).
    ``skip``: uses of ``item`` that are not reads (the ``item`` of ``item.update``, see ``update_keys``).
    """
    keys: list[str] = []
    for tree in trees:
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == ITEM and not any(node is each for each in skip):
                key = _constant_key(node, parents)
                if key is None:
                    return None
                keys.append(key)
    return tuple(dict.fromkeys(keys))


# methods that change the list, dict or set they are called on (items hold only those containers)
_MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "popitem",
        "remove",
        "clear",
        "sort",
        "reverse",
        "update",
        "setdefault",
        "add",
        "discard",
        "difference_update",
        "intersection_update",
        "symmetric_difference_update",
        "appendleft",
        "extendleft",
        "popleft",
        "rotate",
    }
)


def update_keys(trees: Sequence[ast.Expression]) -> tuple[tuple[str, ...], list[ast.AST]] | None:
    """For expressions that are all ``item.update({'k': ...})`` (constant keys, or ``k=...``) and
    call no other method that changes a container: the keys they set, and the ``item`` nodes of
    the ``item.update`` calls (for ``item_keys``'s ``skip``). ``None`` for anything else.

    Such transforms change exactly those keys of every item, so a sandbox process can get only
    the keys they read and send back only the keys they set.
    """
    written: list[str] = []
    targets: list[ast.AST] = []
    for tree in trees:
        call = tree.body
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "update"
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == ITEM
            and len(call.args) + len(call.keywords) >= 1
            and len(call.args) <= 1
        ):
            return None
        if call.args:
            literal = call.args[0]
            if not isinstance(literal, ast.Dict):
                return None
            for key in literal.keys:
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    return None  # computed keys and ``**mapping``
                written.append(key.value)
        for keyword in call.keywords:
            if keyword.arg is None:
                return None
            written.append(keyword.arg)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in _MUTATING_METHODS and node is not call.func:
                return None
        targets.append(call.func.value)
    return tuple(dict.fromkeys(written)), targets


def _constant_key(node: ast.Name, parents: dict[ast.AST, ast.AST]) -> str | None:
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and parent.value is node:
        index = parent.slice
        return index.value if isinstance(index, ast.Constant) and isinstance(index.value, str) else None
    if isinstance(parent, ast.Attribute) and parent.attr == "get":
        call = parents.get(parent)
        if (
            isinstance(call, ast.Call)
            and call.func is parent
            and not call.keywords
            and 1 <= len(call.args) <= 2
        ):
            first = call.args[0]
            return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        return None
    if isinstance(parent, ast.Compare) and len(parent.ops) == 1 and parent.comparators[0] is node:
        left = parent.left
        if isinstance(parent.ops[0], (ast.In, ast.NotIn)) and isinstance(left, ast.Constant):
            return left.value if isinstance(left.value, str) else None
    return None


class ExpressionFailure(Exception):
    """Where an expression failed: ``position`` in the batch (``None``: not found again)."""

    def __init__(self, source: str, position: int | None, cause: BaseException) -> None:
        super().__init__(source, position, cause)
        self.source = source
        self.position = position
        self.cause = cause

    def describe(self, option: str, items_before: int) -> str:
        where = f"item {items_before + self.position + 1}" if self.position is not None else "a batch"
        cause = f"{type(self.cause).__name__}: {self.cause}"
        return f"option '{option}': expression {_short(self.source)} failed on {where}: {cause}"


@functools.lru_cache(maxsize=256)
def _cached(sources: tuple[str, ...], mode: str, modules: tuple[tuple[str, str], ...]) -> CompiledExpressions:
    return CompiledExpressions(sources, mode, dict(modules))


def compile_expressions(
    sources: Sequence[str], mode: str, imports: Mapping[str, Any] | None = None
) -> CompiledExpressions:
    """Check and compile ``sources`` once per process; raises ``SandboxViolation``."""
    modules = resolve_imports(imports)
    if not isinstance(sources, (list, tuple)) or not all(isinstance(each, str) for each in sources):
        raise SandboxViolation("expressions must be strings")
    return _cached(tuple(sources), mode, tuple(sorted(modules.items())))


def expression_problem(
    sources: Sequence[str], mode: str, imports: Mapping[str, Any] | None = None
) -> str | None:
    """Why ``sources`` cannot run (``None`` when they can): for ``check_values``."""
    try:
        compile_expressions(sources, mode, imports)
    except SandboxViolation as violation:
        return str(violation)
    return None
