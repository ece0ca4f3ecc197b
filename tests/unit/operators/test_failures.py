"""Which errors end an Airflow task at once (``AirflowFailException``) and which leave its retries.

Real errors from real exports against a moto S3 server: a missing bucket, refused credentials and a
connection Airflow does not know are permanent; a server that does not answer, a damaged input file
and a file standing where the output folder must be (both fixable between tries) are not. The retry counts themselves are
checked in a real DAG run (``tests/e2e/test_assets_dags.py``).
"""

from __future__ import annotations

import gzip
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_ozzy.core.errors import ConfigurationError, OzzyError, is_permanent
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.operators.failures import task_failure
from tests.integration.object_store_cases import open_store
from tests.servers.moto_server import MotoServer


def _failure_of(config: dict[str, Any]) -> BaseException:
    with pytest.raises(Exception) as raised:
        BasicExporter(config).export()
    return raised.value


def _fs_input(folder: Path) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.jl").write_text("".join(json.dumps({"id": n}) + "\n" for n in range(5)))
    return {"name": "FSReader", "options": {"input": {"dir": str(folder)}}}


def _s3_writer(bucket: str, conn_id: str) -> dict[str, Any]:
    return {"name": "S3Writer", "options": {"bucket": bucket, "filebase": "out/x_", "aws_conn_id": conn_id}}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the exports' default state folder (.ozzy-state) goes there


@pytest.fixture
def moto_conn(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_FAIL_FAST_S3", moto_server.connection_json())
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    return "ozzy_fail_fast_s3"


def _assert_fails_at_once(error: BaseException, text: str) -> None:
    failure = task_failure(error)
    assert isinstance(failure, AirflowFailException), (type(error), error)
    assert str(failure) == f"Ozzy export failed: {error}" and text in str(failure)
    assert "\n" not in str(failure)


def test_a_missing_bucket_and_refused_credentials_fail_the_task_at_once(
    tmp_path: Path, moto_server: MotoServer, moto_conn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = _fs_input(tmp_path / "in")
    missing = _failure_of({"reader": reader, "writer": _s3_writer("no-such-bucket-ozzy", moto_conn)})
    _assert_fails_at_once(missing, "bucket 'no-such-bucket-ozzy' does not exist")

    bad = dict(moto_server.connection(), login="AKIAOZZYUNKNOWN", password="Sup3r-S3cret")
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_FAIL_FAST_BAD", json.dumps(bad))
    bucket = moto_server.create_bucket()
    with moto_server.enforcing_auth():
        refused = _failure_of({"reader": reader, "writer": _s3_writer(bucket, "ozzy_fail_fast_bad")})
    _assert_fails_at_once(refused, "refused (InvalidAccessKeyId)")


@pytest.mark.parametrize("kind", ["s3", "gcs", "azure"])
def test_reading_a_missing_bucket_or_container_fails_the_task_at_once_on_every_object_store(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(kind, request, monkeypatch)
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    reader = store.reader_for("no-such-bucket-ozzy", prefix="in/")  # writers may create containers
    writer = {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "x_")}}

    error = _failure_of({"reader": reader, "writer": writer})

    _assert_fails_at_once(error, "'no-such-bucket-ozzy' does not exist")


def test_airflows_own_missing_connection_error_counts_as_permanent_through_its_causes() -> None:
    from airflow.providers.common.compat.sdk import AirflowNotFoundException

    try:
        try:
            raise AirflowNotFoundException("The conn_id `nope` isn't defined")
        except AirflowNotFoundException as missing:
            raise OzzyError("Kafka: cannot connect") from missing
    except OzzyError as error:
        wrapped = error

    assert is_permanent(wrapped) and isinstance(task_failure(wrapped), AirflowFailException)
    assert str(task_failure(AirflowNotFoundException("The conn_id `nope` isn't defined"))) == (
        "Ozzy export failed: AirflowNotFoundException: The conn_id `nope` isn't defined"
    )


@pytest.mark.parametrize(
    ("writer", "text"),
    [
        (
            _s3_writer("b", "ozzy_no_such_conn"),
            "Airflow connection 'ozzy_no_such_conn' (option 'aws_conn_id') is not defined",
        ),
        (
            {"name": "OdoWriter", "options": {"sql_conn_id": "ozzy_no_such_conn", "table": "orders"}},
            "cannot get Airflow connection 'ozzy_no_such_conn' (option 'sql_conn_id')",
        ),
    ],
    ids=["s3", "sql"],
)
def test_a_connection_airflow_does_not_know_fails_the_task_at_once(
    tmp_path: Path, writer: dict[str, Any], text: str
) -> None:
    error = _failure_of({"reader": _fs_input(tmp_path / "in"), "writer": writer})

    _assert_fails_at_once(error, text)


def test_a_config_that_does_not_run_fails_the_task_at_once(tmp_path: Path) -> None:
    writer = {
        "name": "FSWriter",
        "options": {"filebase": str(tmp_path / "o" / "x_"), "items_per_buffer_write": 0},
    }

    error = _failure_of({"reader": _fs_input(tmp_path / "in"), "writer": writer})

    assert isinstance(error, ConfigurationError) and "\n" in str(error)  # one problem a line
    failure = task_failure(error)
    assert isinstance(failure, AirflowFailException)
    assert str(failure) == (
        "Ozzy export failed: invalid configuration: 1 error - writer (FSWriter): option "
        "'items_per_buffer_write' must be positive, got 0"
    )


def test_a_server_that_does_not_answer_and_a_fixable_destination_keep_the_retries(
    tmp_path: Path, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_OZZY_FAIL_FAST_DOWN", moto_server.connection_json(f"http://127.0.0.1:{port}")
    )
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    reader = _fs_input(tmp_path / "in")
    down = _failure_of({"reader": reader, "writer": _s3_writer("any-bucket", "ozzy_fail_fast_down")})
    (tmp_path / "blocked").write_text("a file where the output folder must be")
    blocked_writer = {"name": "FSWriter", "options": {"filebase": str(tmp_path / "blocked" / "x_")}}
    blocked = _failure_of({"reader": reader, "writer": blocked_writer})
    data = gzip.compress(b"".join(json.dumps({"id": n}).encode() + b"\n" for n in range(2000)))
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "a.jl.gz").write_bytes(data[: len(data) // 2])
    damaged_reader = {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "damaged")}}}
    damaged = _failure_of({"reader": damaged_reader, "writer": blocked_writer})

    assert isinstance(damaged, OzzyError)
    for error in (down, blocked, damaged):
        assert not is_permanent(error), error
        failure = task_failure(error)
        if isinstance(error, OzzyError):
            assert type(failure) is AirflowException and str(failure) == f"Ozzy export failed: {error}"
        else:
            assert failure is None  # raised unchanged: Airflow retries it, with its traceback
