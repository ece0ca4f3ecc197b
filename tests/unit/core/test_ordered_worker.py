"""OrderedWorker: tasks in order, and a short switch interval only while a worker is open."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from airflow_provider_ozzy.core.ordered_worker import SWITCH_INTERVAL, OrderedWorker


@pytest.fixture
def default_interval() -> Iterator[float]:
    saved = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield 0.005
    sys.setswitchinterval(saved)


def test_tasks_run_in_the_order_submitted() -> None:
    worker = OrderedWorker(max_pending=2, name="test-order")
    done: list[int] = []
    try:
        for number in range(50):
            worker.submit(lambda number=number: done.append(number))
    finally:
        worker.shutdown()
    assert done == list(range(50))


def test_the_switch_interval_is_short_while_any_worker_is_open(default_interval: float) -> None:
    first = OrderedWorker(max_pending=1, name="test-first")
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    second = OrderedWorker(max_pending=1, name="test-second")
    first.shutdown()
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)  # the second still needs it
    second.shutdown()
    second.shutdown()  # a second shutdown changes nothing
    assert sys.getswitchinterval() == pytest.approx(default_interval)
    third = OrderedWorker(max_pending=1, name="test-third")
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    third.shutdown()


def test_a_failed_task_still_restores_the_interval(default_interval: float) -> None:
    worker = OrderedWorker(max_pending=1, name="test-fail")
    worker.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        worker.shutdown()
    assert sys.getswitchinterval() == pytest.approx(default_interval)
