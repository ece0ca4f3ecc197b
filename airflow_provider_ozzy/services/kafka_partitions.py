"""The bounded range of a topic a Kafka reader reads, and fetching it partition by partition.

A run reads, per partition, from a start offset to a stop offset both fixed when the job starts
(and kept in the job state), so a run is finite and a resume re-reads exactly the same messages.
Start: ``earliest``, ``latest``, ``committed`` (a consumer group's offsets) or ``timestamp``; stop:
``end`` (the end offsets seen at start), ``timestamp`` (the first message at or after it) or, for
the scanner, ``count`` (at most that many messages, and never past the end offsets seen at start).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import INT_LIST, Problem
from airflow_provider_ozzy.services.kafka import KafkaConnection

STARTS = ("earliest", "latest", "committed", "timestamp")

RANGE_OPTIONS: dict[str, dict[str, Any]] = {
    "topic": {"type": str, "help": "Topic to read."},
    "partitions": {
        "type": (INT_LIST, type(None)),
        "minimum": 0,
        "maximum": 2**31 - 1,
        "default": None,
        "help": "Partitions to read (default: all); shards of one topic take disjoint lists.",
    },
    "batch_size": {
        "type": int,
        "minimum": 1,
        "maximum": 1_000_000,
        "default": 10000,
        "help": "Messages per batch.",
    },
    "start": {
        "type": str,
        "default": "earliest",
        "choices": STARTS,
        "help": "Where a new job starts: earliest, latest, committed (group_id's committed offsets; "
        "earliest where none) or timestamp (start_timestamp). A resume or the next run of an "
        "incremental export continues from its position instead.",
    },
    "start_timestamp": {
        "type": (str, int, type(None)),
        "minimum": 0,
        "maximum": 253402300799999,
        "default": None,
        "help": "With start: timestamp; epoch milliseconds or an ISO 8601 date-time (UTC if no zone).",
    },
    "stop": {
        "type": str,
        "default": "end",
        "help": "Where a run stops: end (the end offsets seen when the job started), timestamp "
        "(stop_timestamp, exclusive) or count (stop_count messages, KafkaScannerReader only).",
    },
    "stop_timestamp": {
        "type": (str, int, type(None)),
        "minimum": 0,
        "maximum": 253402300799999,
        "default": None,
        "help": "With stop: timestamp; epoch milliseconds or an ISO 8601 date-time (UTC if no zone).",
    },
    "group_id": {
        "type": (str, type(None)),
        "default": None,
        "help": "Kafka consumer group: for start: committed, and for commit_group.",
    },
}


def timestamp_ms(value: str | int) -> int:
    """Epoch milliseconds from an int or an ISO 8601 text; ``ValueError`` when it is neither."""
    if isinstance(value, int):
        return value
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def range_problems(values: dict[str, Any], stops: tuple[str, ...]) -> list[Problem]:
    problems = []
    if values["batch_size"] <= 0:
        problems.append(Problem("batch_size", "option 'batch_size' must be positive"))
    if not values["topic"].strip():
        problems.append(Problem("topic", "option 'topic' must not be empty"))
    if values["partitions"] is not None:
        if not values["partitions"]:
            problems.append(Problem("partitions", "option 'partitions' must not be an empty list"))
        if any(p < 0 for p in values["partitions"]) or len(set(values["partitions"])) != len(
            values["partitions"]
        ):
            problems.append(
                Problem("partitions", "option 'partitions' needs distinct partition numbers >= 0")
            )
    if values["stop"] not in stops:
        problems.append(
            Problem("stop", f"option 'stop' must be one of {', '.join(stops)}, got {values['stop']!r}")
        )
    for bound in ("start", "stop"):
        option = f"{bound}_timestamp"
        if values[bound] == "timestamp" and values[option] is None:
            problems.append(Problem(option, f"{bound}: timestamp needs '{option}'"))
        elif values[bound] != "timestamp" and values[option] is not None:
            problems.append(Problem(option, f"'{option}' is used only with {bound}: timestamp"))
        elif values[option] is not None:
            try:
                timestamp_ms(values[option])
            except ValueError:
                problems.append(
                    Problem(
                        option,
                        f"option '{option}' must be epoch milliseconds or an ISO 8601 date-time, got {values[option]!r}",
                    )
                )
    if values["start"] == "committed" and not values["group_id"]:
        problems.append(Problem("group_id", "start: committed needs 'group_id'"))
    return problems


def _by_partition(mapping: dict[Any, Any]) -> dict[int, Any]:
    return {tp.partition: value for tp, value in mapping.items()}


class TopicRange:
    """Finds the partitions of a topic and the start/stop offsets of a new run."""

    def __init__(self, connection: KafkaConnection, consumer: Any, options: dict[str, Any]) -> None:
        self.connection = connection
        self.consumer = consumer
        self.options = options
        self.topic: str = options["topic"]

    def partitions(self) -> list[int]:
        found = self.consumer.partitions_for_topic(self.topic)
        if not found:
            raise ReaderError(self.connection.failure("read", self.topic, "the topic does not exist"))
        wanted = self.options["partitions"]
        if wanted is None:
            return sorted(found)
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise ReaderError(
                self.connection.failure(
                    "read", self.topic, f"partition(s) {missing} do not exist (the topic has {sorted(found)})"
                )
            )
        return sorted(wanted)

    def _parts(self, partitions: list[int]) -> list[Any]:
        from kafka import TopicPartition

        return [TopicPartition(self.topic, p) for p in partitions]

    def beginning(self, partitions: list[int]) -> dict[int, int]:
        return _by_partition(self.consumer.beginning_offsets(self._parts(partitions)))

    def end(self, partitions: list[int]) -> dict[int, int]:
        return _by_partition(self.consumer.end_offsets(self._parts(partitions)))

    def at_time(self, partitions: list[int], value: str | int) -> dict[int, int]:
        """The first offset at or after the time, or the end offset when there is none."""
        when = timestamp_ms(value)
        found = _by_partition(self.consumer.offsets_for_times(dict.fromkeys(self._parts(partitions), when)))
        end = self.end(partitions)
        return {p: found[p].offset if found.get(p) is not None else end[p] for p in partitions}

    def starts(self, partitions: list[int]) -> dict[int, int]:
        start = self.options["start"]
        if start == "earliest":
            return self.beginning(partitions)
        if start == "latest":
            return self.end(partitions)
        if start == "timestamp":
            return self.at_time(partitions, self.options["start_timestamp"])
        beginning = self.beginning(partitions)
        offsets = {}
        for tp in self._parts(partitions):
            committed = self.consumer.committed(tp)
            offsets[tp.partition] = beginning[tp.partition] if committed is None else committed
        return offsets

    def stops(self, partitions: list[int]) -> dict[int, int]:
        if self.options["stop"] == "timestamp":
            return self.at_time(partitions, self.options["stop_timestamp"])
        return self.end(partitions)


class PartitionFetcher:
    """Messages of assigned partitions in offset order, each partition read up to its stop offset.

    ``take(p, n)`` returns the next ``n`` messages of partition ``p`` (fewer only when ``p`` reached
    its stop), whatever order the broker sends partitions in, so batches are a function of the
    position alone. Messages of other partitions fetched meanwhile wait in buffers; readers take
    from every partition in turn, so the buffers stay around one fetch per partition. Partitions
    are never paused: kafka-python 3.0.12 stops fetching a partition paused while part of a fetch
    response was still unread, and a resumed read then stalls (seen against noida-db).
    """

    def __init__(
        self,
        consumer: Any,
        topic: str,
        positions: dict[int, int],
        stops: dict[int, int],
        timeout: float,
        failure: Callable[[str, BaseException | str, int | None, int | None], str],
        max_records: int = 10000,
    ) -> None:
        from kafka import TopicPartition

        self.consumer = consumer
        self.positions = dict(positions)
        self.stops = dict(stops)
        self.timeout = timeout
        self.failure = failure
        self.max_records = max_records
        self.parts = {p: TopicPartition(topic, p) for p in positions}
        self.buffers: dict[int, deque[Any]] = {p: deque() for p in positions}
        self.complete: set[int] = set()  # partitions whose messages before the stop were all fetched
        consumer.assign(list(self.parts.values()))
        for p, tp in self.parts.items():
            consumer.seek(tp, positions[p])
            if positions[p] >= stops[p]:
                self.complete.add(p)

    def done(self, partition: int) -> bool:
        return self.positions[partition] >= self.stops[partition]

    def _fetched_all(self, partition: int) -> bool:
        """Every message before the stop offset was fetched (offsets may have gaps: compaction, transactions)."""
        if (
            partition not in self.complete
            and self.consumer.position(self.parts[partition]) >= self.stops[partition]
        ):
            self.complete.add(partition)
        return partition in self.complete

    def take(self, partition: int, count: int) -> list[Any]:
        """Up to ``count`` next messages of ``partition``; fewer only when it reached its stop.

        Positions change only as a function of the messages taken, never of fetch timing.
        """
        buffer = self.buffers[partition]
        waited_since = time.monotonic()
        while len(buffer) < count and not self._fetched_all(partition):
            if self._poll().get(partition):
                waited_since = time.monotonic()
            elif time.monotonic() - waited_since > self.timeout:
                raise ReaderError(self._stalled(partition))
        taken = [buffer.popleft() for _ in range(min(count, len(buffer)))]
        if taken:
            self.positions[partition] = taken[-1].offset + 1
        if len(taken) < count:  # everything up to the stop was fetched and is now taken
            self.positions[partition] = self.stops[partition]
        return taken

    def drain(self) -> Iterator[Any]:
        """Every message of every partition up to its stop, in arrival order (for order-free readers)."""
        waited_since = time.monotonic()
        while True:
            for partition, buffer in self.buffers.items():
                while buffer:
                    record = buffer.popleft()
                    self.positions[partition] = record.offset + 1
                    yield record
                if self._fetched_all(partition):
                    self.positions[partition] = self.stops[partition]
            waiting = [p for p in self.buffers if not self.done(p)]
            if not waiting:
                return
            if any(self._poll().values()):
                waited_since = time.monotonic()
            elif time.monotonic() - waited_since > self.timeout:
                raise ReaderError(self._stalled(waiting[0]))

    def _stalled(self, partition: int) -> str:
        return self.failure(
            "read",
            f"no message arrived within {self.timeout}s although offsets up to "
            f"{self.stops[partition] - 1} exist (broker down?)",
            partition,
            self.positions[partition] + len(self.buffers[partition]),
        )

    def _poll(self) -> dict[int, int]:
        """Fetch once into the buffers; how many messages arrived per partition."""
        from kafka.errors import KafkaError

        try:
            fetched = self.consumer.poll(timeout_ms=200, max_records=self.max_records)
        except KafkaError as error:
            raise ReaderError(self.failure("read", error, None, None)) from None
        arrived: dict[int, int] = {}
        for tp, records in fetched.items():
            p = tp.partition
            if p not in self.buffers:
                continue
            stop = self.stops[p]
            kept = [record for record in records if record.offset < stop]
            if len(kept) < len(records):
                self.complete.add(p)
            self.buffers[p].extend(kept)
            arrived[p] = len(kept)
        return arrived

    def progress(self, starts: dict[int, int]) -> float | None:
        total = sum(self.stops[p] - starts.get(p, self.stops[p]) for p in self.stops)
        if total <= 0:
            return 1.0
        done = sum(self.positions[p] - starts.get(p, self.stops[p]) for p in self.stops)
        return max(0.0, min(1.0, done / total))
