""" "Is there anything new after this position?": the probe a deferred export polls, against real stores.

The probe (``reader.has_new_input``, run by ``OzzyNewInputTrigger.probe`` as the triggerer runs it)
must agree exactly with what the next incremental run reads: after every change to the input, the
probe's answer is checked against a real export continuing after the last finished position, and
the destination is read back (every item exactly once). Kafka runs against the project's broker.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.core.errors import ConfigurationError
from airflow_provider_ozzy.engine.config import ExportConfig
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.operators.deferral import trigger_reader_section
from airflow_provider_ozzy.operators.triggers import OzzyNewInputTrigger
from tests.helpers import read_json_lines
from tests.integration.changing_inputs import FolderStore, IncrementalJob, S3Store, make_store
from tests.servers.kafka_server import KafkaBroker


def _trigger(
    config: dict[str, Any], position: dict[str, Any] | None, wait: float = 60.0
) -> OzzyNewInputTrigger:
    """The trigger a deferred export would hand the triggerer, rebuilt from its serialized form."""
    made = OzzyNewInputTrigger(
        trigger_reader_section(ExportConfig(config)), position, 0.05, time.time() + wait
    )
    classpath, kwargs = made.serialize()
    module, name = classpath.rsplit(".", 1)
    rebuilt: OzzyNewInputTrigger = getattr(importlib.import_module(module), name)(**kwargs)
    return rebuilt


class ProbedJob:
    """An incremental export run in this process; each run first asks the probe what it will find."""

    def __init__(self, job: IncrementalJob) -> None:
        self.job = job
        self.position: dict[str, Any] | None = None

    def probe(self) -> bool:
        return _trigger(self.job.config, self.position).probe()

    def run_and_agree(self) -> int:
        """The probe's answer, then a real run: it reads something exactly when the probe said so."""
        expected = self.probe()
        for items in self.job.present.values():
            for item in items:
                self.job.expected[(item["src"], item["n"])] = 1
        exporter = BasicExporter(self.job.config)
        stats = exporter.export()
        self.position = exporter.final_position
        self.job.check()
        read = int(stats["items_read_this_run"])
        assert bool(read) is expected, f"the probe said {expected}, the run read {read} item(s)"
        assert self.probe() is False  # right after a run, nothing is new
        return read


@pytest.mark.parametrize("kind", ["fs", "s3"])
def test_the_probe_sees_exactly_what_the_next_run_reads(
    work: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    store = make_store(request, kind, work / "store")
    for variable, value in store.env.items():
        monkeypatch.setenv(variable, value)
    job = ProbedJob(IncrementalJob(work, store))
    for number in range(1, 4):
        job.job.add(f"orders-{number}.jl.gz", 6)
    assert job.run_and_agree() == 18

    job.job.add("orders-0.jl.gz", 4)  # sorts before every input read: still new
    assert job.run_and_agree() == 4
    job.job.add("orders-10.jl.gz", 3)  # between two inputs read
    assert job.run_and_agree() == 3

    job.job.archive("orders-2.jl.gz")  # an input gone is nothing to read
    assert job.run_and_agree() == 0
    job.job.store.put("orders-1.jl.gz", b"")  # a finished input changed in place: read once per name
    assert job.run_and_agree() == 0
    if isinstance(store, FolderStore):  # what the listing skips: a file still being written
        (store.inbox / ".orders-4.jl.gz.tmp").write_bytes(b"partial")
    else:
        assert isinstance(store, S3Store)  # a folder marker
        store.client.put_object(Bucket=store.bucket, Key="inbox/later/", Body=b"")
    assert job.run_and_agree() == 0

    renamed = job.job.present.pop("orders-3.jl.gz")  # renamed: a new name is a new input
    job.job.store.remove("orders-3.jl.gz")
    job.job.add("orders-00.jl.gz", len(renamed))
    assert job.run_and_agree() == len(renamed)


@pytest.mark.parametrize("reader", ["KafkaScannerReader", "KafkaRandomReader"])
def test_the_kafka_probe_compares_the_end_offsets_with_the_finished_position(
    work: Path, kafka_broker: KafkaBroker, reader: str
) -> None:
    topic = kafka_broker.create_topic(2)
    kafka_broker.produce_json(topic, ((n % 2, {"id": n}) for n in range(10)))
    options: dict[str, Any] = {"brokers": [kafka_broker.bootstrap], "topic": topic, "batch_size": 4}
    if reader == "KafkaRandomReader":
        options["record_count"] = 100  # more than the topic holds: every message is sampled
    config = {
        "reader": {"name": reader, "options": options},
        "writer": {"name": "FSWriter", "options": {"filebase": str(work / "out" / "part_")}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(work / "state")}},
        "exporter_options": {"persistence_state_id": "topic", "incremental": True},
    }

    def run() -> tuple[dict[str, Any], int]:
        exporter = BasicExporter(config)
        stats = exporter.export()
        assert exporter.final_position is not None
        return exporter.final_position, int(stats["items_read_this_run"])

    assert _trigger(config, None).probe() is True
    position, read = run()
    assert read == 10
    assert _trigger(config, position).probe() is False
    kafka_broker.produce_json(topic, [(1, {"id": 10})])
    assert _trigger(config, position).probe() is True
    position, read = run()
    assert read == 1
    assert _trigger(config, position).probe() is False
    ids = sorted(item["id"] for path in sorted((work / "out").iterdir()) for item in read_json_lines(path))
    assert ids == list(range(11))


# -- the trigger as the triggerer runs it ------------------------------------------------------------------


def _events(trigger: OzzyNewInputTrigger) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), timeout=30))


def _folder_config(folder: Path) -> dict[str, Any]:
    return {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(folder)}}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/part_"}},
    }


def test_the_trigger_fires_once_when_a_file_arrives(work: Path) -> None:
    (work / "in").mkdir()
    trigger = _trigger(_folder_config(work / "in"), None)
    arrival = threading.Timer(0.3, (work / "in" / "a.jl").write_text, args=['{"id": 1}\n'])
    arrival.start()
    try:
        events = _events(trigger)
    finally:
        arrival.cancel()
    assert len(events) == 1 and events[0]["status"] == "new_input" and events[0]["polls"] > 1


def test_the_trigger_ends_the_wait_at_its_deadline(work: Path) -> None:
    (work / "in").mkdir()
    started = time.monotonic()
    events = _events(_trigger(_folder_config(work / "in"), None, wait=0.5))
    assert [event["status"] for event in events] == ["timeout"]
    assert 0.4 < time.monotonic() - started < 5


def test_a_source_that_refuses_the_probe_ends_the_wait_with_one_line(
    work: Path, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = S3Store(moto_server)
    for variable, value in store.env.items():
        monkeypatch.setenv(variable, value)
    reader = store.reader()
    reader["options"]["bucket"] = "ozzy-no-such-bucket"
    events = _events(_trigger({"reader": reader, "writer": {"name": "FSWriter", "options": {}}}, None))
    assert len(events) == 1 and events[0]["status"] == "error", events
    assert "ozzy-no-such-bucket" in events[0]["message"] and "\n" not in events[0]["message"]


def test_the_trigger_carries_connection_ids_and_refuses_secrets() -> None:
    reader = {"name": "S3Reader", "options": {"bucket": "in", "aws_conn_id": "ozzy_in"}}
    kwargs = _trigger({"reader": reader}, {"done": []}).serialize()[1]
    assert kwargs["reader"] == reader and kwargs["position"] == {"done": []}
    secret = {"name": "S3Reader", "options": {"bucket": "in", "aws_secret_access_key": "s3cr3t-value"}}
    with pytest.raises(ConfigurationError, match="aws_secret_access_key hold a secret") as raised:
        trigger_reader_section(ExportConfig({"reader": secret}))
    assert "s3cr3t-value" not in str(raised.value)
    with pytest.raises(ConfigurationError, match="RandomReader cannot tell whether new input arrived"):
        trigger_reader_section(ExportConfig({"reader": {"name": "RandomReader", "options": {}}}))


# -- the operator's side: what a wait ends as, and what it refuses when the DAG is parsed ----------------


def _operator(**waiting: Any) -> Any:
    from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

    return OzzyExportOperator(
        task_id="export",
        reader={"name": "FSReader", "options": {"input": {"dir": "/data/in"}}},
        writer={"name": "FSWriter", "options": {"filebase": "/data/out/items_"}},
        deferrable=True,
        **waiting,
    )


def test_a_wait_ends_as_on_timeout_says_and_a_refused_probe_fails_with_its_line() -> None:
    from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException

    empty = {"items_read": 0, "items_read_this_run": 0, "finished": True}
    with pytest.raises(AirflowSkipException, match=r"no new input within defer_timeout \(5 s\)"):
        _operator(defer_timeout=5).execute_complete({}, event={"status": "timeout"}, stats=empty)
    assert (
        _operator(on_timeout="success").execute_complete({}, event={"status": "timeout"}, stats=empty)
        == empty
    )
    refused = {"status": "error", "message": "S3Reader: bucket in does not exist"}
    with pytest.raises(
        AirflowException, match="^Ozzy: waiting for new input failed: S3Reader: bucket in does not exist$"
    ):
        _operator().execute_complete({}, event=refused, stats=empty)


def test_what_cannot_wait_fails_the_dag_import() -> None:
    with pytest.raises(ConfigurationError, match="task export: on_timeout must be one of skip, success"):
        _operator(on_timeout="fail")
    with pytest.raises(ConfigurationError, match="task export: defer_timeout must be a positive"):
        _operator(defer_timeout=0)
