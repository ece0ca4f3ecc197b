"""ReduceWriter's code in the sandbox (``reduce_sandbox``) and its accumulator in the job state (``reduce_values``).

Escape payloads must be configuration errors naming the writer and option, found before anything
runs, and a payload that would create a file must leave none. The accumulator must come back from
JSON exactly as it was (type included), or a resumed fold would differ.
"""

from __future__ import annotations

import collections
import datetime
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson
import pytest

from airflow_provider_ozzy.errors import ConfigurationError, WriterError
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.expressions.reduce_values import UnsavableValue, decode, encode, plain
from airflow_provider_ozzy.writers.reduce_writer import ReduceWriter
from tests.helpers import run_ozzy, write_config

HEADER = "def reduce_function(item, accumulator=None):\n"

# ``{p}`` is replaced by a path a successful escape would create.
ESCAPES = [
    "import os\n" + HEADER + "    os.system('touch {p}')\n",
    "from os import system\n" + HEADER + "    system('touch {p}')\n",
    HEADER + "    open('{p}', 'w').write('x')\n",
    HEADER + "    return ().__class__.__bases__[0].__subclasses__()\n",
    HEADER + "    return [c for c in ().__class__.__mro__]\n",
    HEADER + "    return getattr(item, '__class__')\n",
    HEADER + "    f = getattr\n    return f(f(item, '__class__'), '__subclasses__')()\n",
    HEADER + "    return __builtins__['open']('{p}', 'w')\n",
    HEADER + "    return __import__('os').system('touch {p}')\n",
    HEADER + "    return json.codecs.open('{p}', 'w')\n",
    HEADER + "    return datetime.sys.modules['os'].system('touch {p}')\n",
    HEADER + "    return reduce_function.__globals__\n",
    HEADER + "    g = (x for x in [1])\n    return g.gi_frame.f_back.f_globals\n",
    HEADER + "    return '{{0.__class__}}'.format(item)\n",
    HEADER + "    return type(item).__subclasses__()\n",
    HEADER + "    return eval(\"open('{p}', 'w')\")\n",
    HEADER + "    exec(\"open('{p}', 'w')\")\n",
    HEADER + "    return vars()\n",
    HEADER + "    return globals()['__builtins__']\n",
    HEADER + "    print(open)\n",
    HEADER + "    item.__class__ = dict\n",
    HEADER + "    accumulator.x = 1\n",
    HEADER + "    global os\n",
    HEADER + "    try:\n        pass\n    except Exception:\n        pass\n",
    HEADER + "    while True:\n        pass\n",
    HEADER + "    return (lambda: 1)()\n",
    HEADER + "    yield item\n",
    HEADER + "    _secret = 1\n    return _secret\n",
    "class A:\n    pass\n" + HEADER + "    return 1\n",
    "import subprocess\n" + HEADER + "    return subprocess.run(['touch', '{p}'])\n",
    "@staticmethod\n" + HEADER + "    return 1\n",
    HEADER + "    with open('{p}', 'w') as handle:\n        pass\n",
    "open('{p}', 'w')\n" + HEADER + "    return 1\n",
    HEADER + "    return random.random()\n",
    "def helper(*args):\n    return args\n" + HEADER + "    return helper(item)\n",
]


@pytest.mark.parametrize("payload", ESCAPES)
def test_escape_attempts_are_configuration_errors_and_create_nothing(payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "escaped"
    code = payload.replace("{p}", str(marker))
    with pytest.raises(ConfigurationError) as raised:
        ReduceWriter({"code": code})
    message = str(raised.value)
    assert "writer ReduceWriter" in message and "option 'code'" in message, message
    assert not marker.exists()


def test_the_command_line_refuses_escapes_before_reading(tmp_path: Path) -> None:
    marker = tmp_path / "escaped"
    config = write_config(
        tmp_path / "config.yaml",
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
            "writer": {"name": "ReduceWriter", "options": {"code": HEADER + f"    open('{marker}', 'w')\n"}},
        },
    )
    result = run_ozzy("run", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "ReduceWriter" in output and "option 'code'" in output and "'open' is not available" in output
    assert "config.yaml:" in output  # file:line of the option
    assert not marker.exists()


def test_missing_reduce_function_and_options() -> None:
    with pytest.raises(
        ConfigurationError, match=r"Missing definition of reduce_function\(item, accumulator=None\)"
    ):
        ReduceWriter({"code": "def reduce(item, acc=None):\n    return 1\n"})
    with pytest.raises(ConfigurationError, match="exactly one of option 'code' and option 'source_path'"):
        ReduceWriter({})
    with pytest.raises(ConfigurationError, match="option 'source_path': cannot read"):
        ReduceWriter({"source_path": "/nonexistent/reduce.py"})
    with pytest.raises(ConfigurationError, match="option 'imports'"):
        ReduceWriter({"code": HEADER + "    return 1\n", "imports": {"os": "os"}})


def fold(writer: ReduceWriter, batches: list[list[dict[str, Any]]]) -> Any:
    writer.open(JsonExportFormatter({}), None)
    for number, batch in enumerate(batches):
        writer.write_batch({(): batch}, number)
    return writer.accumulator


def test_legitimate_reduce_code_runs(tmp_path: Path) -> None:
    code = (
        "TOP = 3\n"
        "def words(text):\n"
        "    return [word.lower() for word in text.split() if word]\n"
        + HEADER
        + "    acc = accumulator if accumulator is not None else {'count': 0, 'words': collections.Counter(), 'max': None}\n"
        "    acc['count'] += 1\n"
        "    acc['words'].update(words(item['text']))\n"
        "    for value in item.get('values', []):\n"
        "        if acc['max'] is None or value > acc['max']:\n"
        "            acc['max'] = value\n"
        "    acc['top'] = [word for word, count in acc['words'].most_common(TOP)]\n"
        "    return acc\n"
    )
    source = tmp_path / "reduce.py"
    source.write_text(code)
    for options in ({"code": code}, {"source_path": str(source)}):
        writer = ReduceWriter({**options, "imports": {"collections": "collections"}})
        result = fold(
            writer, [[{"text": "a b A", "values": [3, 9]}], [{"text": "b c"}, {"text": "a", "values": [4]}]]
        )
        assert result["count"] == 3 and result["max"] == 9
        assert result["words"] == collections.Counter({"a": 3, "b": 2, "c": 1})
        assert writer.result() == {
            "value": {"count": 3, "words": {"a": 3, "b": 2, "c": 1}, "max": 9, "top": ["a", "b", "c"]},
            "items_reduced": 3,
        }


def test_resume_continues_the_fold_from_the_committed_accumulator() -> None:
    code = (
        HEADER + "    acc = accumulator or collections.Counter()\n    acc[item['w']] += 1\n    return acc\n"
    )
    options = {"code": code, "imports": {"collections": "collections"}}
    first = ReduceWriter(options)
    fold(first, [[{"w": "x"}, {"w": "y"}], [{"w": "x"}]])
    state = orjson.loads(orjson.dumps(first.state({}, first.accepted), option=orjson.OPT_NON_STR_KEYS))
    second = ReduceWriter(options)
    second.open(JsonExportFormatter({}), state)
    assert type(second.accumulator) is collections.Counter
    second.write_batch({(): [{"w": "y"}, {"w": "z"}]}, 2)
    assert second.accumulator == collections.Counter({"x": 2, "y": 2, "z": 1})
    assert second.result() == {"value": {"x": 2, "y": 2, "z": 1}, "items_reduced": 5}


def test_a_failing_reduce_names_the_item() -> None:
    writer = ReduceWriter({"code": HEADER + "    return (accumulator or 0) + item['n']\n"})
    with pytest.raises(WriterError, match=r"reduce_function failed on item 3: KeyError"):
        fold(writer, [[{"n": 1}, {"n": 2}], [{"m": 3}]])
    bomb = ReduceWriter({"code": HEADER + "    return item['n'] ** item['n'] ** item['n']\n"})
    with pytest.raises(WriterError, match="too large"):
        fold(bomb, [[{"n": 10}]])


SAVABLE = [
    None,
    True,
    3,
    -(2**80),
    1.5,
    float("inf"),
    "text",
    [1, [2, "x"]],
    {"a": 1, "$b": 2},
    {1: "one", (2, 3): {4}},
    (1, (2, 3)),
    {1, 2, 3},
    frozenset({"a"}),
    collections.Counter({"a": 3, ("b", 1): 2}),
    collections.OrderedDict([("z", 1), ("a", 2)]),
    collections.defaultdict(int, {"a": 1}),
    collections.defaultdict(list, {"a": [1]}),
    collections.deque([1, 2], maxlen=5),
    Fraction(1, 3),
    datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    datetime.date(2026, 1, 2),
    datetime.timedelta(days=1, seconds=2),
]


@pytest.mark.parametrize("value", SAVABLE, ids=lambda value: type(value).__name__)
def test_accumulators_survive_json_exactly(value: Any) -> None:
    back = decode(orjson.loads(orjson.dumps(encode(value))))
    assert back == value and type(back) is type(value)
    if isinstance(value, collections.defaultdict):
        assert back.default_factory is value.default_factory
    if isinstance(value, collections.deque):
        assert back.maxlen == value.maxlen
    json.dumps(plain(value), allow_nan=False) if value != float("inf") else None


def test_unsavable_accumulators_are_refused() -> None:
    with pytest.raises(UnsavableValue, match="builtin_function_or_method cannot be saved"):
        encode({"f": len})
    with pytest.raises(UnsavableValue, match="defaultdict"):
        encode(collections.defaultdict(lambda: 0))
