"""Per-item cost of filters, transforms and groupers against plain Python doing the same work.

    .venv/bin/python benchmarks/bench_processing.py [--n 200000] [--batch 10000] [--repeat 5]

Items come from ``shared/bench/gen_items.py`` (10 fields, nested), parsed once with orjson. Each
case times the module's batch method over all items in batches of ``--batch`` (FSReader's
default) and, in the same run, a hand-written Python equivalent: a list comprehension doing the
same comparison, projection or grouping. The table shows the best of ``--repeat`` runs in
nanoseconds per item and the ratio module / plain. The ``exporters-style`` row evaluates the
expression string per item with ``eval`` (exporters parsed it for every item).
"""

from __future__ import annotations

import argparse
import gzip
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from airflow_provider_ozzy.filters.dupe_filter import DupeFilter  # noqa: E402
from airflow_provider_ozzy.filters.key_value_filters import KeyValueFilter  # noqa: E402
from airflow_provider_ozzy.filters.pythonexp_filter import PythonexpFilter  # noqa: E402
from airflow_provider_ozzy.groupers.file_key_grouper import FileKeyGrouper  # noqa: E402
from airflow_provider_ozzy.groupers.python_exp_grouper import PythonExpGrouper  # noqa: E402
from airflow_provider_ozzy.transform.flatson_transform import FlatsonTransform  # noqa: E402
from airflow_provider_ozzy.transform.jq_transform import JqTransform  # noqa: E402
from airflow_provider_ozzy.transform.pythonexp_transform import PythonexpTransform  # noqa: E402
from airflow_provider_ozzy.transform.pythonmap import PythonmapTransform  # noqa: E402

Batch = list[dict[str, Any]]


def load_items(n: int) -> list[dict[str, Any]]:
    gen = HERE.parent.parent / "shared" / "bench" / "gen_items.py"
    target = HERE / "work" / f"items-{n}.jl.gz"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(gen), "--out", str(target), "--n", str(n)], check=True)
    with gzip.open(target, "rb") as handle:
        return [orjson.loads(line) for line in handle]


def command_line(description: str, repeat: int) -> tuple[argparse.Namespace, list[Batch]]:
    """``--n`` items (``load_items``) in batches of ``--batch``, and ``--repeat``: the command line
    of this benchmark and ``bench_sandbox.py``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=repeat)
    args = parser.parse_args()
    items = load_items(args.n)
    return args, [items[start : start + args.batch] for start in range(0, len(items), args.batch)]


def best_ns(work: Callable[[Batch], Any], batches: list[Batch], repeat: int, copy: bool = False) -> float:
    """Best time over ``repeat`` runs, ns per item (copies are made outside the timed part)."""
    total = sum(len(batch) for batch in batches)
    best = float("inf")
    for _ in range(repeat):
        data = [[dict(item) for item in batch] for batch in batches] if copy else batches
        started = time.perf_counter()
        for batch in data:
            work(batch)
        best = min(best, time.perf_counter() - started)
    return best / total * 1e9


def _plain_group(key: Callable[[dict[str, Any]], Any]) -> Callable[[Batch], Any]:
    def group(batch: Batch) -> dict[Any, Batch]:
        groups: dict[Any, Batch] = {}
        for item in batch:
            groups.setdefault(key(item), []).append(item)
        return groups

    return group


def _plain_flatten(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, dict):
            flat.update(_plain_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            flat[prefix + key] = orjson.dumps(value).decode()
        else:
            flat[prefix + key] = value
    return flat


def _dupes(store: str) -> Callable[[Batch], Any]:
    module = DupeFilter({"key_field": "user_id", "store_path": store})
    module.set_state(None)
    return module.filter_batch


def cases(store: str) -> list[tuple[str, Callable[[Batch], Any], Callable[[Batch], Any], bool]]:
    """(name, module work, plain work, whether items are changed in place)."""
    expression = "item['country'] == 'ES'"
    compiled = compile(expression, "<plain>", "eval")
    return [
        (
            f"PythonexpFilter {expression}",
            PythonexpFilter({"python_expression": expression}).filter_batch,
            lambda batch: [item for item in batch if item["country"] == "ES"],
            False,
        ),
        (
            "  exporters-style: eval(str) per item",
            lambda batch: [item for item in batch if eval(expression, {"item": item})],  # noqa: S307
            lambda batch: [item for item in batch if item["country"] == "ES"],
            False,
        ),
        (
            "  compiled eval() per item (no batch function)",
            lambda batch: [item for item in batch if eval(compiled, {"item": item})],  # noqa: S307
            lambda batch: [item for item in batch if item["country"] == "ES"],
            False,
        ),
        (
            "PythonexpFilter price > 100 and 'sale' in tags",
            PythonexpFilter(
                {"python_expression": "item['price'] > 100 and 'sale' in item['tags']"}
            ).filter_batch,
            lambda batch: [item for item in batch if item["price"] > 100 and "sale" in item["tags"]],
            False,
        ),
        (
            "PythonexpFilter item.get('address', {}).get('city') == 'alpha'",
            PythonexpFilter(
                {"python_expression": "item.get('address', {}).get('city') == 'alpha'"}
            ).filter_batch,
            lambda batch: [item for item in batch if item.get("address", {}).get("city") == "alpha"],
            False,
        ),
        (
            "KeyValueFilter country == ES",
            KeyValueFilter({"keys": [{"name": "country", "value": "ES"}]}).filter_batch,
            lambda batch: [item for item in batch if item["country"] == "ES"],
            False,
        ),
        (
            "KeyValueFilter address.city in [...]",
            KeyValueFilter(
                {"keys": [{"name": "address.city", "value": ["alpha", "bravo"], "operator": "in"}]}
            ).filter_batch,
            lambda batch: [item for item in batch if item["address"]["city"] in ("alpha", "bravo")],
            False,
        ),
        (
            "JqTransform {id, name, country}",
            JqTransform({"jq_filter": "{id, name, country}"}).transform_batch,
            lambda batch: [{"id": i["id"], "name": i["name"], "country": i["country"]} for i in batch],
            False,
        ),
        (
            "PythonmapTransform {id, name, country}",
            PythonmapTransform(
                {"map": "{'id': item['id'], 'name': item['name'], 'country': item['country']}"}
            ).transform_batch,
            lambda batch: [{"id": i["id"], "name": i["name"], "country": i["country"]} for i in batch],
            False,
        ),
        (
            "PythonexpTransform item.update({...})",
            PythonexpTransform(
                {"python_expressions": ["item.update({'total': item['price'] * 2})"]}
            ).transform_batch,
            lambda batch: [item.update({"total": item["price"] * 2}) or item for item in batch],
            True,
        ),
        (
            "FlatsonTransform (no schema)",
            FlatsonTransform({}).transform_batch,
            lambda batch: [_plain_flatten(item) for item in batch],
            False,
        ),
        (
            "FileKeyGrouper country",
            FileKeyGrouper({"keys": ["country"]}).group_batch,
            _plain_group(lambda item: item["country"]),
            False,
        ),
        (
            "PythonExpGrouper item['country']",
            PythonExpGrouper({"python_expressions": ["item['country']"]}).group_batch,
            _plain_group(lambda item: item["country"]),
            False,
        ),
        (
            "DupeFilter user_id (SQLite) vs a set",
            _dupes(store),
            _set_dupes(),
            False,
        ),
    ]


def _set_dupes() -> Callable[[Batch], Any]:
    seen: set[Any] = set()

    def dedupe(batch: Batch) -> Batch:
        kept = []
        for item in batch:
            key = item["user_id"]
            if key not in seen:
                seen.add(key)
                kept.append(item)
        return kept

    return dedupe


def main() -> None:
    args, batches = command_line(__doc__.splitlines()[0], repeat=5)
    print(
        f"# {args.n} items, batches of {args.batch}, best of {args.repeat}; Python {platform.python_version()}, "
        f"{platform.machine()}, {platform.processor() or 'unknown CPU'}"
    )
    print(f"| {'case':58} | module ns/item | plain ns/item | ratio |")
    print(f"|{'-' * 60}|---------------:|--------------:|------:|")
    with tempfile.TemporaryDirectory() as folder:
        for name, module, plain, mutates in cases(str(Path(folder) / "seen.sqlite")):
            repeat = 1 if name.startswith("DupeFilter") else args.repeat  # its store fills up: one pass
            module_ns = best_ns(module, batches, repeat, copy=mutates)
            plain_ns = best_ns(plain, batches, repeat, copy=mutates)
            print(f"| {name:58} | {module_ns:14.0f} | {plain_ns:13.0f} | {module_ns / plain_ns:5.2f} |")


if __name__ == "__main__":
    main()
