"""Sharded exports on CeleryExecutor across hosts that share no disk, and the loss of a host.

The hosts are network namespaces (``tests/e2e/celery_hosts.py``): the control plane (api-server,
scheduler, dag-processor, Redis as broker, PostgreSQL through a forwarder) on the control address
of the root namespace, ``airflow celery worker`` on ``worker1`` and ``worker2`` (each its own
hostname, AIRFLOW_HOME and TMPDIR: no shared output folder), moto (S3) on ``storage``. Every
process gets the same ``AIRFLOW__*`` settings; only the DAG files are shared, read-only, as code.

- the S3 -> S3 export lands its shards on both workers (the task instances' ``hostname``) and
  the union of the shards' objects is the input, each item once; the check task, on either host,
  lists the objects through the writer's connection and its manifest object lists exactly them
  (size, md5), in every run below;
- the partitions of a Kafka topic (4) as shards, on both workers, exact;
- a host loss: once a shard on ``worker2`` has written files, every process of ``worker2`` gets
  SIGKILL and its link is cut; the scheduler finds the task without a heartbeat, the retry runs on
  ``worker1`` and resumes from the position the first try committed to the task state store.

Marked ``celery`` (``pytest -m celery``); skipped where namespaces cannot be made (not root).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.sharding.check import MANIFEST_NAME
from tests.airflow_stack import AirflowStack
from tests.e2e.celery_deployment import CeleryDeployment, upload_input, verify_output
from tests.e2e.celery_hosts import namespaces_unavailable
from tests.e2e.sharded_run import format_table, generate_input, overlapping_pairs, task_table

ITEMS = int(os.environ.get("OZZY_CELERY_ITEMS", "50000"))
SHARDS = 8
INPUT_OBJECTS = 32
WORKERS = ["worker1", "worker2"]
KAFKA_ITEMS, KAFKA_PARTITIONS = 20000, 4
IN_BUCKET, OUT_BUCKET = "ozzy-in", "ozzy-out"

pytestmark = [pytest.mark.celery, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CeleryDeployment]:
    reason = namespaces_unavailable()
    if reason:  # before any server starts
        pytest.skip(f"CeleryExecutor hosts need network namespaces: {reason}")
    request.getfixturevalue("postgresql_server")
    kafka_broker = request.getfixturevalue("kafka_broker")
    base = tmp_path_factory.mktemp("celery")
    topic = kafka_broker.create_topic(partitions=KAFKA_PARTITIONS, prefix="ozzy-celery")
    env = {
        "OZZY_SHARDS": str(SHARDS),
        "OZZY_CELERY_IN_BUCKET": IN_BUCKET,
        "OZZY_CELERY_OUT_BUCKET": OUT_BUCKET,
        "OZZY_CELERY_KAFKA_TOPIC": topic,
        "OZZY_BATCH_SIZE": "250",
        "OZZY_ITEMS_PER_FILE": str(max(250, ITEMS // SHARDS // 6)),  # six files or more per shard
        "OZZY_CELERY_PACE": "0.1",
    }
    deployment = CeleryDeployment(base, WORKERS)
    try:
        deployment.start(env, kafka_broker)
        assert deployment.stack is not None
        deployment.stack.wait_for_dag("ozzy_celery_sharded")
        s3 = deployment.s3()
        generate_input(base / "in", ITEMS, INPUT_OBJECTS)
        upload_input(s3, IN_BUCKET, base / "in")
        s3.create_bucket(Bucket=OUT_BUCKET)
        deployment.topic = topic
        yield deployment
    except BaseException:
        if deployment.stack is not None:
            print(deployment.stack.logs())
        raise
    finally:
        deployment.stop()
        if deployment.stack is not None:
            deployment.stack.cleanup_home()


def _explain(rows: list[dict[str, Any]]) -> str:
    hosts = "\n".join(
        f"{row['task_id']}[{row['map_index']}] try {row['try']}: {row['hostname']}" for row in rows
    )
    return f"\n{format_table(rows)}\n{hosts}"


def _finished(deployment: CeleryDeployment, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Waits for the run; every try of every task, with its host. The run must have succeeded."""
    stack = deployment.stack
    assert stack is not None
    state = stack.wait_for_run(dag_id, run_id, timeout=600)
    rows = task_table(stack, dag_id, run_id)
    print(f"\n{dag_id} {run_id}: {state}{_explain(rows)}")
    assert state == "success", _explain(rows) + stack.logs()
    return rows


def _assert_exact(
    deployment: CeleryDeployment, dag_id: str, run_id: str, prefix: str, items: int, shards: int, folder: Path
) -> None:
    """The union of the shards' objects is the input, each item once; the check's manifest object lists
    exactly those objects (size, md5) and its totals match them."""
    stack = deployment.stack
    assert stack is not None
    verified = verify_output(deployment.s3(), OUT_BUCKET, prefix, folder, items)
    check = stack.xcom(dag_id, run_id, "export_check")
    assert check["shards"] == shards and check["items_read"] == check["items_written"] == items, check
    assert check["files_written"] == verified["objects"], (check, verified["objects"])
    assert check["manifest"] == f"s3://{OUT_BUCKET}/{prefix}/{MANIFEST_NAME}", check
    assert [shard["listed"] for shard in verified["manifest"]["per_shard"]] == [True] * shards


def test_shards_of_an_s3_export_run_on_both_hosts_and_the_output_is_exact(
    deployment: CeleryDeployment, tmp_path: Path
) -> None:
    assert deployment.stack is not None
    run_id = deployment.stack.trigger("ozzy_celery_sharded")
    rows = _finished(deployment, "ozzy_celery_sharded", run_id)
    exports = [row for row in rows if row["task_id"] == "export"]
    assert {row["hostname"] for row in exports} == set(WORKERS), _explain(rows)
    assert overlapping_pairs(rows, "export") >= 1, _explain(rows)
    _assert_exact(deployment, "ozzy_celery_sharded", run_id, "spread", ITEMS, SHARDS, tmp_path)


def test_kafka_partitions_as_shards_on_two_hosts_are_exact(
    deployment: CeleryDeployment, kafka_broker: Any, tmp_path: Path
) -> None:
    assert deployment.stack is not None
    kafka_broker.produce_json(
        deployment.topic, ((n % KAFKA_PARTITIONS, {"id": n}) for n in range(KAFKA_ITEMS))
    )
    run_id = deployment.stack.trigger("ozzy_celery_kafka")
    rows = _finished(deployment, "ozzy_celery_kafka", run_id)
    exports = [row for row in rows if row["task_id"] == "export"]
    assert sorted(row["map_index"] for row in exports) == list(range(KAFKA_PARTITIONS)), _explain(rows)
    assert {row["hostname"] for row in exports} == set(WORKERS), _explain(rows)
    _assert_exact(deployment, "ozzy_celery_kafka", run_id, "kafka", KAFKA_ITEMS, KAFKA_PARTITIONS, tmp_path)


def _running_shard_on(stack: AirflowStack, dag_id: str, run_id: str, host: str) -> int | None:
    for ti in stack.task_instances(dag_id, run_id):
        if ti["task_id"] == "export" and ti["state"] == "running" and ti["hostname"] == host:
            return int(ti["map_index"])
    return None


def test_a_lost_hosts_shard_resumes_on_the_surviving_host_and_the_output_is_exact(
    deployment: CeleryDeployment, tmp_path: Path
) -> None:
    """Last in the module: worker2 does not come back."""
    stack, s3, dag_id = deployment.stack, deployment.s3(), "ozzy_celery_host_loss"
    assert stack is not None
    run_id = stack.trigger(dag_id)

    def doomed() -> int | None:  # a shard running on worker2 that wrote two files (the first committed)
        index = _running_shard_on(stack, dag_id, run_id, "worker2")
        if index is None:
            return None
        listing = s3.list_objects_v2(Bucket=OUT_BUCKET, Prefix=f"loss/items_shard{index:03d}_")
        return index if listing.get("KeyCount", 0) >= 2 else None

    victim = stack.wait_for(doomed, 300, "a shard on worker2 with two files written", interval=0.5)
    killed = deployment.lose_host("worker2")
    lost_at = time.monotonic()
    assert killed, "worker2 had no process to kill"
    rows = _finished(deployment, dag_id, run_id)
    print(
        f"shard {victim}: {len(killed)} process(es) of worker2 killed; run done {time.monotonic() - lost_at:.0f} s later"
    )

    victim_tries = [row for row in rows if row["task_id"] == "export" and row["map_index"] == victim]
    assert [(row["hostname"], row["state"]) for row in victim_tries] == [
        ("worker2", "failed"),
        ("worker1", "success"),
    ], _explain(rows)
    # the retry resumed from the position the first try committed: it read only the remainder
    resumed = stack.xcom(dag_id, run_id, "export", victim)
    assert 0 < resumed["items_read_this_run"] < resumed["items_read"], resumed
    _assert_exact(deployment, dag_id, run_id, "loss", ITEMS, SHARDS, tmp_path)
