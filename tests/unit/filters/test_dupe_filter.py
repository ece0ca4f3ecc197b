"""DupeFilter: first item of every key kept, state on disk, exact state at any committed batch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.errors import PersistenceError
from airflow_provider_ozzy.filters.dupe_filter import DupeFilter, key_hash


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [item["id"] for item in items]


def test_keeps_first_of_each_key_across_and_inside_batches(tmp_path: Path) -> None:
    module = DupeFilter({"store_path": str(tmp_path / "seen.sqlite")})
    module.set_state(None)
    first = [{"id": 1, "_key": "a"}, {"id": 2, "_key": "b"}, {"id": 3, "_key": "a"}]
    second = [{"id": 4, "_key": "b"}, {"id": 5, "_key": "c"}, {"id": 6, "_key": "c"}]
    assert ids(module.filter_batch(first)) == [1, 2]
    assert ids(module.filter_batch(second)) == [5]
    assert (module.total, module.filtered_out) == (6, 3)
    module.close()


def test_non_string_nested_and_unicode_keys(tmp_path: Path) -> None:
    module = DupeFilter({"key_field": "k.v", "store_path": str(tmp_path / "s.sqlite")})
    module.set_state(None)
    batch = [
        {"id": 1, "k": {"v": 5}},
        {"id": 2, "k": {"v": "5"}},  # text, not the number 5
        {"id": 3, "k": {"v": 5.0}},  # JSON 5.0 is another key than 5
        {"id": 4, "k": {"v": {"b": 1, "a": [1, 2]}}},
        {"id": 5, "k": {"v": {"a": [1, 2], "b": 1}}},  # same object, other key order
        {"id": 6, "k": {"v": "東京"}},
        {"id": 7, "k": {"v": "東京"}},
        {"id": 8, "k": {"v": True}},
        {"id": 9, "k": {"v": 1}},
    ]
    assert ids(module.filter_batch(batch)) == [1, 2, 3, 4, 6, 8, 9]
    module.close()


def test_items_without_a_key_are_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    module = DupeFilter({"store_path": str(tmp_path / "s.sqlite")})
    module.set_state(None)
    batch = [{"id": 1}, {"id": 2, "_key": None}, {"id": 3, "_key": ""}, {"id": 4, "_key": "x"}, {"id": 5}]
    assert ids(module.filter_batch(batch)) == [1, 2, 3, 4, 5]
    module.close()
    assert "4 item(s) had no '_key' value and were kept" in caplog.text


def test_set_state_rewinds_to_a_batch(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")
    batches = [[{"id": n * 10 + i, "_key": (n * 10 + i) % 7} for i in range(10)] for n in range(5)]
    reference = DupeFilter({"store_path": str(tmp_path / "ref.sqlite")})
    reference.set_state(None)
    expected = [ids(reference.filter_batch(batch)) for batch in batches]
    reference.close()

    module = DupeFilter({"store_path": path})
    module.set_state(None)
    states = []
    for batch in batches[:4]:
        states.append(module.get_state())
        module.filter_batch(batch)
    module.close()  # the process "dies" after batch 3; the commit was at the start of batch 2
    resumed = DupeFilter({"store_path": path})
    resumed.set_state(states[2])
    assert [ids(resumed.filter_batch(batch)) for batch in batches[2:]] == expected[2:]
    resumed.discard_state()
    assert os.path.exists(path)  # an explicit store_path is kept


def test_default_store_is_temporary_and_removed_when_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    module = DupeFilter({})
    module.set_state(None)
    module.filter_batch([{"_key": 1}])
    state = module.get_state()
    assert state["store"].startswith(str(tmp_path)) and os.path.exists(state["store"])
    module.discard_state()
    assert not [name for name in os.listdir(tmp_path) if name.startswith("ozzy-dupes-")]


def test_resume_without_its_store_is_a_clear_error(tmp_path: Path) -> None:
    module = DupeFilter({})
    with pytest.raises(PersistenceError, match="store of seen keys .* is gone"):
        module.set_state({"store": str(tmp_path / "gone.sqlite"), "batches": 3})


def test_key_hash_is_stable_and_typed() -> None:
    assert key_hash("5") != key_hash(5)
    assert key_hash({"a": 1, "b": 2}) == key_hash({"b": 2, "a": 1})
    assert key_hash("abc") == 4496847788798763958  # the same in every process (not hash())
    assert key_hash(12) == 12 and key_hash(2**70) != key_hash(12)
