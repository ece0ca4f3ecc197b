"""Sums up an ``OZZY_CPU_LOG`` file (see ``tests/conftest.py``): CPU seconds per test file and the
tests that cost most, to find what to cut when the suite is bound by two cores."""

from __future__ import annotations

import json
import sys
from collections import Counter


def main(path: str, most: int = 40) -> None:
    rows = [json.loads(line) for line in open(path)]
    per_file: Counter[str] = Counter()
    for row in rows:
        per_file[row["test"].split("::")[0]] += row["cpu"]
    total = sum(row["cpu"] for row in rows)
    print(f"{len(rows)} tests, {total:.0f} CPU s ({total / 60:.1f} CPU min)")
    for name, seconds in per_file.most_common(most):
        print(f"{seconds:8.1f}  {name}")
    print("-- tests")
    for row in sorted(rows, key=lambda row: -row["cpu"])[:most]:
        print(f"{row['cpu']:8.1f} {row['wall']:8.1f}  {row['test']}")


if __name__ == "__main__":
    main(sys.argv[1])
