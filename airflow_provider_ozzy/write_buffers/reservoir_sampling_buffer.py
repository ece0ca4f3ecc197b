"""Keeps a uniform random sample of each group (Algorithm R) and writes it at the end."""

from __future__ import annotations

import random
import sys
from typing import Any

from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.write_buffers.base import FinishedFile, WriteBuffer


class ReservoirSamplingWriteBuffer(WriteBuffer):
    """At most ``sample_size`` items per group in memory; nothing reaches the destination before the end.

    Because no file is finished early, a resumed job samples again from the start.
    """

    supported_options = {
        "sample_size": {
            "type": int,
            "minimum": 1,
            "maximum": 100_000_000,
            "default": 1000,
            "help": "Items kept per group.",
        },
        "seed": {
            "type": (int, type(None)),
            "minimum": -(2**63),
            "maximum": 2**63 - 1,
            "default": None,
            "help": "Random seed, for reproducible samples.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._samples: dict[GroupKey, list[dict[str, Any]]] = {}
        self._seen: dict[GroupKey, int] = {}
        self._first_batch: dict[GroupKey, int] = {}
        self._random = random.Random(self.options["seed"])

    def append(self, key: GroupKey, items: list[dict[str, Any]], batch_number: int) -> list[FinishedFile]:
        size = self.options["sample_size"]
        sample = self._samples.setdefault(key, [])
        self._first_batch.setdefault(key, batch_number)
        seen = self._seen.get(key, 0)
        for item in items:
            seen += 1
            if len(sample) < size:
                sample.append(item)
            else:
                slot = self._random.randrange(seen)
                if slot < size:
                    sample[slot] = item
        self._seen[key] = seen
        return []

    def flush_all(self) -> list[FinishedFile]:
        limits = self._config
        # a sample is one file per group: lift the rotation limits while writing it
        self.settings = limits._replace(items_per_file=sys.maxsize, bytes_per_file=sys.maxsize)
        try:
            for key, sample in self._samples.items():
                super().append(key, sample, self._first_batch[key])
            finished = super().flush_all()
        finally:
            self.settings = limits
        self._samples.clear()
        return finished

    def open_groups(self) -> dict[GroupKey, tuple[int, int]]:
        return {key: (self._first_batch[key], len(sample)) for key, sample in self._samples.items()}
