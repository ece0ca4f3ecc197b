"""The sandbox child process (``sandbox_process``) and what the sandbox offers (``python_sandbox``).

End-to-end runs of the same behaviours are in ``tests/integration/test_sandbox_budgets.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.expressions.python_sandbox import (
    FILTER,
    SandboxBudgetError,
    SandboxViolation,
    compile_expressions,
    item_keys,
    resolve_imports,
)
from airflow_provider_ozzy.expressions.sandbox_process import HASH_SEED
from airflow_provider_ozzy.filters.pythonexp_filter import PythonexpFilter
from airflow_provider_ozzy.groupers.python_exp_grouper import PythonExpGrouper


@pytest.mark.parametrize(
    ("expression", "keys"),
    [
        ("item['a'] == 1", ("a",)),
        ("item.get('a', {}).get('b') and item['c']", ("c", "a")),
        ("'x' in item or 'y' not in item", ("x", "y")),
        ("len(item) > 1", None),
        ("item.update({'a': 1}) or True", None),
        ("item[item['k']] > 0", None),
        ("[item for item in item['tags']]", None),
        ("json.dumps(item)", None),
    ],
)
def test_only_keys_read_by_constant_cross_to_the_sandbox(
    expression: str, keys: tuple[str, ...] | None
) -> None:
    assert item_keys(compile_expressions([expression], FILTER)._trees) == keys


@pytest.mark.parametrize(
    "expression",
    [
        "calendar.prcal(2024)",
        "calendar.setfirstweekday(6)",
        "calendar.TextCalendar()",
        "calendar.c",
        "json.load(item)",
        "json.dump(item, item)",
        "re.purge()",
        "re.RegexFlag.DEBUG",
    ],
)
def test_module_functions_with_side_effects_are_not_offered(expression: str) -> None:
    with pytest.raises(SandboxViolation, match="offers no"):
        compile_expressions([expression], FILTER)


def test_importable_modules_offer_no_file_access_or_class_factories() -> None:
    for expression, module in [
        ("h.file_digest(item, 'md5')", "hashlib"),
        ("c.namedtuple('X', 'a')", "collections"),
        ("s.NormalDist()", "statistics"),
        ("b.encode(item, item)", "base64"),
    ]:
        with pytest.raises(SandboxViolation, match="offers no"):
            compile_expressions([expression], FILTER, {expression[0]: module})


def test_re_debug_is_refused_at_run_time() -> None:
    compiled = compile_expressions(["re.compile('a+', item['flags']) is not None"], FILTER)
    assert compiled.run([{"flags": 2}]) == [{"flags": 2}]
    with pytest.raises(Exception, match="re.DEBUG"):
        compiled.run([{"flags": 128}])


@pytest.mark.parametrize("alias", ["ozzy_pow", "ozzy_mul", "ozzy_batch", "item", "len", "print", "_getattr_"])
def test_import_aliases_cannot_take_reserved_names(alias: str) -> None:
    with pytest.raises(SandboxViolation, match=repr(alias)):
        resolve_imports({alias: "math"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"time_budget_seconds": 0}, "'time_budget_seconds' must be a number from 0.1 to 86400"),
        ({"time_budget_seconds": True}, "'time_budget_seconds' must be an integer or number"),
        ({"memory_budget_mib": 16}, "'memory_budget_mib' must be a number from 32 to 1048576"),
    ],
)
def test_budgets_have_ranges(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PythonexpFilter({"python_expression": "True", **options})


def test_a_module_starts_a_fresh_sandbox_after_a_budget_was_exceeded() -> None:
    module = PythonexpFilter(
        {"python_expression": "item['n'] < 0 or any(iter(int, 1))", "time_budget_seconds": 1}
    )
    try:
        started = time.monotonic()
        with pytest.raises(SandboxBudgetError, match=r"option 'time_budget_seconds' \(1 s\).*on items 1-2"):
            module.filter_batch([{"n": -1}, {"n": 1}])
        assert time.monotonic() - started < 10
        assert module.filter_batch([{"n": -1}, {"n": -2}]) == [{"n": -1}, {"n": -2}]
    finally:
        module.close()


def test_memory_error_names_the_item() -> None:
    module = PythonexpFilter({"python_expression": "len('a'.ljust(item['n'])) > 0", "memory_budget_mib": 64})
    try:
        with pytest.raises(SandboxBudgetError, match=r"option 'memory_budget_mib' \(64 MiB\).*on item 2"):
            module.filter_batch([{"n": 1}, {"n": 10**10}])
    finally:
        module.close()


def test_the_sandbox_hash_seed_is_fixed() -> None:
    words = [f"word{number}" for number in range(30)]
    module = PythonExpGrouper({"python_expressions": ["'-'.join(set(item['words']))"]})
    try:
        (key,) = module.group_batch([{"words": words}])
    finally:
        module.close()
    reference = subprocess.run(
        [sys.executable, "-c", f"print('-'.join(set({words!r})))"],
        env=dict(os.environ, PYTHONHASHSEED=HASH_SEED),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert key == (reference,)


def test_the_sandbox_dies_with_its_parent(tmp_path: Path) -> None:
    """``kill -9`` of ``ozzy`` must not leave a child spinning in a C loop."""
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            """
            from airflow_provider_ozzy.filters.pythonexp_filter import PythonexpFilter
            PythonexpFilter({"python_expression": "any(iter(int, 1))"}).filter_batch([{}])
            """
        )
    )
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        children: list[int] = []
        deadline = time.monotonic() + 30
        while not children and time.monotonic() < deadline:
            time.sleep(0.1)
            children = [
                int(pid) for pid in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
            ]
        assert children, "the sandbox process never started"
        time.sleep(0.5)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{children[0]}").exists() and time.monotonic() < deadline:
            status = (
                Path(f"/proc/{children[0]}/stat").read_text().split()[2]
                if Path(f"/proc/{children[0]}").exists()
                else "X"
            )
            if status == "Z":  # killed, waiting for init to reap it
                break
            time.sleep(0.1)
        alive = (
            Path(f"/proc/{children[0]}").exists()
            and Path(f"/proc/{children[0]}/stat").read_text().split()[2] != "Z"
        )
        assert not alive, "the sandbox process outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


@pytest.mark.parametrize(
    ("expressions", "keys", "written"),
    [
        (["item.update({'n': len(item['tags'])})"], ("tags",), ("n",)),
        (["item.update({'a': 1})", "item.update(b=item['a'] + 1)"], ("a",), ("a", "b")),
        (["item.update({'n': item['tags'].pop()})"], None, None),  # changes a list in place
        (["item.update(item['extra'])"], None, None),  # keys not known in advance
        (["item.update({'n': len(item)})"], None, None),  # reads the whole item
        (["item['tags'].append(1)"], None, None),
    ],
)
def test_update_transforms_exchange_only_the_keys_read_and_set(
    expressions: list[str], keys: tuple[str, ...] | None, written: tuple[str, ...] | None
) -> None:
    from airflow_provider_ozzy.transform.pythonexp_transform import PythonexpTransform

    module = PythonexpTransform({"python_expressions": expressions})
    try:
        assert (module._expressions.keys, module._expressions.written) == (keys, written)
        items = [{"tags": [1, 2], "extra": {"z": 0}, "a": 0, "other": {"deep": [1]}}]
        expected = [dict(items[0], tags=list(items[0]["tags"]))]
        for expression in expressions:  # what the expressions do in this process, for reference
            compile_expressions([expression], "apply").run(expected)
        changed = module.transform_batch(items)
        assert changed == expected
        assert changed[0] is items[0]  # changed in place, as before
    finally:
        module.close()
