"""Parts the DAGs of ``tests/e2e`` share: the usual folder-to-folder export, and the evidence a task
process leaves for the test that runs it."""

from __future__ import annotations

import os
from typing import Any


def jl_reader(folder: str) -> dict[str, Any]:
    """FSReader over the ``.jl`` files of ``folder`` (what the tests write as input)."""
    return {"name": "FSReader", "options": {"input": {"dir": folder, "pattern": r"\.jl$"}}}


def folder_export(input_folder: str, filebase: str, **writer_options: Any) -> dict[str, dict[str, Any]]:
    """``reader`` and ``writer`` of an export from the ``.jl`` files of ``input_folder`` to FSWriter
    files ``filebase0000``... (``writer_options`` added)."""
    return {
        "reader": jl_reader(input_folder),
        "writer": {"name": "FSWriter", "options": {"filebase": filebase, **writer_options}},
    }


def paced_reader(items: int, batch: int, pace: float) -> dict[str, Any]:
    """``items`` RandomReader items in batches of ``batch``, ``pace`` seconds per batch
    (``tests/e2e/paced_modules.py``): an export that lasts long enough to be stopped."""
    return {
        "name": "tests.e2e.paced_modules.PacedRandomReader",
        "options": {"number_of_items": items, "batch_size": batch, "seconds_per_batch": pace},
    }


def write_pid(folder: str, name: str) -> None:
    """``folder/name`` holding this process's id, written whole: the test polls for it and signals
    the process, so it must never read a half-written file."""
    path = os.path.join(folder, name)
    with open(path + ".tmp", "w") as handle:
        handle.write(str(os.getpid()))
    os.replace(path + ".tmp", path)
