"""Fewer garbage collections while items stream through an export.

CPython starts a generation-0 collection whenever the tracked containers allocated since the last
one, minus those freed, exceed 700. A batch holds tens of thousands of freshly parsed dicts and
lists that stay alive until it is written, so with the default threshold every item is scanned and
promoted through the older generations, and full collections walk the whole heap, for nothing:
items are trees without reference cycles, freed by reference counting as soon as a batch is done.
That cost 10-15 % of the main thread in the JSON lines export (benchmarks/README.md).

During an export the generation-0 threshold is raised above what a batch keeps alive; cyclic
garbage (rare) is still collected, only later. The previous thresholds come back afterwards.
Exports running at the same time in one process share the raised setting.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

EXPORT_GEN0_THRESHOLD = 100_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the generation-0 threshold for the duration of the block (nestable, thread-safe)."""
    global _active, _saved
    with _lock:
        if _active == 0:
            current = gc.get_threshold()
            # 0 means automatic collection is off: leave that alone, as a larger threshold already
            if 0 < current[0] < EXPORT_GEN0_THRESHOLD:
                _saved = current
                gc.set_threshold(EXPORT_GEN0_THRESHOLD, current[1], current[2])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                if gc.get_threshold()[0] == EXPORT_GEN0_THRESHOLD:  # unless someone else set it meanwhile
                    gc.set_threshold(*_saved)
                _saved = None
