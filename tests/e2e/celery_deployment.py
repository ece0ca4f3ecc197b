"""A CeleryExecutor deployment over network-namespace hosts (``tests/e2e/celery_hosts.py``).

Control plane on the control address: api-server, scheduler, dag-processor (``AirflowStack``),
Redis as broker, PostgreSQL (loopback) through a forwarder; moto (S3) on the ``storage`` host;
``airflow celery worker`` on each worker host, with its own hostname, AIRFLOW_HOME and TMPDIR.
Every process gets the same ``AIRFLOW__*`` settings (``celery_settings``). Used by
``tests/e2e/test_celery_scale_out.py`` and the measurements of ``tests/e2e/celery_measure.py``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from airflow_provider_ozzy.sharding.check import MANIFEST_NAME
from tests.airflow_stack import AIRFLOW, AirflowStack
from tests.e2e.celery_hosts import Hosts
from tests.e2e.sharded_run import output_ids
from tests.servers.moto_server import ACCESS_KEY, REGION, SECRET_KEY
from tests.servers.process_server import free_port, wait_accepting

DAGS = Path(__file__).parent / "celery_dags"


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

    def __init__(self, base: Path, workers: list[str]) -> None:
        self.base = base
        self.workers = workers
        self.hosts = Hosts([*workers, "storage"])
        self.redis: subprocess.Popen[bytes] | None = None
        self.stack: AirflowStack | None = None
        self.topic = ""

    def start(self, extra_env: dict[str, str], kafka: Any = None) -> CeleryDeployment:
        """Everything up, the DAG files parsed; ``kafka`` (a ``KafkaBroker``) is made reachable as ``ozzy_kafka``."""
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
        if kafka is not None:
            kafka_port = free_port(control)
            hosts.forward({(control, kafka_port): ("127.0.0.1", kafka.port)})
            for name in self.workers:  # the broker names itself 127.0.0.1:port in its metadata
                hosts.forward({("127.0.0.1", kafka.port): (control, kafka_port)}, on=name)
            extra_env = dict(extra_env, AIRFLOW_CONN_OZZY_KAFKA=kafka.connection_json())
        self.stack = AirflowStack(DAGS, host=control, database_address=(control, self.db_port))
        self.stack.env.update(
            celery_settings(control, self.redis_port, self.db_port, self.stack.database),
            AIRFLOW_CONN_OZZY_S3=json.dumps(connection),
            **extra_env,
        )
        self.stack.start()
        for name in self.workers:
            home = self.base / name  # private: nothing under it is seen by another host
            (home / "tmp").mkdir(parents=True)
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


def verify_output(s3: Any, bucket: str, prefix: str, folder: Path, items: int) -> dict[str, Any]:
    """The shards' objects under ``prefix/`` hold the input, ids 0 to ``items - 1`` each once, and the
    check's manifest beside them lists exactly those objects with their size and md5.

    The objects are downloaded into ``folder`` and read with gzip and json, not with Ozzy.
    :return: the manifest and the number of objects; ``AssertionError`` saying what differs.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
    keys = [entry["Key"] for page in pages for entry in page.get("Contents", [])]
    manifest_key = f"{prefix}/{MANIFEST_NAME}"
    assert manifest_key in keys, f"no manifest {manifest_key} among {len(keys)} objects"
    objects: dict[str, tuple[int, str]] = {}
    for key in keys:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if key == manifest_key:
            manifest = json.loads(data)
            continue
        (folder / key.replace("/", "_")).write_bytes(data)
        objects[key] = (len(data), hashlib.md5(data).hexdigest())
    ids = output_ids(folder)
    assert len(ids) == items and sorted(ids) == list(range(items)), (
        f"{len(ids)} items, {len(set(ids))} distinct, {items} expected"
    )
    listed = {entry["name"]: (entry["size"], entry["md5"]) for entry in manifest["files"]}
    assert listed == objects, (
        f"manifest and objects differ: only listed {sorted(set(listed) - set(objects))}, only stored "
        f"{sorted(set(objects) - set(listed))}, other size or md5 "
        f"{sorted(key for key in set(listed) & set(objects) if listed[key] != objects[key])}"
    )
    assert manifest["items_written"] == items and manifest["files_written"] == len(objects), manifest
    return {"manifest": manifest, "objects": len(objects)}
