"""Write the demo's input: reproducible orders as gzip JSON lines, in two files."""

from __future__ import annotations

import gzip
import json
import random
import sys
from pathlib import Path

COUNTRIES = ["ES", "FR", "DE", "US", "JP"]
PRODUCTS = ["kettle", "lamp", "chair", "desk", "mug", "rug"]


def main(folder: str, items: int = 20000) -> None:
    rng = random.Random(7)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    half = items // 2
    for part, numbers in enumerate((range(half), range(half, items))):
        with gzip.open(out / f"orders-{part}.jl.gz", "wt", encoding="utf-8") as handle:
            for number in numbers:
                order = {
                    "id": number,
                    "country": rng.choice(COUNTRIES),
                    "product": rng.choice(PRODUCTS),
                    "quantity": rng.randint(1, 5),
                    "price": round(rng.uniform(2, 300), 2),
                    "customer": {"name": f"customer-{rng.randint(1, 500)}", "vip": rng.random() < 0.1},
                }
                handle.write(json.dumps(order) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo/input")
