"""Kafka exports across DAG runs with XComPersistence: each run exports exactly the new messages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import load_dag
from tests.helpers import output_files, read_json_lines
from tests.servers.kafka_server import KafkaBroker


def ids_in(folder: Path) -> list[int]:
    found = []
    for name in output_files(folder):
        found.extend(item["id"] for item in read_json_lines(folder / name))
    return found


def produce(broker: KafkaBroker, topic: str, numbers: range) -> None:
    broker.produce_json(topic, ((n % 3, {"id": n}) for n in numbers))


def run_on(file_name: str, dag_id: str, day: datetime) -> None:
    """One run of a DAG of ``tests/e2e/dags`` (loaded afresh, as the scheduler would) that must succeed."""
    assert load_dag(file_name, dag_id).test(logical_date=day).state == "success"


@pytest.fixture
def kafka_env(kafka_broker: KafkaBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    topic = kafka_broker.create_topic(3, prefix="e2e")
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_E2E", kafka_broker.connection_json())
    monkeypatch.setenv("OZZY_E2E_KAFKA_TOPIC", topic)
    monkeypatch.setenv("OZZY_E2E_OUTPUT", str(tmp_path / "out"))
    return {"topic": topic, "out": tmp_path / "out"}


def test_the_second_run_exports_exactly_the_messages_produced_since_the_first(
    airflow_db: str, kafka_broker: KafkaBroker, kafka_env: dict[str, Any]
) -> None:
    topic, out = kafka_env["topic"], kafka_env["out"]
    produce(kafka_broker, topic, range(400))
    run_on("ozzy_kafka_incremental.py", "ozzy_e2e_kafka_incremental", datetime(2026, 4, 1, tzinfo=UTC))
    first = output_files(out)
    assert sorted(ids_in(out)) == list(range(400))
    assert kafka_broker.committed(topic, "ozzy-e2e") == {0: 134, 1: 133, 2: 133}

    produce(kafka_broker, topic, range(400, 520))
    run_on("ozzy_kafka_incremental.py", "ozzy_e2e_kafka_incremental", datetime(2026, 4, 2, tzinfo=UTC))
    new_files = [name for name in output_files(out) if name not in first]
    assert new_files and sorted(ids_in(out)) == list(range(520))  # every message once, none repeated
    assert sorted(
        i for name in new_files for i in (item["id"] for item in read_json_lines(out / name))
    ) == list(range(400, 520))
    assert kafka_broker.committed(topic, "ozzy-e2e") == {0: 174, 1: 173, 2: 173}

    run_on("ozzy_kafka_incremental.py", "ozzy_e2e_kafka_incremental", datetime(2026, 4, 3, tzinfo=UTC))
    assert sorted(ids_in(out)) == list(range(520))  # nothing new: nothing written


def test_sharded_mapped_tasks_each_continue_their_own_partitions(
    airflow_db: str, kafka_broker: KafkaBroker, kafka_env: dict[str, Any]
) -> None:
    topic, out = kafka_env["topic"], kafka_env["out"]
    produce(kafka_broker, topic, range(300))
    run_on("ozzy_kafka_shards.py", "ozzy_e2e_kafka_shards", datetime(2026, 5, 1, tzinfo=UTC))
    # partitions [0, 2] and [1]: message n is in partition n % 3
    assert sorted(ids_in(out / "shard0")) == [n for n in range(300) if n % 3 != 1]
    assert sorted(ids_in(out / "shard1")) == [n for n in range(300) if n % 3 == 1]

    produce(kafka_broker, topic, range(300, 360))
    run_on("ozzy_kafka_shards.py", "ozzy_e2e_kafka_shards", datetime(2026, 5, 2, tzinfo=UTC))
    assert sorted(ids_in(out / "shard0")) == [n for n in range(360) if n % 3 != 1]
    assert sorted(ids_in(out / "shard1")) == [n for n in range(360) if n % 3 == 1]
