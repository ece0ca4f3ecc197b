"""A job state that is not JSON any more (edited by hand, cut by a full disk) fails as
``PersistenceError`` naming the job and its store, never as a bare JSON error."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_ozzy.errors import PersistenceError
from airflow_provider_ozzy.persistence.alchemy_persistence import AlchemyPersistence
from airflow_provider_ozzy.persistence.base_persistence import BasePersistence
from airflow_provider_ozzy.persistence.pickle_persistence import PicklePersistence, state_file_name

CONFIG = {"reader": {"name": "RandomReader"}, "writer": {"name": "ConsoleWriter"}}


def _sqlite(folder: Path) -> BasePersistence:
    return AlchemyPersistence({"url": f"sqlite:///{folder / 'state.db'}"})


def _damage_row(column: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        with sqlite3.connect(folder / "state.db") as database:
            database.execute(f"UPDATE ozzy_job SET {column} = '{{\"cut'")

    return damage


def _damage_file(folder: Path) -> None:
    state = folder / state_file_name("job1")
    state.write_bytes(state.read_bytes()[:20])


CASES = [
    pytest.param(
        _sqlite, _damage_row("last_position"), "open", "has a damaged last_position", id="sql-state"
    ),
    pytest.param(
        _sqlite, _damage_row("configuration"), "load", "has a damaged configuration", id="sql-config"
    ),
    pytest.param(
        lambda folder: PicklePersistence({"file_path": str(folder)}),
        _damage_file,
        "open",
        "is not an Ozzy job state file",
        id="state-file",
    ),
]


@pytest.mark.parametrize(("store", "damage", "step", "message"), CASES)
def test_a_damaged_stored_state_fails_naming_the_job(
    tmp_path: Path,
    store: Callable[[Path], BasePersistence],
    damage: Callable[[Path], None],
    step: str,
    message: str,
) -> None:
    first = store(tmp_path)
    first.open("job1", CONFIG, resume=False)
    first.commit({"read": 3})
    first.close()
    damage(tmp_path)

    again = store(tmp_path)
    with pytest.raises(PersistenceError, match=message) as raised:
        if step == "open":
            again.open("job1", CONFIG, resume=True)
        else:
            again.load_configuration("job1")
    assert raised.value.__cause__ is None
