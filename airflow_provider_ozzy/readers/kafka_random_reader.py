"""A uniform random sample of ``record_count`` messages of a topic's bounded range, reproducible.

exporters read the whole topic into a reservoir at construction. This reader streams the range
(start and stop bounds as KafkaScannerReader) once in ``open()`` and keeps a reservoir of at most
``record_count`` messages: memory is bounded by the sample, not the topic. It is the priority
form of reservoir sampling: every message gets a pseudo-random key from ``seed``, its partition
and offset, and the sample is the ``record_count`` messages with the smallest keys. That is a
uniform sample without replacement, and unlike the sequential form it does not depend on the order
in which the broker delivers partitions, so the same seed and range give the same sample.

The sample is served in (partition, offset) order. The position holds the range and how many
sampled items were delivered; a resume draws the same sample again and skips those. A finished
job's position is the stop offsets, so the next run of an incremental export samples only newer
messages.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable
from typing import Any

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.readers.base_reader import BaseReader
from airflow_provider_ozzy.services.kafka import KAFKA_OPTIONS, KafkaConnection, kafka_problems
from airflow_provider_ozzy.services.kafka_decoding import DECODING_OPTIONS, decoding_problems, make_decoder
from airflow_provider_ozzy.services.kafka_partitions import (
    RANGE_OPTIONS,
    PartitionFetcher,
    TopicRange,
    range_problems,
)

CHUNK = 5000


def sample_key(seed: int, partition: int, offset: int) -> int:
    """The message's pseudo-random rank: 64 bits of BLAKE2b, independent of reading order."""
    digest = hashlib.blake2b(f"{seed}:{partition}:{offset}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class KafkaRandomReader(BaseReader):
    """``record_count`` messages drawn uniformly from ``topic`` between the start and stop bounds."""

    requires = ("kafka",)
    supported_options = {
        **KAFKA_OPTIONS,
        **RANGE_OPTIONS,
        **DECODING_OPTIONS,
        "record_count": {
            "type": int,
            "minimum": 1,
            "maximum": 100_000_000,
            "help": "How many messages to sample.",
        },
        "seed": {
            "type": int,
            "minimum": -(2**63),
            "maximum": 2**63 - 1,
            "default": 0,
            "help": "Random seed: the same seed and range give the same sample.",
        },
        "group": {
            "type": (str, type(None)),
            "default": None,
            "help": "Legacy name of group_id (exporters required it; only start: committed uses it).",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.kafka = KafkaConnection(type(self).__name__, self.options)
        self.topic: str = self.options["topic"]
        self.group_id = self.options["group_id"] or self.options["group"]
        self._decode = make_decoder(self.options)
        self.sample: list[Any] = []
        self.emitted = 0
        self.starts: dict[int, int] = {}
        self.stops: dict[int, int] = {}
        self.seen = 0

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        values = dict(values, group_id=values["group_id"] or values["group"])
        problems = [Problem(option, message) for option, message in kafka_problems(values)]
        problems += range_problems(values, ("end", "timestamp"))
        problems += decoding_problems(values)
        if values["record_count"] <= 0:
            problems.append(Problem("record_count", "option 'record_count' must be positive"))
        if values["group_id"] and values["group"] and values["group_id"] != values["group"]:
            problems.append(Problem("group", "give 'group_id' or its legacy name 'group', not both"))
        return problems

    def open(self, position: dict[str, Any] | None) -> None:
        self._with_consumer(position, self._draw)
        self.emitted = int((position or {}).get("emitted", 0)) if position and "stop" in position else 0
        self.log.info(
            "%s: sampled %d of %d message(s) of topic %s (from %s to %s) on %s",
            type(self).__name__,
            len(self.sample),
            self.seen,
            self.topic,
            self.starts,
            self.stops,
            self.kafka.brokers(),
        )
        self.finished = self.emitted >= len(self.sample)

    def has_new_input(self, position: dict[str, Any] | None) -> bool:
        """Whether a run opened at ``position`` has a message to sample: the range ``open`` would
        take, fetching none."""
        self._with_consumer(position, lambda consumer: None)
        return any(self.stops[p] > self.starts[p] for p in self.stops)

    def _with_consumer(self, position: dict[str, Any] | None, then: Callable[[Any], None]) -> None:
        """The range of a run from ``position`` (``starts``, ``stops``), then ``then(consumer)``."""
        try:
            consumer = self.kafka.consumer(self.group_id)
        except Exception as error:
            raise ReaderError(self.kafka.failure("connect to read", self.topic, error)) from None
        try:
            self._bounds(consumer, position)
            then(consumer)
        except ReaderError:
            raise
        except Exception as error:
            raise ReaderError(self.kafka.failure("sample", self.topic, error)) from None
        finally:
            consumer.close(autocommit=False)

    def _bounds(self, consumer: Any, position: dict[str, Any] | None) -> None:
        options = dict(self.options, group_id=self.group_id)
        topic_range = TopicRange(self.kafka, consumer, options)
        partitions = topic_range.partitions()
        if position and "stop" in position:  # an unfinished job: the same range, so the same sample
            self.starts = {int(p): int(o) for p, o in position["start"].items()}
            self.stops = {int(p): int(o) for p, o in position["stop"].items()}
            return
        saved = {int(p): int(o) for p, o in ((position or {}).get("offsets") or {}).items()}
        new = [p for p in partitions if p not in saved]
        self.starts = {p: saved[p] for p in partitions if p in saved}
        if new:
            self.starts.update(topic_range.starts(new))
        stops = topic_range.stops(partitions)
        self.stops = {p: max(stops[p], self.starts[p]) for p in partitions}

    def _draw(self, consumer: Any) -> None:
        """One pass over the range, keeping the ``record_count`` messages with the smallest keys."""
        count, seed = self.options["record_count"], self.options["seed"]
        fetcher = PartitionFetcher(
            consumer,
            self.topic,
            self.starts,
            self.stops,
            self.options["timeout"],
            self._failure,
            max_records=CHUNK,
        )
        heap: list[tuple[int, int, int, Any]] = []  # (-key, partition, offset, record): a max-heap on key
        seen = 0
        for record in fetcher.drain():
            seen += 1
            entry = (
                -sample_key(seed, record.partition, record.offset),
                record.partition,
                record.offset,
                record,
            )
            if len(heap) < count:
                heapq.heappush(heap, entry)
            elif entry[0] > heap[0][0]:
                heapq.heapreplace(heap, entry)
        self.seen = seen
        self.sample = [entry[3] for entry in sorted(heap, key=lambda entry: (entry[1], entry[2]))]

    def _failure(
        self, action: str, error: BaseException | str, partition: int | None = None, offset: int | None = None
    ) -> str:
        return self.kafka.failure(action, self.topic, error, partition, offset)

    def get_next_batch(self) -> list[dict[str, Any]]:
        end = min(self.emitted + self.options["batch_size"], len(self.sample))
        batch = []
        for record in self.sample[self.emitted : end]:
            try:
                batch.append(self._decode(record))
            except Exception as error:
                raise ReaderError(
                    self.kafka.failure(
                        f"decode ({self.options['deserializer']}) a message of",
                        self.topic,
                        error,
                        record.partition,
                        record.offset,
                    )
                ) from None
        self.emitted = end
        self.read_items += len(batch)
        self.finished = self.emitted >= len(self.sample)
        return batch

    def get_last_position(self) -> dict[str, Any]:
        stops = {str(p): o for p, o in sorted(self.stops.items())}
        if self.finished:
            return {"offsets": stops}
        starts = {str(p): o for p, o in sorted(self.starts.items())}
        return {"start": starts, "stop": stops, "emitted": self.emitted}

    def progress(self) -> float | None:
        return self.emitted / len(self.sample) if self.sample else 1.0
