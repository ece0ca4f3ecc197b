"""Items per second of sandboxed expression modules over 200k items (PythonexpFilter and friends).

    .venv/bin/python benchmarks/bench_sandbox.py [--n 200000] [--batch 10000] [--repeat 3]

Items come from ``shared/bench/gen_items.py`` (10 fields, nested), as in ``bench_processing.py``.
Each case times the module's batch method over all items in batches of ``--batch`` (FSReader's
default), best of ``--repeat`` runs, including the sandbox process's round trips (items sent to
it, results sent back); the first batch (which starts the sandbox process) is not timed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_processing import best_ns, command_line  # noqa: E402

from airflow_provider_ozzy.filters.pythonexp_filter import PythonexpFilter  # noqa: E402
from airflow_provider_ozzy.groupers.python_exp_grouper import PythonExpGrouper  # noqa: E402
from airflow_provider_ozzy.transform.pythonexp_transform import PythonexpTransform  # noqa: E402

Batch = list[dict[str, Any]]


def items_per_second(work: Callable[[Batch], Any], batches: list[Batch], repeat: int, copy: bool) -> float:
    work(batches[0][:10])  # starts the sandbox process, if any
    return 1e9 / best_ns(work, batches, repeat, copy)


def main() -> None:
    args, batches = command_line(__doc__.splitlines()[0], repeat=3)
    cases: list[tuple[str, Callable[[Batch], Any], bool]] = [
        (
            "PythonexpFilter item['country'] == 'ES'",
            PythonexpFilter({"python_expression": "item['country'] == 'ES'"}).filter_batch,
            False,
        ),
        (
            "PythonexpFilter item['price'] > 100 and 'sale' in item['tags']",
            PythonexpFilter(
                {"python_expression": "item['price'] > 100 and 'sale' in item['tags']"}
            ).filter_batch,
            False,
        ),
        (
            "PythonexpTransform item.update({'n': len(item['tags'])})",
            PythonexpTransform(
                {"python_expressions": ["item.update({'n': len(item['tags'])})"]}
            ).transform_batch,
            True,
        ),
        (
            "PythonExpGrouper item['country']",
            PythonExpGrouper({"python_expressions": ["item['country']"]}).group_batch,
            False,
        ),
    ]
    print(f"{args.n} items, batches of {args.batch}, best of {args.repeat}")
    for name, work, copy in cases:
        rate = items_per_second(work, batches, args.repeat, copy)
        print(f"{rate:>12,.0f} items/s  {name}")


if __name__ == "__main__":
    main()
