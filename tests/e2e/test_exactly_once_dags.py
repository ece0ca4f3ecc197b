"""Exactly once in Airflow, when inputs change between a failed try and its retry (issue 16, parts
2-4 as a DAG run): inputs added among the ones read and before all of them, a damaged input
repaired, an input listed twice, groups whose values share first letters, a filebase without
``{file_number}``. Every item of every input present when the retry starts is out once."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import load_dag
from tests.helpers import output_files, read_json_lines

FRUITS = ("apple", "avocado", "apricot")


def _items(name: str, count: int) -> list[dict[str, Any]]:
    return [{"src": name, "n": line, "fruit": FRUITS[line % 3]} for line in range(count)]


def _write(path: Path, items: list[dict[str, Any]], cut: bool = False) -> None:
    data = gzip.compress(b"".join(json.dumps(item).encode() + b"\n" for item in items))
    path.write_bytes(data[: len(data) // 2] if cut else data)


def test_a_retry_over_inputs_that_changed_writes_every_item_once(
    airflow_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, later = tmp_path / "in", tmp_path / "later"
    inbox.mkdir()
    later.mkdir()
    expected: Counter[tuple[str, int]] = Counter()
    rare = [{"src": "a-rare.jl.gz", "n": 0, "fruit": "zz"}]  # its file stays open: the position lags
    _write(inbox / "a-rare.jl.gz", rare)
    files = {"a-rare.jl.gz": rare}
    for number in range(10, 90, 10):
        files[f"p-{number}.jl.gz"] = _items(f"p-{number}.jl.gz", 100)
        _write(inbox / f"p-{number}.jl.gz", files[f"p-{number}.jl.gz"])
    files["p-90.jl.gz"] = _items("p-90.jl.gz", 400)
    _write(inbox / "p-90.jl.gz", files["p-90.jl.gz"], cut=True)  # the first try fails in it
    _write(later / "p-90.jl.gz", files["p-90.jl.gz"])
    for name in ("p-15.jl.gz", "a-0.jl.gz"):  # among the read inputs, and before all
        files[name] = _items(name, 50)
        _write(later / name, files[name])
    for items in files.values():
        expected.update((item["src"], item["n"]) for item in items)
    monkeypatch.setenv("OZZY_E2E_INPUT", str(inbox))
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out"))
    monkeypatch.setenv("OZZY_E2E_LATER", str(later))

    run = load_dag("ozzy_changing_retry.py", "ozzy_e2e_changing_retry").test()

    assert run.state == "success"
    assert run.get_task_instance("export").try_number == 2
    found: Counter[tuple[str, int]] = Counter()
    by_file: dict[str, set[str]] = {}
    for name in output_files(tmp_path / "out"):
        items = read_json_lines(tmp_path / "out" / name)
        found.update((item["src"], item["n"]) for item in items)
        by_file[name] = {item["fruit"] for item in items}
    assert found == expected, (
        f"{sum((expected - found).values())} missing, {sum((found - expected).values())} extra"
    )
    assert all(len(fruits) == 1 for fruits in by_file.values()), by_file  # groups never share a file
