"""A test reader for runs that must last long enough to be interrupted on purpose.

``PacedRandomReader`` is Ozzy's ``RandomReader`` (same items, same positions) that waits
``seconds_per_batch`` before producing each batch, like a rate-limited source. A batch on this
machine otherwise takes a few milliseconds, too fast for a test to signal a task mid-run reliably.
"""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_ozzy.readers.random_reader import RandomReader
from airflow_provider_ozzy.readers.s3_reader import S3Reader


class PacedRandomReader(RandomReader):
    """RandomReader with a pause before every batch."""

    supported_options = {
        "seconds_per_batch": {"type": float, "default": 0.02, "help": "Pause before each batch."},
    }

    def get_next_batch(self) -> list[dict[str, Any]]:
        time.sleep(self.options["seconds_per_batch"])
        return super().get_next_batch()


class PacedS3Reader(S3Reader):
    """S3Reader with a pause before every batch (the CeleryExecutor test kills a host mid-shard)."""

    supported_options = {
        "seconds_per_batch": {"type": float, "default": 0.02, "help": "Pause before each batch."},
    }

    def get_next_batch(self) -> list[dict[str, Any]]:
        time.sleep(self.options["seconds_per_batch"])
        return super().get_next_batch()
