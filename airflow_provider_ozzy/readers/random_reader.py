"""Reproducible random items for tests and demos; the same seed gives the same items."""

from __future__ import annotations

import random
from typing import Any

from airflow_provider_ozzy.readers.base_reader import BaseReader, batch_size_option

COUNTRIES = ["es", "uk", "us", "fr", "de"]
STATES = ["valencia", "madrid", "barcelona", "texas", "ohio", "paris", "berlin"]
CITIES = ["alpha", "bravo", "charlie", "delta", "echo"]


class RandomReader(BaseReader):
    """``number_of_items`` items ``{key, country_code, state, city: {name, district}, value}``."""

    supported_options = {
        "number_of_items": {
            "type": int,
            "minimum": 0,
            "maximum": 2**63 - 1,
            "default": 1000,
            "help": "How many items to produce.",
        },
        "batch_size": batch_size_option(100),
        "seed": {
            "type": int,
            "minimum": -(2**63),
            "maximum": 2**63 - 1,
            "default": 0,
            "help": "Random seed; item n is the same on every run.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.last_read = 0

    def open(self, position: dict[str, Any] | None) -> None:
        self.last_read = int((position or {}).get("last_read", 0))
        self.finished = self.last_read >= self.options["number_of_items"]

    def get_next_batch(self) -> list[dict[str, Any]]:
        end = min(self.last_read + self.options["batch_size"], self.options["number_of_items"])
        batch = [self._item(number) for number in range(self.last_read, end)]
        self.last_read = end
        self.read_items += len(batch)
        self.finished = end >= self.options["number_of_items"]
        return batch

    def get_last_position(self) -> dict[str, Any]:
        return {"last_read": self.last_read}

    def progress(self) -> float | None:
        total = self.options["number_of_items"]
        return self.last_read / total if total else 1.0

    def _item(self, number: int) -> dict[str, Any]:
        rng = random.Random(self.options["seed"] * 1_000_003 + number)
        return {
            "key": number,
            "country_code": rng.choice(COUNTRIES),
            "state": rng.choice(STATES),
            "city": {"name": rng.choice(CITIES), "district": rng.randint(1, 20)},
            "value": round(rng.random() * 1000, 3),
        }
