"""The sandbox for Python expressions in configs (``python_sandbox``).

A corpus of known escape payloads must each be rejected before anything runs, with a message
naming the expression and, through a module, the module and option; payloads that would create a
file must leave none. Legitimate expressions must keep working, and the guards must bound the
obvious resource bombs.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.expressions import python_sandbox
from airflow_provider_ozzy.expressions.python_sandbox import (
    APPLY,
    FILTER,
    MAP,
    VALUES,
    ExpressionFailure,
    SandboxViolation,
    compile_expressions,
    module_proxy,
)
from airflow_provider_ozzy.filters.pythonexp_filter import PythonexpFilter
from tests.helpers import run_ozzy, write_config

# ``{p}`` is replaced by a path that a successful escape would create.
ESCAPES = [
    "__import__('os').system('touch {p}')",
    "__builtins__['open']('{p}', 'w')",
    "__builtins__.open('{p}', 'w')",
    "open('{p}', 'w').write('x')",
    "print(open('/etc/passwd').read())",
    "().__class__.__bases__[0].__subclasses__()",
    "[].__class__.__base__.__subclasses__()",
    "object.__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()"
    "._module.__builtins__['__import__']('os').system('touch {p}')",
    "getattr(item, '__class__')",
    "getattr(__builtins__, 'open')('{p}', 'w')",
    "eval(\"__import__('os').system('touch {p}')\")",
    "exec(\"open('{p}', 'w')\")",
    "compile('1', 'x', 'eval')",
    "(lambda: __import__('os'))()",
    "(lambda f: f(f))(lambda f: f(f))",
    "(f := open('{p}', 'w'))",
    "[y := 1 for x in (1, 2)]",
    "'{{0.__class__.__mro__}}'.format(item)",
    "'{{x.__class__}}'.format_map({{'x': item}})",
    "str.format('{{0.__class__}}', item)",
    'f"{{item.__class__.__mro__[-1].__subclasses__()}}"',
    "(x for x in ()).gi_frame.f_globals['__builtins__']",
    "(x for x in ()).gi_code",
    "item.__class__.__init__.__globals__",
    "item.get.__self__",
    "len.__self__.open('{p}', 'w')",
    "json.codecs.open('{p}', 'w')",
    "datetime.sys.modules['os'].system('touch {p}')",
    "re.enum.sys.modules",
    "math.__loader__.load_module('os')",
    "calendar.main(['calendar', '--help'])",
    "itertools.__spec__",
    "globals()['__builtins__']",
    "vars(item)",
    "dir()",
    "type('X', (), {{}})",
    "breakpoint()",
    "__loader__.load_module('os')",
    "item.update(__import__('os').environ)",
    "__ｉｍｐｏｒｔ__('os').system('touch {p}')",  # fullwidth letters: NFKC makes them __import__
    "ｏｐｅｎ('{p}', 'w')",
    "json.JSONDecoder(object_hook=eval)",
    "collections.namedtuple('A', 'x').__new__.__globals__",
    "operator.attrgetter('__class__')(item)",
    "random.random()",
    "import os",
    "__import__('os'); 1",
    "1\nimport os",
    "(yield)",
    "[x async for x in item]",
    "re.compile('x').__class__",
    "item.__getitem__('x')",
    "id(item)",
    "type(item).mro()",
    "int.mro()",
    "hashlib.md5(b'x').hexdigest()",  # hashlib only through 'imports'
    "[2 ** item['big'] for ozzy_pow in [max]]",  # rebinding a guard
    "ozzy_batch",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_payload_is_rejected_before_running(payload: str, tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    source = payload.format(p=target)
    for mode in (FILTER, MAP, APPLY, VALUES):
        with pytest.raises(SandboxViolation) as raised:
            compile_expressions([source], mode)
        message = str(raised.value)
        assert "expression" in message and " not " in message, message
    assert not target.exists()


def test_corpus_is_large_and_proves_nothing_ran(tmp_path: Path) -> None:
    assert len(ESCAPES) >= 30
    target = tmp_path / "pwned"
    for payload in ESCAPES:
        try:
            compile_expressions([payload.format(p=target)], FILTER).run([{"x": 1}])
        except SandboxViolation:
            pass
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_rejection_through_a_module_names_module_option_and_expression() -> None:
    with pytest.raises(ConfigurationError) as raised:
        PythonexpFilter({"python_expression": "__import__('os').getpid()"})
    message = str(raised.value)
    assert "filter PythonexpFilter" in message
    assert "option 'python_expression'" in message
    assert "__import__('os').getpid()" in message
    assert "names starting with '_' are never allowed" in message


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        ({"os": "os"}, "module 'os' is not on the allow-list"),
        ({"sp": "subprocess"}, "module 'subprocess' is not on the allow-list"),
        ({"il": "importlib"}, "module 'importlib' is not on the allow-list"),
        ({"fuzz": "fuzzywuzzy.fuzz"}, "module 'fuzzywuzzy.fuzz' is not on the allow-list"),
        ({"__b": "json"}, "must be a name not starting with '_'"),
        ({"item": "json"}, "would hide 'item'"),
        ({"len": "json"}, "would hide 'len'"),
    ],
)
def test_imports_outside_the_allow_list_are_configuration_errors(
    imports: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        PythonexpFilter({"python_expression": "True", "imports": imports})
    assert "option 'imports'" in str(raised.value) and expected in str(raised.value)


def test_ozzy_validate_reports_an_escape_with_exit_2(tmp_path: Path) -> None:
    config = {
        "reader": {"name": "FSReader", "options": {"input": "in.jl"}},
        "filter_before": {
            "name": "PythonexpFilter",
            "options": {"python_expression": "().__class__.__bases__[0].__subclasses__()"},
        },
        "grouper": {"name": "PythonExpGrouper", "options": {"python_expressions": ["open('x').read()"]}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/x_"}},
    }
    write_config(tmp_path / "config.json", config)
    result = run_ozzy("validate", "config.json", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "filter_before (PythonexpFilter)" in output and "'__subclasses__'" in output
    assert "grouper (PythonExpGrouper)" in output and "'open' is not available" in output


def test_runtime_namespace_offers_no_dangerous_builtins_or_submodules() -> None:
    builtins = python_sandbox.SAFE_BUILTINS
    for name in (
        "open",
        "__import__",
        "eval",
        "exec",
        "compile",
        "getattr",
        "type",
        "object",
        "vars",
        "globals",
    ):
        assert name not in builtins
    for module in python_sandbox.IMPORTABLE_MODULES:
        proxy = module_proxy(module)
        for name, value in vars(proxy).items():
            assert not name.startswith("_") and name not in ("main", "test")
            assert type(value).__name__ != "module", f"{module}.{name} is a module"
    with pytest.raises(SandboxViolation):
        module_proxy("os")


@pytest.mark.parametrize(
    "bomb",
    [
        "2 ** 10 ** 10",
        "item['n'] ** item['big']",
        "'x' * item['big']",
        "[0] * item['big']",
        "1 << item['big']",
        "pow(item['n'], item['big'])",
        "len(range(item['big']))",
        "item['big'] ** 2000 * item['big'] ** 2000",
    ],
)
def test_resource_bombs_fail_fast_instead_of_hanging(bomb: str) -> None:
    compiled = compile_expressions([bomb], MAP)
    started = time.monotonic()
    with pytest.raises(ExpressionFailure) as raised:
        compiled.run([{"n": 7, "big": 10**10}])
    assert time.monotonic() - started < 2
    assert isinstance(raised.value.cause, OverflowError)
    assert "too large" in str(raised.value.cause)


ITEM = {
    "id": 7,
    "name": "Björn 東京",
    "price": 12.5,
    "tags": ["a", "b", "c"],
    "address": {"city": "Madrid", "geo": {"lat": 40.4}},
    "ts": "2019-09-07T22:41:44",
    "active": True,
    "none": None,
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("item['id'] * 2 + 1", 15),
        ("item['price'] ** 2", 156.25),
        ("-item['id'] ** 2", -49),
        ("2 ** item['id']", 128),
        ("item['id'] * item['id']", 49),
        ("'ab' * 3", "ababab"),
        ("item['name'].upper()", "BJÖRN 東京"),
        ("item.get('missing', 'dflt')", "dflt"),
        ("item['address']['geo']['lat']", 40.4),
        ("item.get('address', {}).get('city')", "Madrid"),
        ("'b' in item['tags'] and not item['none']", True),
        ("item['tags'][1:]", ["b", "c"]),
        ("[t.upper() for t in item['tags'] if t != 'b']", ["A", "C"]),
        ("{k: v for k, v in item['address'].items() if k == 'city'}", {"city": "Madrid"}),
        ("sorted(item['tags'], key=len, reverse=True)[0]", "a"),
        ("sum(len(t) for t in item['tags'])", 3),
        ("f\"{item['price']:.1f}|{item['id']:03d}|{item['name']!r}\"", "12.5|007|'Björn 東京'"),
        ("'%s-%d' % (item['name'], item['id'])", "Björn 東京-7"),
        ("datetime.datetime.strptime(item['ts'], '%Y-%m-%dT%H:%M:%S').year", 2019),
        ("datetime.date(2020, 1, 2) + datetime.timedelta(days=1)", None),
        ("re.match(r'^Bj', item['name']) is not None", True),
        ("math.floor(item['price'])", 12),
        ("json.loads(json.dumps(item))['tags']", ["a", "b", "c"]),
        ("list(itertools.islice(itertools.count(), 3))", [0, 1, 2]),
        ("calendar.isleap(2020)", True),
        ("dict(item, extra=1)['extra']", 1),
        ("max(*item['tags'])", "c"),
        ("item['id'] if item['active'] else None", 7),
        ("isinstance(item['price'], (int, float))", True),
        ("list(range(3))", [0, 1, 2]),
    ],
)
def test_ordinary_expressions_work(expression: str, expected: object) -> None:
    value = compile_expressions([expression], MAP).run([json.loads(json.dumps(ITEM))])[0]
    if expected is not None:
        assert value == expected


def test_imports_from_the_allow_list_work() -> None:
    compiled = compile_expressions(
        ["h.md5(item['name'].encode()).hexdigest()[:8]", "c.Counter(item['tags'])['a']"],
        VALUES,
        {"h": "hashlib", "c": "collections"},
    )
    expected = hashlib.md5(ITEM["name"].encode(), usedforsecurity=False).hexdigest()[:8]  # type: ignore[index]
    assert compiled.run([ITEM]) == [(expected, 1)]


def test_module_of_the_allow_list_must_be_imported_first() -> None:
    with pytest.raises(SandboxViolation, match="must be listed in the 'imports' option"):
        compile_expressions(["statistics.mean([1, 2])"], MAP)


def test_expressions_are_compiled_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    original = python_sandbox.parse_expression

    def counting(source: str, modules: object) -> object:
        parsed.append(source)
        return original(source, modules)  # type: ignore[arg-type]

    monkeypatch.setattr(python_sandbox, "parse_expression", counting)
    expression = f"item['id'] > {os.getpid()} + 0.125"  # unique: not cached yet
    first = PythonexpFilter({"python_expression": expression})
    second = PythonexpFilter({"python_expression": expression})
    for _ in range(5):
        first.filter_batch([{"id": number} for number in range(100)])
    assert parsed == [expression]  # validation, both modules and 500 items: one parse here
    # (the module's sandbox process compiles it once more, for itself: one process per module)
    assert first._expression.sources == second._expression.sources
    first.close()
    second.close()


def test_runtime_failure_names_the_expression_and_the_item() -> None:
    compiled = compile_expressions(["item['price'] > 1", "item['tags'][0]"], VALUES)
    with pytest.raises(ExpressionFailure) as raised:
        compiled.run([ITEM, ITEM, {"price": 3, "tags": []}])
    failure = raised.value
    assert failure.position == 2 and failure.source == "item['tags'][0]"
    assert "failed on item 13: IndexError" in failure.describe("python_expressions", 10)


def test_invalid_syntax_is_a_clear_violation() -> None:
    with pytest.raises(SandboxViolation, match="is not a valid Python expression"):
        compile_expressions(["item['x' ==="], FILTER)
    with pytest.raises(SandboxViolation, match="non-empty text"):
        compile_expressions(["  "], FILTER)
    with pytest.raises(SandboxViolation, match="longer than"):
        compile_expressions(["1 + " * 5000 + "1"], FILTER)
    with pytest.raises(SandboxViolation, match="unknown name 'itme'"):
        compile_expressions(["itme['x']"], FILTER)
