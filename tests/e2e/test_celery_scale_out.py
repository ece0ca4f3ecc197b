"""Sharded exports on CeleryExecutor across hosts that share no disk, and the loss of a host.

The hosts are network namespaces (``tests/e2e/celery_hosts.py``): the control plane (api-server,
scheduler, dag-processor, Redis as broker, PostgreSQL through a forwarder) on the control address
of the root namespace, ``airflow celery worker`` on ``worker1`` and ``worker2`` (each its own
hostname, AIRFLOW_HOME and TMPDIR: no shared output folder), moto (S3) on ``storage``. Every
process gets the same ``AIRFLOW__*`` settings; only the DAG files are shared, read-only, as code.

- the S3 -> S3 export lands its shards on both workers (the task instances' ``hostname``) and
  the union of the shards' objects is the input, each item once;
- a host loss: once a shard on ``worker2`` has written files, every process of ``worker2`` gets
  SIGKILL and its link is cut; the scheduler finds the task without a heartbeat, the retry runs on
  ``worker1`` and resumes from the position the first try committed to the task state store.

Marked ``celery`` (``pytest -m celery``); skipped where namespaces cannot be made (not root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.airflow_stack import AIRFLOW, AirflowStack
from tests.e2e.celery_hosts import Hosts, namespaces_unavailable
from tests.e2e.sharded_run import generate_input, output_ids
from tests.servers.moto_server import ACCESS_KEY, REGION, SECRET_KEY
from tests.servers.process_server import free_port, wait_accepting

ITEMS = int(os.environ.get("OZZY_CELERY_ITEMS", "50000"))
SHARDS = 8
INPUT_OBJECTS = 32
WORKERS = ["worker1", "worker2"]
DAGS = Path(__file__).parent / "celery_dags"
DAG_ID = "ozzy_celery_sharded"

pytestmark = [pytest.mark.celery, pytest.mark.timeout(900)]


def celery_settings(control: str, redis_port: int, db_port: int, database: str) -> dict[str, str]:
    """The settings every host gets (docs/scale-out.md explains each)."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "16",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "socket.gethostname",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{control}:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://postgres@{control}:{db_port}/{database}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CELERY__TASK_ACKS_LATE": "True",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "3600",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
    }


class CeleryDeployment:
    """Hosts, Redis, moto, forwarders, the control plane and one Celery worker per worker host."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.hosts = Hosts([*WORKERS, "storage"])
        self.redis: subprocess.Popen[bytes] | None = None
        self.stack: AirflowStack | None = None

    def start(self, extra_env: dict[str, str]) -> CeleryDeployment:
        hosts = self.hosts.create()
        control = hosts.control
        self.redis_port, self.db_port, self.s3_port = (free_port(control) for _ in range(3))
        self.redis = subprocess.Popen(
            ["redis-server", "--bind", control, "--port", str(self.redis_port), "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=open(self.base / "redis.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        moto_port = free_port()
        storage = hosts.addresses["storage"]
        moto = hosts.command("storage", [str(Path(sys.executable).parent / "moto_server"), "-H", storage,
                                         "-p", str(moto_port)])  # fmt: skip
        self.moto = subprocess.Popen(
            moto, stdout=open(self.base / "moto.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True
        )
        hosts.forward(
            {(control, self.db_port): ("127.0.0.1", 5432), (control, self.s3_port): (storage, moto_port)}
        )
        wait_accepting(self.redis_port, control, timeout=30)
        wait_accepting(moto_port, storage, timeout=60)
        self.endpoint = f"http://{control}:{self.s3_port}"
        connection = {
            "conn_type": "aws",
            "login": ACCESS_KEY,
            "password": SECRET_KEY,
            "extra": {"endpoint_url": self.endpoint, "region_name": REGION},
        }
        self.stack = AirflowStack(DAGS, host=control, database_address=(control, self.db_port))
        self.stack.env.update(
            celery_settings(control, self.redis_port, self.db_port, self.stack.database),
            AIRFLOW_CONN_OZZY_S3=json.dumps(connection),
            **extra_env,
        )
        self.stack.start()
        for name in WORKERS:
            home = Path(tempfile.mkdtemp(prefix=f"ozzy-celery-{name}-"))
            (home / "tmp").mkdir()
            env = dict(self.stack.env, AIRFLOW_HOME=str(home), TMPDIR=str(home / "tmp"))
            command = [AIRFLOW, "celery", "worker", "--celery-hostname", f"celery@{name}", "--without-mingle",
                       "--without-gossip"]  # fmt: skip
            self.stack.launch(name, hosts.command(name, command), env)
        return self

    def s3(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def lose_host(self, name: str) -> list[int]:
        """Host ``name`` dies: all its processes, then its link; the stack no longer expects it alive."""
        assert self.stack is not None
        killed = self.hosts.kill_host(name)
        self.stack.processes.pop(name, None)
        return killed

    def stop(self) -> None:
        try:
            if self.stack is not None:
                self.stack.stop()
        finally:
            if self.redis is not None:
                self.redis.kill()
                self.redis.wait(timeout=10)
            self.hosts.close()


def upload_input(s3: Any, bucket: str, folder: Path) -> None:
    s3.create_bucket(Bucket=bucket)
    for path in sorted(folder.glob("*.jl.gz")):
        s3.put_object(Bucket=bucket, Key=f"in/{path.name}", Body=path.read_bytes())


def download(s3: Any, bucket: str, folder: Path) -> list[str]:
    """The objects under ``out/`` into ``folder``; returns their keys."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket, Prefix="out/").get("Contents", [])]
    for key in keys:
        (folder / key.removeprefix("out/")).write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return keys


def tries_with_hosts(stack: AirflowStack, run_id: str) -> list[dict[str, Any]]:
    """Every try of every task instance, with the host it ran on."""
    rows = []
    for ti in stack.task_instances(DAG_ID, run_id):
        for attempt in stack.tries(DAG_ID, run_id, ti["task_id"], ti["map_index"]):
            rows.append(
                {key: attempt[key] for key in ("task_id", "map_index", "try_number", "state", "hostname")}
                | {"start": attempt["start_date"], "end": attempt["end_date"]}
            )
    return sorted(rows, key=lambda row: (row["task_id"], row["map_index"], row["try_number"]))


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, postgresql_server: Any
) -> Iterator[CeleryDeployment]:
    reason = namespaces_unavailable()
    if reason:
        pytest.skip(f"CeleryExecutor hosts need network namespaces: {reason}")
    base = tmp_path_factory.mktemp("celery")
    env = {
        "OZZY_SHARDS": str(SHARDS),
        "OZZY_CELERY_IN_BUCKET": "ozzy-in",
        "OZZY_CELERY_OUT_BUCKET": "ozzy-out",
        "OZZY_BATCH_SIZE": "250",
        "OZZY_ITEMS_PER_FILE": str(max(250, ITEMS // SHARDS // 6)),
        "OZZY_CELERY_PACE": "0.1",
    }
    deployment = CeleryDeployment(base)
    try:
        deployment.start(env)
        assert deployment.stack is not None
        deployment.stack.wait_for_dag(DAG_ID)
        yield deployment
    except BaseException:
        if deployment.stack is not None:
            print(deployment.stack.logs())
        raise
    finally:
        deployment.stop()
        if deployment.stack is not None:
            deployment.stack.cleanup_home()


def _shard_on(stack: AirflowStack, run_id: str, host: str) -> int | None:
    for ti in stack.task_instances(DAG_ID, run_id):
        if ti["task_id"] == "export" and ti["state"] == "running" and ti["hostname"] == host:
            return int(ti["map_index"])
    return None


def test_shards_spread_over_two_hosts_survive_the_loss_of_one_and_the_output_is_exact(
    deployment: CeleryDeployment, tmp_path: Path
) -> None:
    stack, s3 = deployment.stack, deployment.s3()
    assert stack is not None
    generate_input(tmp_path / "in", ITEMS, INPUT_OBJECTS)
    upload_input(s3, "ozzy-in", tmp_path / "in")
    s3.create_bucket(Bucket="ozzy-out")
    run_id = stack.trigger(DAG_ID)

    # a shard running on worker2 that has written two files (its first is committed)
    def doomed() -> int | None:
        index = _shard_on(stack, run_id, "worker2")
        if index is None:
            return None
        listing = s3.list_objects_v2(Bucket="ozzy-out", Prefix=f"out/items_shard{index:03d}_")
        return index if listing.get("KeyCount", 0) >= 2 else None

    victim = stack.wait_for(doomed, 300, "a shard on worker2 with two files written", interval=0.5)
    killed = deployment.lose_host("worker2")
    lost_at = time.monotonic()
    state = stack.wait_for_run(DAG_ID, run_id, timeout=600)
    rows = tries_with_hosts(stack, run_id)
    explain = f"\nkilled {len(killed)} process(es) of worker2, shard {victim}\n" + "\n".join(map(str, rows))
    print(explain, f"\nrun finished {time.monotonic() - lost_at:.0f} s after the host loss")
    assert state == "success", explain + stack.logs()
    assert killed, "worker2 had no process to kill"

    # shards ran on both hosts; the interrupted one failed on worker2 and succeeded on worker1
    exports = [row for row in rows if row["task_id"] == "export"]
    assert {row["hostname"] for row in exports} == {"worker1", "worker2"}, explain
    victim_tries = [row for row in exports if row["map_index"] == victim]
    assert [(row["hostname"], row["state"]) for row in victim_tries] == [
        ("worker2", "failed"),
        ("worker1", "success"),
    ], explain
    # the retry resumed from the position the first try committed: it read only the remainder
    resumed = stack.xcom(DAG_ID, run_id, "export", victim)
    assert 0 < resumed["items_read_this_run"] < resumed["items_read"], resumed

    keys = download(s3, "ozzy-out", tmp_path / "out")
    ids = output_ids(tmp_path / "out")
    assert len(ids) == ITEMS and sorted(ids) == list(range(ITEMS)), (
        f"{len(ids)} items, {len(set(ids))} distinct"
    )
    check = stack.xcom(DAG_ID, run_id, "export_check")
    assert check["shards"] == SHARDS and check["items_read"] == check["items_written"] == ITEMS, check
    assert check["files_written"] == len(keys), (check, keys)
