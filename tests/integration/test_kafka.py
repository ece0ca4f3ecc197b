"""Kafka readers against a real Kafka-protocol broker (``kafka_broker``, see tests/servers/kafka_server.py).

Exports run in process through ``BasicExporter`` (the crash tests run the real ``ozzy`` command in
``test_kafka_crash.py``) and check every message arrives once, bounds, decoding, group commits
after Ozzy's commit, random samples, and that failures are errors naming broker and topic.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgpack
import pytest

from airflow_provider_ozzy.engine.config import validate
from airflow_provider_ozzy.errors import ConfigurationError, ReaderError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import (
    output_files,
    read_json_lines,
    resumable_job,
    run_ozzy,
    skip_unless_slow_requested,
    write_config,
)
from tests.servers.kafka_server import KafkaBroker, _free_port

BIG_PARTITIONS = 4
# message times must be recent: the broker deletes messages older than its retention time
HOUR_AGO = int(time.time() * 1000) - 3_600_000
BIG_COUNT = 100_000


def item(number: int) -> dict[str, Any]:
    return {"id": number, "name": f"message {number}", "even": number % 2 == 0}


# the tests reading the big topic run on one worker, which fills it once (a module fixture is
# built again on every pytest-xdist worker that gets one of its tests)
BIG_TOPIC_GROUP = pytest.mark.xdist_group("kafka-big-topic")


@pytest.fixture(scope="module")
def big_topic(kafka_broker: KafkaBroker) -> str:
    """100,000 JSON messages over 4 partitions (message n in partition n % 4)."""
    topic = kafka_broker.create_topic(BIG_PARTITIONS, prefix="big")
    kafka_broker.produce_json(topic, ((n % BIG_PARTITIONS, item(n)) for n in range(BIG_COUNT)))
    assert sum(kafka_broker.end_offsets(topic).values()) == BIG_COUNT
    return topic


def reader_options(broker: KafkaBroker, topic: str, **options: Any) -> dict[str, Any]:
    """Kafka reader options for ``topic`` on the test broker, plus the test's own ``options``."""
    return {"brokers": [broker.bootstrap], "topic": topic, **options}


def export(
    tmp_path: Path,
    reader: dict[str, Any],
    *,
    name: str = "KafkaScannerReader",
    state_id: str = "job",
    **writer: Any,
) -> dict[str, Any]:
    job = {"name": name, "options": reader}
    config = resumable_job(
        tmp_path, job, file_name="part_", state_id=state_id, items_per_buffer_write=30000, **writer
    )
    config["exporter_options"]["formatter"] = {"name": "JsonExportFormatter"}
    return BasicExporter(config).export()


def exported(tmp_path: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for name in output_files(tmp_path / "out"):
        items.extend(read_json_lines(tmp_path / "out" / name))
    return items


@BIG_TOPIC_GROUP
def test_a_4_partition_topic_of_100000_messages_arrives_once(
    tmp_path: Path, kafka_broker: KafkaBroker, big_topic: str
) -> None:
    stats = export(tmp_path, reader_options(kafka_broker, big_topic, batch_size=5000))
    assert stats["finished"] and stats["items_written"] == BIG_COUNT
    items = exported(tmp_path)
    assert len(items) == BIG_COUNT
    assert sorted(each["id"] for each in items) == list(range(BIG_COUNT))
    assert all(each["_key"] == str(each["id"]) and each["name"] == f"message {each['id']}" for each in items)
    assert output_files(tmp_path / "out") == [f"part_{n:04d}.jl.gz" for n in range(4)]
    # within a partition, offset order is kept
    per_partition: dict[int, list[int]] = {}
    for each in items:
        per_partition.setdefault(each["id"] % 4, []).append(each["id"])
    assert all(ids == sorted(ids) for ids in per_partition.values())


@BIG_TOPIC_GROUP
def test_partitions_option_reads_only_those(
    tmp_path: Path, kafka_broker: KafkaBroker, big_topic: str
) -> None:
    export(
        tmp_path,
        reader_options(kafka_broker, big_topic, partitions=[1, 3], add_metadata=True),
    )
    items = exported(tmp_path)
    assert len(items) == BIG_COUNT // 2
    assert {each["_partition"] for each in items} == {1, 3}
    assert all(each["id"] % 4 == each["_partition"] for each in items)
    assert sorted(each["_offset"] for each in items if each["_partition"] == 3) == list(range(BIG_COUNT // 4))


def test_a_resumed_job_keeps_its_stop_offsets_and_group_offsets_follow_ozzys_commit(
    tmp_path: Path, kafka_broker: KafkaBroker
) -> None:
    topic = kafka_broker.create_topic(3)
    kafka_broker.produce_json(topic, ((n % 3, item(n)) for n in range(3000)))
    reader = reader_options(kafka_broker, topic, batch_size=300, group_id="ozzy-g1", commit_group=True)
    config = {
        "reader": {"name": "KafkaScannerReader", "options": reader},
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": str(tmp_path / "out" / "part_"), "items_per_buffer_write": 1000},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
        "exporter_options": {"persistence_state_id": "resume", "formatter": {"name": "JsonExportFormatter"}},
    }
    exporter = BasicExporter(config)
    checked: list[dict[int, int | None]] = []

    def progress(counters: dict[str, Any]) -> None:
        # called after each batch's commit: the group says exactly what Ozzy committed, never more
        with open(tmp_path / "state" / "resume", "rb") as handle:
            ozzy = {int(p): o for p, o in json.load(handle)["state"]["reader"]["offsets"].items()}
        group = kafka_broker.committed(topic, "ozzy-g1")
        assert group == ozzy
        checked.append(group)
        if counters["items_read"] >= 1500:
            exporter.request_stop()

    exporter.progress = progress
    stats = exporter.export()
    assert not stats["finished"] and len(checked) == 5
    # 1500 read, one file of 1000 written: the watermark is batch 3 (items 900..1199), 300 per partition
    assert len(exported(tmp_path)) == 1000
    assert kafka_broker.committed(topic, "ozzy-g1") == {0: 300, 1: 300, 2: 300}

    kafka_broker.produce_json(topic, ((n % 3, item(n)) for n in range(3000, 3600)))  # after the job started
    resumed = BasicExporter.from_persistence_uri(exporter.persistence.uri)
    assert resumed.export()["finished"]
    assert sorted(each["id"] for each in exported(tmp_path)) == list(range(3000))
    assert kafka_broker.committed(topic, "ozzy-g1") == {0: 1000, 1: 1000, 2: 1000}


def test_start_and_stop_bounds(tmp_path: Path, kafka_broker: KafkaBroker) -> None:
    topic = kafka_broker.create_topic(2)
    base = reader_options(kafka_broker, topic)
    kafka_broker.produce(
        topic, ((n % 2, None, json.dumps(item(n)).encode()) for n in range(100)), timestamp_ms=HOUR_AGO
    )
    kafka_broker.produce(
        topic,
        ((n % 2, None, json.dumps(item(n)).encode()) for n in range(100, 200)),
        timestamp_ms=HOUR_AGO + 2_000_000,
    )

    def ids(folder: str, **options: Any) -> list[int]:
        export(tmp_path / folder, {**base, **options}, state_id=folder)
        return sorted(each["id"] for each in exported(tmp_path / folder))

    assert ids("latest", start="latest") == []
    assert ids("from-time", start="timestamp", start_timestamp=HOUR_AGO + 1_000_000) == list(range(100, 200))
    assert ids(
        "iso",
        start="timestamp",
        start_timestamp=datetime.fromtimestamp((HOUR_AGO + 1_000_000) / 1000, UTC).isoformat(),
    ) == list(range(100, 200))
    assert ids("until-time", stop="timestamp", stop_timestamp=HOUR_AGO + 1_000_000) == list(range(100))
    counted = ids("count", stop="count", stop_count=51, batch_size=10)
    assert len(counted) == 51 and len(set(counted)) == 51
    assert ids("count-beyond-end", stop="count", stop_count=10_000) == list(range(200))
    # committed: the group's offsets, earliest where the group has none
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(
        bootstrap_servers=kafka_broker.bootstrap, group_id="g-start", enable_auto_commit=False
    )
    consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(90, "", -1)})
    consumer.close()
    got = ids("committed", start="committed", group_id="g-start")
    assert got == sorted([n for n in range(200) if n % 2 == 1] + list(range(180, 200, 2)))


def test_decoding_msgpack_zlib_gzip_raw_and_keys(tmp_path: Path, kafka_broker: KafkaBroker) -> None:
    topic = kafka_broker.create_topic(1)
    values = [{"id": n, "text": "é" * n} for n in range(5)]
    kafka_broker.produce(topic, [(0, str(v["id"]).encode(), zlib.compress(msgpack.packb(v))) for v in values])
    export(
        tmp_path / "mp",
        reader_options(kafka_broker, topic, deserializer="msgpack", decompress="zlib"),
    )
    assert exported(tmp_path / "mp") == [dict(v, _key=str(v["id"])) for v in values]

    topic = kafka_broker.create_topic(1)
    kafka_broker.produce(
        topic,
        [
            (0, b"\xff\xfe", gzip.compress(b'{"a": 1}')),
            (0, None, zlib.compress(b"[1, 2]")),
            (0, b"k", b"7"),
            (0, b"t", None),
        ],
    )
    export(tmp_path / "auto", reader_options(kafka_broker, topic, decompress="auto"))
    assert exported(tmp_path / "auto") == [
        {"a": 1, "_key": "//4="},
        {"value": [1, 2], "_key": None},
        {"value": 7, "_key": "k"},
        {"value": None, "_key": "t"},
    ]
    topic = kafka_broker.create_topic(1)
    kafka_broker.produce(topic, [(0, None, "ü".encode()), (0, None, b"\xff")])
    export(tmp_path / "raw", reader_options(kafka_broker, topic, deserializer="raw"))
    assert exported(tmp_path / "raw") == [
        {"value": "ü", "_key": None},
        {"value_base64": "/w==", "_key": None},
    ]


def test_an_undecodable_message_is_an_error_naming_partition_and_offset(
    tmp_path: Path, kafka_broker: KafkaBroker
) -> None:
    topic = kafka_broker.create_topic(2)
    kafka_broker.produce(
        topic, [(1, None, b'{"ok": 1}'), (1, None, b'{"ok": 2}'), (1, None, b"not json"), (0, None, b"{}")]
    )
    with pytest.raises(ReaderError) as caught:
        export(tmp_path, reader_options(kafka_broker, topic))
    message = str(caught.value)
    assert f"topic '{topic}' partition 1 offset 2" in message
    assert (
        kafka_broker.bootstrap in message and "KafkaScannerReader" in message and "decode (json)" in message
    )


@BIG_TOPIC_GROUP
def test_unknown_topic_and_partition_are_errors(
    tmp_path: Path, kafka_broker: KafkaBroker, big_topic: str
) -> None:
    with pytest.raises(
        ReaderError, match=r"topic 'no-such-topic' on broker\(s\) 127\.0\.0\.1:\d+: the topic does not exist"
    ):
        export(tmp_path / "a", reader_options(kafka_broker, "no-such-topic"))
    with pytest.raises(ReaderError, match=r"partition\(s\) \[7\] do not exist"):
        export(tmp_path / "b", reader_options(kafka_broker, big_topic, partitions=[1, 7]))
    assert not (tmp_path / "a" / "out").exists()


def test_broker_down_is_an_error_naming_broker_and_topic(tmp_path: Path) -> None:
    down = f"127.0.0.1:{_free_port()}"
    with pytest.raises(ReaderError) as caught:
        export(tmp_path, {"brokers": [down], "topic": "orders", "timeout": 2})
    assert f"topic 'orders' on broker(s) {down}" in str(caught.value)
    assert "cannot connect to read" in str(caught.value)


def test_tls_against_a_plaintext_broker_fails_clearly_without_secrets(
    tmp_path: Path, kafka_broker: KafkaBroker
) -> None:
    # noida-db accepts any SASL credentials, so refused credentials cannot be shown on it; a
    # security protocol the broker does not speak is the authentication failure that exists here.
    secret = "Sasl-Secret-9931"
    reader = reader_options(
        kafka_broker,
        "orders",
        timeout=3,
        ssl_configs={
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "PLAIN",
            "sasl_plain_username": "ozzy",
            "sasl_plain_password": secret,
        },
    )
    with pytest.raises(ReaderError) as caught:
        export(tmp_path, reader)
    assert f"topic 'orders' on broker(s) {kafka_broker.bootstrap}" in str(caught.value)
    assert secret not in str(caught.value)


@BIG_TOPIC_GROUP
def test_bad_options_fail_before_any_data_moves(
    tmp_path: Path, kafka_broker: KafkaBroker, big_topic: str
) -> None:
    config = {
        "reader": {
            "name": "exporters.readers.kafka_scanner_reader.KafkaScannerReader",
            "options": reader_options(
                kafka_broker,
                big_topic,
                start="beginning",
                stop="count",
                deserializer="avro",
                batch_sise=10,
                ssl_configs={"sasl_plain_password": "Hidden-1", "colour": "red"},
            ),
        },
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "part_")}},
    }
    with pytest.raises(ConfigurationError) as caught:
        validate(config)
    text = str(caught.value)
    for expected in (
        "unknown option 'batch_sise'",
        "option 'start' must be one of",
        "stop: count needs",
        "option 'deserializer'",
        "['colour']",
    ):
        assert expected in text, text
    assert "KafkaScannerReader" in text and "Hidden-1" not in text
    path = write_config(tmp_path / "config.json", config)
    result = run_ozzy("validate", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "batch_sise" in result.stdout + result.stderr
    result = run_ozzy("run", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert not (tmp_path / "out").exists()
    assert kafka_broker.committed(big_topic, "never") == dict.fromkeys(range(4))


def test_missing_broker_choice_and_both_are_config_errors() -> None:
    from airflow_provider_ozzy.readers.kafka_random_reader import KafkaRandomReader
    from airflow_provider_ozzy.readers.kafka_scanner_reader import KafkaScannerReader

    with pytest.raises(ConfigurationError, match="give 'kafka_conn_id'"):
        KafkaScannerReader({"topic": "t"})
    with pytest.raises(ConfigurationError, match="not both"):
        KafkaScannerReader({"topic": "t", "brokers": ["h:1"], "kafka_conn_id": "k"})
    with pytest.raises(ConfigurationError, match="host:port"):
        KafkaScannerReader({"topic": "t", "brokers": ["nohost"]})
    with pytest.raises(ConfigurationError, match="start: committed needs 'group_id'"):
        KafkaScannerReader({"topic": "t", "brokers": ["h:1"], "start": "committed"})
    with pytest.raises(ConfigurationError, match="record_count"):
        KafkaRandomReader({"topic": "t", "brokers": ["h:1"]})
    with pytest.raises(ConfigurationError, match="stop"):
        KafkaRandomReader({"topic": "t", "brokers": ["h:1"], "record_count": 3, "stop": "count"})


# -- KafkaRandomReader ------------------------------------------------------------------------------------
SAMPLE_SIZES = {0: 4000, 1: 2000, 2: 1000, 3: 500}  # unequal partitions


@pytest.fixture(scope="module")
def unequal_topic(kafka_broker: KafkaBroker) -> str:
    topic = kafka_broker.create_topic(4, prefix="unequal")
    messages = []
    number = 0
    for partition, size in SAMPLE_SIZES.items():
        for _ in range(size):
            messages.append((partition, {"id": number, "p": partition}))
            number += 1
    kafka_broker.produce_json(topic, messages)
    return topic


def sample(
    tmp_path: Path, broker: KafkaBroker, topic: str, count: int, seed: int, folder: str
) -> list[dict[str, Any]]:
    reader = reader_options(broker, topic, record_count=count, seed=seed, batch_size=700)
    stats = export(tmp_path / folder, reader, name="KafkaRandomReader", state_id=folder)
    assert stats["items_written"] == count
    return exported(tmp_path / folder)


def test_random_sample_is_exact_in_size_distinct_and_proportional(
    tmp_path: Path, kafka_broker: KafkaBroker, unequal_topic: str
) -> None:
    count = 1500
    items = sample(tmp_path, kafka_broker, unequal_topic, count, seed=7, folder="a")
    assert len(items) == count and len({each["id"] for each in items}) == count
    total = sum(SAMPLE_SIZES.values())
    observed = Counter(each["p"] for each in items)
    # chi-square against partition sizes; 3 degrees of freedom, 0.1% critical value 16.27 (fixed seed: no flake)
    chi_square = sum(
        (observed[p] - count * size / total) ** 2 / (count * size / total) for p, size in SAMPLE_SIZES.items()
    )
    assert chi_square < 16.27, (observed, chi_square)
    # and the ids inside a partition are spread, not the first ones
    firsts = sorted(each["id"] for each in items if each["p"] == 0)
    assert firsts[-1] > 3000 and firsts[0] < 1000

    again = sample(tmp_path, kafka_broker, unequal_topic, count, seed=7, folder="b")
    assert again == items
    other = sample(tmp_path, kafka_broker, unequal_topic, count, seed=8, folder="c")
    assert {each["id"] for each in other} != {each["id"] for each in items}


def test_random_sample_larger_than_the_topic_is_the_whole_topic(
    tmp_path: Path, kafka_broker: KafkaBroker
) -> None:
    topic = kafka_broker.create_topic(2)
    kafka_broker.produce_json(topic, ((n % 2, item(n)) for n in range(50)))
    reader = reader_options(kafka_broker, topic, record_count=80, group="legacy")
    stats = export(tmp_path, reader, name="KafkaRandomReader")
    assert stats["items_written"] == 50
    assert sorted(each["id"] for each in exported(tmp_path)) == list(range(50))


def test_random_sample_resumes_with_the_same_sample(
    tmp_path: Path, kafka_broker: KafkaBroker, unequal_topic: str
) -> None:
    expected = sample(tmp_path, kafka_broker, unequal_topic, 1000, seed=3, folder="whole")
    config = {
        "reader": {
            "name": "KafkaRandomReader",
            "options": reader_options(kafka_broker, unequal_topic, record_count=1000, seed=3, batch_size=100),
        },
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": str(tmp_path / "cut" / "out" / "part_"), "items_per_buffer_write": 500},
        },
        "persistence": {
            "name": "PicklePersistence",
            "options": {"file_path": str(tmp_path / "cut" / "state")},
        },
        "exporter_options": {"persistence_state_id": "cut", "formatter": {"name": "JsonExportFormatter"}},
    }
    exporter = BasicExporter(config)
    exporter.progress = lambda counters: (
        exporter.request_stop() if counters.get("items_read", 0) >= 600 else None
    )
    assert not exporter.export()["finished"]
    kafka_broker.produce_json(unequal_topic, [(0, {"id": -1, "p": 0})] * 0)  # nothing new: same range anyway
    assert BasicExporter.from_persistence_uri(exporter.persistence.uri).export()["finished"]
    assert exported(tmp_path / "cut") == expected


# -- kill -9 and resume (the real ``ozzy`` command, tests/crash_harness.py) ----------------------------------
CRASH_BATCH = 1000
CRASH_FILE_ITEMS = 3500  # not a multiple of the batch size: files finish inside batches


def scanner_order(sizes: dict[int, int], batch_size: int) -> list[int]:
    """Message ids (n is in partition n % 4) in the order KafkaScannerReader delivers them."""
    offsets = dict.fromkeys(sizes, 0)
    order: list[int] = []
    while True:
        active = [p for p in sorted(sizes) if offsets[p] < sizes[p]]
        if not active:
            return order
        share = max(1, batch_size // len(active))
        for p in active:
            taken = range(offsets[p], min(sizes[p], offsets[p] + share))
            order.extend(offset * 4 + p for offset in taken)
            offsets[p] += len(taken)


def run_crash_job(
    workdir: Path,
    broker: KafkaBroker,
    topic: str,
    total: int,
    seed: int,
    kills: int,
    triggers: list | None = None,
) -> str:
    """Crash and resume one export; ``triggers`` (fixed interruption points) replace the seeded plan."""
    import random

    from tests.crash_harness import CrashHarness, check_exact_output

    config = {
        "reader": {
            "name": "KafkaScannerReader",
            "options": reader_options(broker, topic, batch_size=CRASH_BATCH),
        },
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": "out/part_", "items_per_buffer_write": CRASH_FILE_ITEMS},
        },
        "exporter_options": {"formatter": {"name": "JsonExportFormatter"}},
    }
    harness = CrashHarness(workdir, config, timeout=300)
    files = -(-total // CRASH_FILE_ITEMS)
    plan = (
        triggers
        if triggers is not None
        else harness.random_plan(random.Random(seed), files, total // CRASH_BATCH, kills)
    )
    report = harness.run(plan, seed=seed)
    expected = scanner_order(dict.fromkeys(range(4), total // 4), CRASH_BATCH)
    sizes = [CRASH_FILE_ITEMS] * (total // CRASH_FILE_ITEMS) + (
        [total % CRASH_FILE_ITEMS] if total % CRASH_FILE_ITEMS else []
    )
    problems = check_exact_output(
        workdir / "out",
        {"part_.jl.gz": expected},
        lambda path: [each["id"] for each in read_json_lines(path)],
        layout={"part_.jl.gz": sizes},
    )
    assert not problems, f"{problems}\n{report.describe()}\n{report.log_tails()}"
    return report.describe() + f" ({report.interruptions} landed)"


def test_kill_9_and_resume_exports_every_message_once(tmp_path: Path, kafka_broker: KafkaBroker) -> None:
    total = 8_000
    topic = kafka_broker.create_topic(4, prefix="crash")
    kafka_broker.produce_json(topic, ((n % 4, item(n)) for n in range(total)))
    from tests.crash_harness import Trigger

    # points counted in commits and files, not time, so they land however fast the machine is
    triggers = [Trigger("commits", 1), Trigger("commits", 1), Trigger("files", 1)]
    description = run_crash_job(
        tmp_path / "job", kafka_broker, topic, total, seed=11, kills=3, triggers=triggers
    )
    assert int(description.rsplit("(", 1)[1].split()[0]) >= 2, "the kills must land inside the run"


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_kill_9_stress_20_points_on_the_100000_message_topic(
    request: pytest.FixtureRequest, tmp_path: Path, kafka_broker: KafkaBroker, big_topic: str
) -> None:
    """20 seeded ``kill -9`` points over 5 jobs of the 4-partition 100,000-message topic."""
    skip_unless_slow_requested(request.config)
    landed = 0
    for job, seed in enumerate((101, 102, 103, 104, 105)):
        description = run_crash_job(
            tmp_path / f"job-{job}", kafka_broker, big_topic, BIG_COUNT, seed, kills=4
        )
        landed += int(description.rsplit("(", 1)[1].split()[0])
    assert landed >= 20, landed


# -- the Airflow connection (OzzyKafkaHook) and shards ------------------------------------------------------
def test_reader_through_an_airflow_connection_and_the_hooks_test_connection(
    tmp_path: Path, kafka_broker: KafkaBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_ozzy.hooks.kafka_hook import OzzyKafkaHook

    topic = kafka_broker.create_topic(2)
    kafka_broker.produce_json(topic, ((n % 2, item(n)) for n in range(40)))
    monkeypatch.setenv("AIRFLOW_CONN_KAFKA_LOCAL", kafka_broker.connection_json())
    export(tmp_path, {"kafka_conn_id": "kafka_local", "topic": topic})
    assert sorted(each["id"] for each in exported(tmp_path)) == list(range(40))
    assert OzzyKafkaHook("kafka_local").test_connection()[0] is True

    monkeypatch.setenv(
        "AIRFLOW_CONN_KAFKA_DOWN",
        json.dumps({"conn_type": "ozzy_kafka", "host": f"127.0.0.1:{_free_port()}"}),
    )
    ok, message = OzzyKafkaHook("kafka_down").test_connection()
    assert ok is False and message
    with pytest.raises(ReaderError, match="connection 'kafka_nowhere'"):
        export(tmp_path / "missing", {"kafka_conn_id": "kafka_nowhere", "topic": topic})


def test_shards_split_the_partitions_and_together_read_everything_once(
    tmp_path: Path, kafka_broker: KafkaBroker, unequal_topic: str
) -> None:
    from airflow_provider_ozzy.readers.kafka_scanner_reader import KafkaScannerReader
    from airflow_provider_ozzy.sharding.kafka_shards import kafka_partition_shards

    shards = kafka_partition_shards(kafka_broker.bootstrap, 3, topic=unequal_topic)
    assert shards == [{"partitions": [0, 3]}, {"partitions": [1]}, {"partitions": [2]}]
    base = reader_options(kafka_broker, unequal_topic)
    assert kafka_partition_shards(base, 8) == [{"partitions": [p]} for p in range(4)]
    assert kafka_partition_shards(KafkaScannerReader({**base, "partitions": [1, 2, 3]}), 2) == [
        {"partitions": [1, 3]},
        {"partitions": [2]},
    ]
    ids: list[int] = []
    for index, shard in enumerate(shards):
        export(tmp_path / str(index), {**base, **shard}, state_id=f"shard-{index}")
        ids.extend(each["id"] for each in exported(tmp_path / str(index)))
    assert sorted(ids) == list(range(sum(SAMPLE_SIZES.values())))
    with pytest.raises(ReaderError, match="the topic does not exist"):
        kafka_partition_shards(base, 2, topic="no-such-topic")
