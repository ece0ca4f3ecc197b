"""Split a topic's partitions into shards, one mapped task instance each (``.expand()``).

Each shard is a reader-options override ``{"partitions": [...]}``; shards are disjoint and
together hold every partition (of the ``partitions`` option when one is given). The split is
deterministic: partitions sorted, dealt round-robin. Each mapped task keeps its own position
(offsets of its partitions only), so shards resume and continue independently.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.errors import ConfigurationError, ReaderError


def split_partitions(partitions: list[int], shard_count: int) -> list[list[int]]:
    """Partitions dealt round-robin over ``shard_count`` shards; shards left empty are dropped.

    ``split_partitions([0, 1, 2, 3, 4], 2)`` is ``[[0, 2, 4], [1, 3]]``: with partitions of similar
    traffic the shards get similar work, and the same input always gives the same shards.
    """
    if shard_count < 1:
        raise ConfigurationError(f"kafka shards: the number of shards must be at least 1, got {shard_count}")
    ordered = sorted(set(partitions))
    shards = [ordered[index::shard_count] for index in range(shard_count)]
    return [shard for shard in shards if shard]


def kafka_partition_shards(source: Any, shard_count: int, topic: str | None = None) -> list[dict[str, Any]]:
    """One ``{"partitions": [...]}`` override of the reader options per shard, asking the broker.

    :param source: a KafkaScannerReader / KafkaRandomReader, a dict of KafkaScannerReader options
        (``topic`` plus ``kafka_conn_id`` or ``brokers``), or bootstrap servers (``"host:port,..."``,
        with ``topic``).
    :param shard_count: how many shards at most (fewer when the topic has fewer partitions).
    :param topic: the topic, when ``source`` does not name it.

    Call it at run time (a planner task), not at DAG parse time: it lists the topic's partitions.
    In a DAG::

        @task
        def plan() -> list[dict]:
            base = {"kafka_conn_id": "kafka", "topic": "orders"}
            return [{"name": "KafkaScannerReader", "options": {**base, **shard}}
                    for shard in kafka_partition_shards(base, 4)]

        OzzyExportOperator.partial(task_id="export", writer=...).expand(reader=plan())
    """
    from airflow_provider_ozzy.readers.kafka_scanner_reader import KafkaScannerReader
    from airflow_provider_ozzy.services.kafka_partitions import TopicRange

    if isinstance(source, str):
        source = {"brokers": [part.strip() for part in source.split(",") if part.strip()]}
    if isinstance(source, dict):
        options = dict(source)
        if topic is not None:
            options["topic"] = topic
        reader = KafkaScannerReader(options)
    else:
        reader = source
    kafka = reader.kafka
    try:
        consumer = kafka.consumer()
    except Exception as error:
        raise ReaderError(kafka.failure("connect to list the partitions of", reader.topic, error)) from None
    try:
        partitions = TopicRange(kafka, consumer, reader.options).partitions()
    finally:
        consumer.close(autocommit=False)
    return [{"partitions": shard} for shard in split_partitions(partitions, shard_count)]
