"""One background thread that runs tasks in submission order, with a bound on the tasks waiting.

Compression and file writes (buffer files) and deliveries (finished files to their destination)
release the GIL for most of their time, so running them here lets the main thread read, parse and
format the next batch on the second core. The bound keeps memory flat when the background side is
the slower one: ``submit`` waits for the oldest task first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class OrderedWorker:
    """Tasks run one at a time, in the order submitted; at most ``max_pending`` wait or run."""

    def __init__(self, max_pending: int, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: deque[Future[Any]] = deque()
        self._max_pending = max_pending

    def submit(self, task: Callable[[], T]) -> Future[T]:
        """Queue ``task``; re-raises the failure of an earlier task that ended since the last call."""
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()
        while len(self._pending) >= self._max_pending:
            self._pending.popleft().result()
        future = self._executor.submit(task)
        self._pending.append(future)
        return future

    def drain(self) -> None:
        """Wait for every submitted task; re-raises the first failure."""
        while self._pending:
            self._pending.popleft().result()

    def shutdown(self) -> None:
        try:
            self.drain()
        finally:
            self._executor.shutdown(wait=True)
