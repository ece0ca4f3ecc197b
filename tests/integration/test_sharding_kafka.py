"""The shard planner hands Kafka readers to ``sharding/kafka_shards.py``: one shard per partition group."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_ozzy.sharding.planning import apply_shard, plan_shards
from tests.servers.kafka_server import KafkaBroker


def test_a_kafka_topic_is_planned_by_partitions(tmp_path: Path, kafka_broker: KafkaBroker) -> None:
    topic = kafka_broker.create_topic(5)
    config = {
        "reader": {
            "name": "KafkaScannerReader",
            "options": {"brokers": [kafka_broker.bootstrap], "topic": topic},
        },
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "items_")}},
    }
    plan = plan_shards(config, 2)
    assert [shard["units"] for shard in plan] == [["0", "2", "4"], ["1", "3"]]
    assert [shard["count"] for shard in plan] == [2, 2]
    sharded = apply_shard(config, plan[1])
    assert sharded["reader"]["options"]["partitions"] == [1, 3]
    assert sharded["writer"]["options"]["filebase"].endswith("items_shard001_")
    # more shards than partitions: one per partition
    assert len(plan_shards(config, 8)) == 5
