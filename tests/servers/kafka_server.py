"""A Kafka-protocol broker on a free 127.0.0.1 port: fixture ``kafka_broker``.

No Apache Kafka can be installed on this machine, so the broker is noida-db (a static binary inside
its PyPI wheel, data in a temporary folder). It is the only place that knows this: tests see
``bootstrap`` (``"127.0.0.1:PORT"``) and the helpers below, which use kafka-python only, so another
broker (Apache Kafka in KRaft mode, Redpanda, Tansu) can replace it by changing ``start()``.

noida-db prints a harmless loader line at start (``weak version GLIBC_2.39 not found``) and accepts
any SASL PLAIN credentials (it does not authenticate).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.process_server import ServerProcess
from tests.servers.process_server import free_port as _free_port  # noqa: F401 (test_kafka imports it)

HOST = "127.0.0.1"


def _noida_binary() -> Path:
    binary = Path(sysconfig.get_paths()["purelib"]) / "noida_db" / "noida-db"
    if not binary.exists():  # a venv whose purelib differs from the running interpreter's
        binary = (
            Path(sys.executable).parents[1] / "lib" / "python3.11" / "site-packages" / "noida_db" / "noida-db"
        )
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | 0o111)
    return binary


class KafkaBroker:
    """A running broker plus helpers to make topics and produce messages with kafka-python."""

    def __init__(self, workdir: str) -> None:
        self.workdir = Path(workdir)
        self._server = ServerProcess("noida", workdir)
        self._topics = itertools.count()
        self._producer: Any = None

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self, attempts: int = 3) -> None:
        self._server.start(
            lambda port, attempt: [
                _noida_binary(),
                *("start", "--data-dir", self.workdir / f"data-{attempt}", "--host", HOST),
                *("--only", "kafka", "--kafka-port", str(port)),
            ],
            ready=self._ready,
            timeout=60,
            attempts=attempts,
            poll=0.2,
        )

    def _ready(self, port: int) -> bool:
        """Ready means kafka-python can fetch metadata, not merely that the port accepts."""
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(bootstrap_servers=f"{HOST}:{port}", bootstrap_timeout_ms=2000)
        try:
            consumer.topics()
            return True
        finally:
            consumer.close()

    def stop(self) -> None:
        if self._producer is not None:
            self._producer.close()
            self._producer = None
        self._server.stop()

    # -- helpers ---------------------------------------------------------------------------------------
    def create_topic(self, partitions: int = 1, prefix: str = "ozzy") -> str:
        """A new empty topic with a unique name and ``partitions`` partitions."""
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        name = f"{prefix}-{next(self._topics)}-{os.getpid()}"
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics([NewTopic(name, partitions, 1)])
        finally:
            admin.close()
        self._wait_for_partitions(name, partitions)
        return name

    def _wait_for_partitions(self, topic: str, partitions: int, timeout: float = 30) -> None:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            deadline = time.monotonic() + timeout
            while len(consumer.partitions_for_topic(topic) or ()) < partitions:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"topic {topic} did not get {partitions} partitions")
                time.sleep(0.1)
                consumer._client.cluster.request_update()  # noqa: SLF001 (refresh metadata)
                consumer._client.poll(timeout_ms=100)  # noqa: SLF001
        finally:
            consumer.close()

    def producer(self) -> Any:
        if self._producer is None:
            from kafka import KafkaProducer

            self._producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5, acks=1)
        return self._producer

    def produce(
        self,
        topic: str,
        messages: Iterable[tuple[int | None, bytes | None, bytes | None]],
        timestamp_ms: int | None = None,
    ) -> int:
        """Send ``(partition, key, value)`` messages, in order per partition; returns how many."""
        producer = self.producer()
        count = 0
        for partition, key, value in messages:
            producer.send(topic, key=key, value=value, partition=partition, timestamp_ms=timestamp_ms)
            count += 1
        producer.flush(timeout=120)
        return count

    def produce_json(
        self, topic: str, items: Iterable[tuple[int, dict[str, Any]]], key_field: str | None = "id"
    ) -> int:
        """Send ``(partition, item)`` pairs as JSON values, keyed by ``item[key_field]``."""
        return self.produce(
            topic,
            (
                (
                    partition,
                    None if key_field is None else str(item[key_field]).encode(),
                    json.dumps(item).encode(),
                )
                for partition, item in items
            ),
        )

    def end_offsets(self, topic: str) -> dict[int, int]:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            return {tp.partition: offset for tp, offset in consumer.end_offsets(parts).items()}
        finally:
            consumer.close()

    def committed(self, topic: str, group: str) -> dict[int, int | None]:
        """A consumer group's committed offsets per partition (``None``: nothing committed)."""
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False)
        try:
            parts = sorted(consumer.partitions_for_topic(topic) or ())
            return {p: consumer.committed(TopicPartition(topic, p)) for p in parts}
        finally:
            consumer.close()

    def connection(self, **extra: Any) -> dict[str, Any]:
        """An Airflow ``ozzy_kafka`` connection to this broker, for ``AIRFLOW_CONN_<ID>``."""
        return {"conn_type": "ozzy_kafka", "host": self.bootstrap, "extra": extra}

    def connection_json(self, **extra: Any) -> str:
        return json.dumps(self.connection(**extra))


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    with tempfile.TemporaryDirectory(prefix="ozzy-kafka-") as workdir:
        broker = KafkaBroker(workdir)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()
