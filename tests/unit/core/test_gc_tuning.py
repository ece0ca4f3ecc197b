"""The export raises the generation-0 GC threshold while it runs and puts the old one back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from airflow_provider_ozzy.core.gc_tuning import EXPORT_GEN0_THRESHOLD, fewer_collections


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_the_threshold_is_raised_inside_and_restored_after(thresholds: tuple[int, int, int]) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (EXPORT_GEN0_THRESHOLD, 10, 10)
        with fewer_collections():  # nested (two exports in one process)
            assert gc.get_threshold()[0] == EXPORT_GEN0_THRESHOLD
        assert gc.get_threshold()[0] == EXPORT_GEN0_THRESHOLD
    assert gc.get_threshold() == thresholds


def test_the_threshold_is_restored_when_the_export_fails(thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("export failed")
    assert gc.get_threshold() == thresholds


def test_a_threshold_set_by_someone_else_meanwhile_is_kept(thresholds: tuple[int, int, int]) -> None:
    with fewer_collections():
        gc.set_threshold(5000, 10, 10)
    assert gc.get_threshold() == (5000, 10, 10)


def test_disabled_automatic_collection_and_higher_thresholds_are_left_alone() -> None:
    saved = gc.get_threshold()
    try:
        for setting in ((0, 10, 10), (EXPORT_GEN0_THRESHOLD * 2, 10, 10)):
            gc.set_threshold(*setting)
            with fewer_collections():
                assert gc.get_threshold() == setting
            assert gc.get_threshold() == setting
    finally:
        gc.set_threshold(*saved)
