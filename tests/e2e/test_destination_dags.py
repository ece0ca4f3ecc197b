"""The example DAGs of remote destinations (``dags/ozzy_s3_export.py``, ``dags/ozzy_sftp_export.py``).

Each runs under ``dag.test()`` against the session's server (moto for S3, the asyncssh SFTP server),
its connection given as ``AIRFLOW_CONN_*``; what it wrote is read back over the wire and compared
item by item with the demo input: every item exactly once, in the folder of its country.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import EXAMPLE_DAGS, load_dag
from tests.e2e.dag_runs import xcom
from tests.e2e.test_example_dags import _demo_items
from tests.servers.moto_server import MotoServer
from tests.servers.sftp_server import SFTPTestServer

ITEMS = 1500


def _items_of(data: bytes) -> list[dict[str, Any]]:
    assert data[:2] == b"\x1f\x8b", "not gzip"
    return [json.loads(line) for line in gzip.decompress(data).decode("utf-8").splitlines() if line]


def _check_files(
    files: dict[str, bytes], items: list[dict[str, Any]], stats: dict[str, Any], folder: str
) -> None:
    """``files``: relative name -> content, as the DAG wrote them under ``folder``."""
    name = re.compile(r"(?P<country>[^/]+)/orders_\d{4}\.jl\.gz")
    countries = {item["country"] for item in items}
    assert files, f"nothing written under {folder}"
    written = []
    for path, data in files.items():
        match = name.fullmatch(path)
        assert match, f"unexpected file {folder}/{path}"
        in_file = _items_of(data)
        assert in_file, f"{path} is empty"
        assert {item["country"] for item in in_file} == {match["country"]}, path
        written += in_file
    assert {path.split("/")[0] for path in files} == countries
    assert len(written) == len(items)
    assert sorted(written, key=lambda item: item["id"]) == items
    assert stats["items_read"] == stats["items_written"] == len(items)
    assert stats["files_written"] == len(files)
    assert stats["finished"] is True


def test_the_s3_export_dag_uploads_one_folder_per_country(
    airflow_db: str, moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _demo_items(tmp_path / "in", ITEMS)
    bucket = moto_server.create_bucket("ozzy-dag")
    prefix = f"exports/{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_S3", moto_server.connection_json())
    monkeypatch.setenv("OZZY_DEMO_INPUT", str(tmp_path / "in"))
    monkeypatch.setenv("OZZY_S3_BUCKET", bucket)
    monkeypatch.setenv("OZZY_S3_PREFIX", prefix)

    run = load_dag("ozzy_s3_export.py", "ozzy_s3_export", EXAMPLE_DAGS).test()

    assert run.state == "success"
    s3 = moto_server.client("s3")
    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys and all(key.startswith(f"{prefix}/") for key in keys), keys
    files = {key[len(prefix) + 1 :]: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
    _check_files(files, items, xcom(run, "export_orders"), prefix)
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["Metadata"]["total"] == str(len(_items_of(files[key[len(prefix) + 1 :]])))


def test_the_sftp_export_dag_uploads_one_folder_per_country(
    airflow_db: str, sftp_server: SFTPTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _demo_items(tmp_path / "in", ITEMS)
    folder = f"dags-e2e/{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_SFTP", sftp_server.connection_json())
    monkeypatch.setenv("OZZY_DEMO_INPUT", str(tmp_path / "in"))
    monkeypatch.setenv("OZZY_SFTP_FOLDER", folder)

    run = load_dag("ozzy_sftp_export.py", "ozzy_sftp_export", EXAMPLE_DAGS).test()

    assert run.state == "success"
    names = sftp_server.download(folder, tmp_path / "back")
    files = {name: (tmp_path / "back" / name).read_bytes() for name in names}
    _check_files(files, items, xcom(run, "export_orders"), folder)


def test_the_destination_dags_use_the_connections_the_playground_presets() -> None:
    """The DAGs name ``ozzy_s3`` / ``ozzy_sftp``; ``docker-compose.yaml`` presets both (checked there)."""
    s3 = load_dag("ozzy_s3_export.py", "ozzy_s3_export", EXAMPLE_DAGS).get_task("export_orders")
    sftp = load_dag("ozzy_sftp_export.py", "ozzy_sftp_export", EXAMPLE_DAGS).get_task("export_orders")
    assert (
        s3.sections["writer"]["name"] == "S3Writer"
        and s3.sections["writer"]["options"]["aws_conn_id"] == "ozzy_s3"
    )
    assert (
        sftp.sections["writer"]["name"] == "SFTPWriter"
        and sftp.sections["writer"]["options"]["sftp_conn_id"] == "ozzy_sftp"
    )
