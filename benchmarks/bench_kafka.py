"""KafkaScannerReader -> FSWriter against plain kafka-python consumer loops on the same topic.

    .venv/bin/python benchmarks/bench_kafka.py [--messages 100000] [--partitions 4] [--repeat 3]

Starts the test broker (``tests/servers/kafka_server.py``: noida-db on 127.0.0.1), produces
``--messages`` JSON messages (about 120 bytes each) over ``--partitions`` partitions, then reads the
whole topic ``--repeat`` times with each of:

- ``plain consume``: ``KafkaConsumer`` with the partitions assigned, ``poll(max_records=10000)``
  until every message arrived; nothing else (the floor: broker + kafka-python);
- ``plain loop``: the same, plus what the export does per message: ``orjson.loads`` of the value,
  ``_key`` added, ``orjson.dumps`` + newline into a gzip file (zlib level 6);
- ``ozzy``: ``BasicExporter`` with KafkaScannerReader (batch_size 10000) -> FSWriter (gzip JSON
  lines, PicklePersistence committing after every batch).

All three run in this process, in turn (the broker is shared), so the ratios hold on a loaded
machine; the table shows the median wall time, messages/s and the CPU seconds of this process
(client side: kafka-python, decoding, writing; the broker is another process).
"""

from __future__ import annotations

import argparse
import gzip
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter  # noqa: E402
from tests.servers.kafka_server import KafkaBroker  # noqa: E402


def consume(
    bootstrap: str, topic: str, partitions: int, total: int, handle: Callable[[object], None]
) -> None:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    seen = 0
    while seen < total:
        for records in consumer.poll(timeout_ms=500, max_records=10000).values():
            for record in records:
                handle(record)
            seen += len(records)
    consumer.close()


def plain_consume(bootstrap: str, topic: str, partitions: int, total: int, work: Path) -> None:
    consume(bootstrap, topic, partitions, total, lambda record: None)


def plain_loop(bootstrap: str, topic: str, partitions: int, total: int, work: Path) -> None:
    with gzip.open(work / "plain.jl.gz", "wb", compresslevel=6) as out:

        def handle(record: object) -> None:
            item = orjson.loads(record.value)  # type: ignore[attr-defined]
            item["_key"] = record.key.decode()  # type: ignore[attr-defined]
            out.write(orjson.dumps(item) + b"\n")

        consume(bootstrap, topic, partitions, total, handle)


def ozzy(bootstrap: str, topic: str, partitions: int, total: int, work: Path) -> None:
    config = {
        "reader": {
            "name": "KafkaScannerReader",
            "options": {"brokers": [bootstrap], "topic": topic, "batch_size": 10000},
        },
        "writer": {"name": "FSWriter", "options": {"filebase": str(work / "out" / "part_")}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(work / "state")}},
        "exporter_options": {"formatter": {"name": "JsonExportFormatter"}, "log_level": "WARNING"},
    }
    stats = BasicExporter(config).export()
    assert stats["items_written"] == total, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = {"plain consume": plain_consume, "plain loop": plain_loop, "ozzy": ozzy}
    with tempfile.TemporaryDirectory(prefix="ozzy-bench-kafka-") as folder:
        broker = KafkaBroker(folder)
        broker.start()
        try:
            topic = broker.create_topic(args.partitions, prefix="bench")
            started = time.perf_counter()
            broker.produce_json(
                topic,
                (
                    (
                        n % args.partitions,
                        {"id": n, "name": f"message {n}", "value": n * 0.5, "tags": ["a", "b"]},
                    )
                    for n in range(args.messages)
                ),
            )
            produced = time.perf_counter() - started
            times: dict[str, list[float]] = {name: [] for name in cases}
            cpu: dict[str, list[float]] = {name: [] for name in cases}
            for run in range(args.repeat):
                for name, case in cases.items():
                    work = Path(folder) / f"{name.replace(' ', '_')}-{run}"
                    work.mkdir()
                    started, cpu_started = time.perf_counter(), time.process_time()
                    case(broker.bootstrap, topic, args.partitions, args.messages, work)
                    times[name].append(time.perf_counter() - started)
                    cpu[name].append(time.process_time() - cpu_started)
        finally:
            broker.stop()
    print(
        f"# Kafka read: {args.messages:,} messages, {args.partitions} partitions, median of {args.repeat}; "
        f"Python {platform.python_version()}; produced in {produced:.1f} s\n"
    )
    print("| case | median s | messages/s | vs plain loop | client CPU s | vs plain loop (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    loop = statistics.median(times["plain loop"])
    loop_cpu = statistics.median(cpu["plain loop"])
    for name in cases:
        median, median_cpu = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"| {name} | {median:.2f} | {args.messages / median:,.0f} | {loop / median:.2f}x "
            f"| {median_cpu:.2f} | {loop_cpu / median_cpu:.2f}x |"
        )


if __name__ == "__main__":
    main()
