"""Sharded incremental Kafka export: a planner task splits the topic's partitions
(``kafka_partition_shards``); mapped export tasks each read theirs with their own position (XCom
per map index) and file names, so every run exports each shard's new messages.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

TOPIC = os.environ.get("OZZY_E2E_KAFKA_TOPIC", "ozzy-e2e")
OUTPUT = os.environ.get("OZZY_E2E_OUTPUT", "/nonexistent/output")

with DAG("ozzy_e2e_kafka_shards", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False) as dag:

    @task
    def plan() -> list[dict[str, Any]]:
        from airflow_provider_ozzy.sharding.kafka_shards import kafka_partition_shards

        base = {"kafka_conn_id": "kafka_e2e", "topic": TOPIC, "batch_size": 100}
        return [
            {"name": "KafkaScannerReader", "options": {**base, **shard}}
            for shard in kafka_partition_shards(base, 2)
        ]

    OzzyExportOperator.partial(
        task_id="export",
        writer={"name": "FSWriter", "options": {"filebase": OUTPUT + "/shard{{ ti.map_index }}/items_"}},
        persistence={"name": "XComPersistence"},
    ).expand(reader=plan())
