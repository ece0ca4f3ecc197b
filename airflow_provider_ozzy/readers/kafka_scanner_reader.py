"""A Kafka topic (all or chosen partitions) read in batches with manual offsets, resumable exactly.

exporters' KafkaScannerReader took any exception for the end of the data and had no resumable
position. This one assigns partitions itself (no group rebalancing, no auto commit), reads each
partition from its start to its stop offset (``kafka_partitions``), and its position is the next
offset per partition. The position reaches Kafka only through Ozzy's commit protocol: with
``commit_group`` the consumer group's offsets are committed *after* Ozzy's persistence stored the
same position, so they never claim a message that is not durably at the destination.

Batches are a function of the position: each batch takes up to ``batch_size / active partitions``
messages from every unfinished partition in partition order, so a resume after ``kill -9`` reads
exactly the items the first run read after the committed position.
"""

from __future__ import annotations

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


class KafkaScannerReader(BaseReader):
    """Messages of ``topic`` between the start and stop bounds, decoded into items with ``_key``."""

    requires = ("kafka",)
    supported_options = {
        **KAFKA_OPTIONS,
        **RANGE_OPTIONS,
        **DECODING_OPTIONS,
        "stop_count": {
            "type": (int, type(None)),
            "minimum": 0,
            "maximum": 2**63 - 1,
            "default": None,
            "help": "With stop: count; at most this many messages per run.",
        },
        "commit_group": {
            "type": bool,
            "default": False,
            "help": "Also commit group_id's offsets in Kafka, after Ozzy committed the same position.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.kafka = KafkaConnection(type(self).__name__, self.options)
        self.topic: str = self.options["topic"]
        self.consumer: Any = None
        self.fetcher: PartitionFetcher | None = None
        self.starts: dict[int, int] = {}
        self.count = 0
        self._decode = make_decoder(self.options)
        self._group_committed: dict[int, int] = {}

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = [Problem(option, message) for option, message in kafka_problems(values)]
        problems += range_problems(values, ("end", "timestamp", "count"))
        problems += decoding_problems(values)
        if values["stop"] == "count" and (values["stop_count"] is None or values["stop_count"] <= 0):
            problems.append(Problem("stop_count", "stop: count needs a positive 'stop_count'"))
        elif values["stop"] != "count" and values["stop_count"] is not None:
            problems.append(Problem("stop_count", "'stop_count' is used only with stop: count"))
        if values["commit_group"] and not values["group_id"]:
            problems.append(Problem("group_id", "commit_group needs 'group_id'"))
        return problems

    # -- opening -------------------------------------------------------------------------------------
    def open(self, position: dict[str, Any] | None) -> None:
        offsets, stops = self._connect_at(position)
        self.starts = dict(offsets)
        self.fetcher = PartitionFetcher(
            self.consumer,
            self.topic,
            offsets,
            stops,
            self.options["timeout"],
            self._failure,
            max_records=max(self.options["batch_size"], 1000),
        )
        self.log.info(
            "%s: topic %s partitions %s from %s to %s on %s",
            type(self).__name__,
            self.topic,
            sorted(offsets),
            offsets,
            stops,
            self.kafka.brokers(),
        )
        self.finished = self._all_done()

    def has_new_input(self, position: dict[str, Any] | None) -> bool:
        """Whether a run opened at ``position`` has a message to read: the range ``open`` would
        take (the position's offsets against the end offsets, or the stop time), fetching none."""
        try:
            offsets, stops = self._connect_at(position)
        finally:
            self.close()
        return self._remaining() != 0 and any(stops[p] > offsets[p] for p in stops)

    def _connect_at(self, position: dict[str, Any] | None) -> tuple[dict[int, int], dict[int, int]]:
        """A consumer, and the start and stop offsets of a run from ``position``."""
        try:
            self.consumer = self.kafka.consumer(self.options["group_id"])
        except ReaderError:
            raise
        except Exception as error:
            raise ReaderError(self.kafka.failure("connect to read", self.topic, error)) from None
        try:
            bounds = self._bounds(position)
        except ReaderError:
            raise
        except Exception as error:
            raise ReaderError(self.kafka.failure("find the offsets of", self.topic, error)) from None
        self.count = int((position or {}).get("count", 0)) if position and "stop" in position else 0
        return bounds

    def _bounds(self, position: dict[str, Any] | None) -> tuple[dict[int, int], dict[int, int]]:
        """Start and stop offsets: from a resumed position, or new (continuing a previous run's offsets)."""
        topic_range = TopicRange(self.kafka, self.consumer, self.options)
        partitions = topic_range.partitions()
        saved = {int(p): int(o) for p, o in ((position or {}).get("offsets") or {}).items()}
        if position and "stop" in position:  # an unfinished job: exactly the same range again
            stops = {int(p): int(o) for p, o in position["stop"].items()}
            missing = sorted(set(stops) - set(partitions))
            if missing:
                raise ReaderError(
                    self.kafka.failure("resume", self.topic, f"partition(s) {missing} are gone")
                )
            return {p: saved[p] for p in stops}, stops
        new = [p for p in partitions if p not in saved]
        offsets = {p: saved[p] for p in partitions if p in saved}
        if new:
            offsets.update(topic_range.starts(new))
        stops = topic_range.stops(partitions)
        return offsets, {p: max(stops[p], offsets[p]) for p in partitions}

    def _failure(
        self, action: str, error: BaseException | str, partition: int | None = None, offset: int | None = None
    ) -> str:
        return self.kafka.failure(action, self.topic, error, partition, offset)

    # -- reading -------------------------------------------------------------------------------------
    def _remaining(self) -> int | None:
        if self.options["stop"] != "count":
            return None
        return max(0, self.options["stop_count"] - self.count)

    def _all_done(self) -> bool:
        assert self.fetcher is not None
        return self._remaining() == 0 or all(self.fetcher.done(p) for p in self.fetcher.positions)

    def get_next_batch(self) -> list[dict[str, Any]]:
        fetcher = self.fetcher
        assert fetcher is not None, "open() first"
        active = [p for p in sorted(fetcher.positions) if not fetcher.done(p)]
        share = max(1, self.options["batch_size"] // max(1, len(active)))
        remaining = self._remaining()
        batch: list[dict[str, Any]] = []
        for partition in active:
            want = share if remaining is None else min(share, remaining - len(batch))
            if want <= 0:
                break
            for record in fetcher.take(partition, want):
                batch.append(self._item(record))
        self.count += len(batch)
        self.read_items += len(batch)
        self.finished = self._all_done()
        return batch

    def _item(self, record: Any) -> dict[str, Any]:
        try:
            return self._decode(record)
        except Exception as error:
            raise ReaderError(
                self._failure(
                    f"decode ({self.options['deserializer']}) a message of",
                    error,
                    record.partition,
                    record.offset,
                )
            ) from None

    def get_last_position(self) -> dict[str, Any]:
        assert self.fetcher is not None, "open() first"
        offsets = {str(p): o for p, o in sorted(self.fetcher.positions.items())}
        if self.finished:  # the next run of an incremental export starts here with new bounds
            return {"offsets": offsets}
        stops = {str(p): o for p, o in sorted(self.fetcher.stops.items())}
        return {"offsets": offsets, "stop": stops, "count": self.count}

    def progress(self) -> float | None:
        if self.fetcher is None:
            return None
        remaining = self._remaining()
        if remaining is not None and self.options["stop_count"]:
            return max(self.fetcher.progress(self.starts), self.count / self.options["stop_count"])
        return self.fetcher.progress(self.starts)

    # -- Kafka group offsets, after Ozzy's commit ----------------------------------------------------------
    def committed(self, position: dict[str, Any]) -> None:
        """Ozzy's persistence stored ``position``: now the consumer group may say the same."""
        if not self.options["commit_group"] or self.consumer is None:
            return
        from kafka import TopicPartition
        from kafka.structs import OffsetAndMetadata

        offsets = {int(p): int(o) for p, o in (position.get("offsets") or {}).items()}
        changed = {p: o for p, o in offsets.items() if self._group_committed.get(p) != o}
        if not changed:
            return
        try:
            self.consumer.commit(
                {TopicPartition(self.topic, p): OffsetAndMetadata(o, "", -1) for p, o in changed.items()}
            )
        except Exception as error:
            raise ReaderError(
                self._failure(f"commit the offsets of group '{self.options['group_id']}' for", error)
            ) from None
        self._group_committed.update(changed)

    def close(self) -> None:
        if self.consumer is not None:
            try:
                self.consumer.close(autocommit=False)
            except Exception:
                pass
            self.consumer = None
