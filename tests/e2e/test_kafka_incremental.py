"""Kafka exports across DAG runs with XComPersistence: each run exports exactly the new messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import load_dag
from tests.helpers import output_files, read_json_lines
from tests.servers.kafka_server import KafkaBroker

INCREMENTAL = ("ozzy_kafka_incremental.py", "ozzy_e2e_kafka_incremental")
SHARDS = ("ozzy_kafka_shards.py", "ozzy_e2e_kafka_shards")


def ids_in(folder: Path) -> list[int]:
    found = []
    for name in output_files(folder):
        found.extend(item["id"] for item in read_json_lines(folder / name))
    return found


@dataclass
class KafkaRuns:
    """A fresh topic of 3 partitions that the DAGs of ``tests/e2e/dags`` read, writing under ``out``."""

    broker: KafkaBroker
    topic: str
    out: Path

    def run(self, dag: tuple[str, str], day: datetime, new: range = range(0)) -> None:
        """Produces the messages ``new`` (message n in partition n % 3), then one run of ``dag``
        (file, id; loaded afresh, as the scheduler would) on ``day``, which must succeed."""
        self.broker.produce_json(self.topic, ((n % 3, {"id": n}) for n in new))
        assert load_dag(*dag).test(logical_date=day).state == "success"


@pytest.fixture
def kafka(kafka_broker: KafkaBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KafkaRuns:
    topic = kafka_broker.create_topic(3, prefix="e2e")
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_E2E", kafka_broker.connection_json())
    monkeypatch.setenv("OZZY_E2E_KAFKA_TOPIC", topic)
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out"))
    return KafkaRuns(kafka_broker, topic, tmp_path / "out")


def test_the_second_run_exports_exactly_the_messages_produced_since_the_first(
    airflow_db: str, kafka: KafkaRuns
) -> None:
    out = kafka.out
    kafka.run(INCREMENTAL, datetime(2026, 4, 1, tzinfo=UTC), new=range(400))
    first = output_files(out)
    assert sorted(ids_in(out)) == list(range(400))
    assert kafka.broker.committed(kafka.topic, "ozzy-e2e") == {0: 134, 1: 133, 2: 133}

    kafka.run(INCREMENTAL, datetime(2026, 4, 2, tzinfo=UTC), new=range(400, 520))
    new_files = [name for name in output_files(out) if name not in first]
    assert new_files and sorted(ids_in(out)) == list(range(520))  # every message once, none repeated
    assert sorted(
        i for name in new_files for i in (item["id"] for item in read_json_lines(out / name))
    ) == list(range(400, 520))
    assert kafka.broker.committed(kafka.topic, "ozzy-e2e") == {0: 174, 1: 173, 2: 173}

    kafka.run(INCREMENTAL, datetime(2026, 4, 3, tzinfo=UTC))
    kafka.run(INCREMENTAL, datetime(2026, 4, 3, tzinfo=UTC))
    assert sorted(ids_in(out)) == list(range(520))  # nothing new: nothing written


def test_sharded_mapped_tasks_each_continue_their_own_partitions(airflow_db: str, kafka: KafkaRuns) -> None:
    out = kafka.out
    kafka.run(SHARDS, datetime(2026, 5, 1, tzinfo=UTC), new=range(300))
    # partitions [0, 2] and [1]: message n is in partition n % 3
    assert sorted(ids_in(out / "shard0")) == [n for n in range(300) if n % 3 != 1]
    assert sorted(ids_in(out / "shard1")) == [n for n in range(300) if n % 3 == 1]

    kafka.run(SHARDS, datetime(2026, 5, 2, tzinfo=UTC), new=range(300, 360))
    assert sorted(ids_in(out / "shard0")) == [n for n in range(360) if n % 3 != 1]
    assert sorted(ids_in(out / "shard1")) == [n for n in range(360) if n % 3 == 1]
