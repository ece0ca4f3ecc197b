"""No secret of any connection type reaches the CLI's output, logs, errors or job state files.

Every connection Ozzy uses gets a distinctive password (``AIRFLOW_CONN_*`` JSON, or the legacy
secret options in the config file): AWS/S3 (connection and legacy keys), GCS (a service account
key), Azure Blob and Azure Files (connection strings and legacy account keys), SFTP (password, and
a private key's passphrase), FTP, SMTP, webhooks (token in the URL, and an HTTP connection),
AlchemyPersistence (URL and connection), Kafka (SASL password), Scrapy Cloud (API key) and the SQL
writer. Exports that succeed (servers that accept any password: moto, PostgreSQL with trust
logins) and exports that fail (wrong password against the real server, unreachable host) run
through ``ozzy`` in-process; the scan covers stdout, stderr, every log record with its traceback,
the exception's text and traceback, and every file the job left (pickle job state included; the
config file itself, which holds the legacy secrets, excepted). One case also runs the real
command with ``--debug``.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import secrets
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from airflow_provider_ozzy.cli import main
from tests.helpers import (
    postgres_connection,
    run_ozzy,
    secret_hits,
    secret_leaks,
    write_config,
    write_json_lines_gz,
)
from tests.servers.process_server import free_port

SecretCase = Callable[[pytest.FixtureRequest, str], "Setup"]


@dataclass
class Setup:
    """What one case needs: connections (id -> Airflow connection dict) and config sections."""

    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)
    exporter_options: dict[str, Any] = field(default_factory=dict)
    succeeds: bool = False
    extra_check: Callable[[str], list[str]] | None = None


def _b64(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode()


def _ozzy_login(conn_type: str, host: str, pw: str, **fields: Any) -> dict[str, Any]:
    """An Airflow connection to ``host`` logging in as ``ozzy`` with the case's password ``pw``."""
    return {"conn_type": conn_type, "host": host, "login": "ozzy", "password": pw, **fields}


# -- the cases: one function per connection type and outcome ----------------------------------------------


def s3_connection_ok(request: pytest.FixtureRequest, pw: str) -> Setup:
    moto = request.getfixturevalue("moto_server")
    connection = dict(moto.connection(), password=pw)
    writer = {
        "name": "S3Writer",
        "options": {"bucket": moto.create_bucket(), "filebase": "x/part-", "aws_conn_id": "oz_s3"},
    }
    return Setup({"oz_s3": connection}, {"writer": writer}, succeeds=True)


def s3_legacy_keys_ok(request: pytest.FixtureRequest, pw: str) -> Setup:
    moto = request.getfixturevalue("moto_server")
    options = {
        "bucket": moto.create_bucket(),
        "filebase": "x/part-",
        "aws_access_key_id": "AKIAOZZYTEST",
        "aws_secret_access_key": pw,
        "endpoint_url": moto.endpoint_url,
    }
    return Setup(sections={"writer": {"name": "S3Writer", "options": options}}, succeeds=True)


def s3_unreachable(request: pytest.FixtureRequest, pw: str) -> Setup:
    connection = {
        "conn_type": "aws",
        "login": "AKIAOZZYTEST",
        "password": pw,
        "extra": {"endpoint_url": f"http://127.0.0.1:{free_port()}", "region_name": "us-east-1"},
    }
    writer = {
        "name": "S3Writer",
        "options": {"bucket": "b", "filebase": "x/part-", "aws_conn_id": "oz_s3_down"},
    }
    return Setup({"oz_s3_down": connection}, {"writer": writer})


def gcs_bad_service_account(request: pytest.FixtureRequest, pw: str) -> Setup:
    keyfile = {
        "type": "service_account",
        "project_id": "ozzy",
        "private_key_id": pw,
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{_b64(pw)}\n-----END PRIVATE KEY-----\n",
        "client_email": "ozzy@ozzy.iam.gserviceaccount.com",
        "token_uri": f"http://127.0.0.1:{free_port()}/token",
    }
    connection = {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(keyfile)}}
    writer = {
        "name": "GStorageWriter",
        "options": {"bucket": "b", "filebase": "x/part-", "gcp_conn_id": "oz_gcs"},
    }
    return Setup({"oz_gcs": connection}, {"writer": writer})


def _azure_connection_string(pw: str, endpoint: str) -> str:
    """An Azure Storage connection string with ``pw`` as the account key, ``endpoint`` nobody serves."""
    port = free_port()
    return f"DefaultEndpointsProtocol=http;AccountName=ozzy;AccountKey={_b64(pw)};{endpoint}=http://127.0.0.1:{port}/ozzy;"


def _azure_legacy_key(pw: str, writer: str, **options: Any) -> Setup:
    """``writer`` with the legacy account options, ``pw`` as the account key."""
    options.update(
        account_name="ozzy", account_key=_b64(pw), account_url=f"http://127.0.0.1:{free_port()}/ozzy"
    )
    return Setup(sections={"writer": {"name": writer, "options": options}})


def azure_blob_connection_string(request: pytest.FixtureRequest, pw: str) -> Setup:
    connection = {
        "conn_type": "wasb",
        "extra": {"connection_string": _azure_connection_string(pw, "BlobEndpoint")},
    }
    writer = {"name": "AzureBlobWriter", "options": {"container": "ozzy-c", "wasb_conn_id": "oz_wasb"}}
    return Setup({"oz_wasb": connection}, {"writer": writer})


def azure_blob_legacy_key(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _azure_legacy_key(pw, "AzureBlobWriter", container="ozzy-c")


def azure_files_connection_string(request: pytest.FixtureRequest, pw: str) -> Setup:
    string = _azure_connection_string(pw, "FileEndpoint")
    connection = {"conn_type": "azure_fileshare", "extra": {"connection_string": string}}
    writer = {
        "name": "AzureFileWriter",
        "options": {"share": "ozzy-s", "filebase": "x/part-", "azure_fileshare_conn_id": "oz_files"},
    }
    return Setup({"oz_files": connection}, {"writer": writer})


def azure_files_legacy_key(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _azure_legacy_key(pw, "AzureFileWriter", share="ozzy-s", filebase="x/part-")


def _remote_connection(request: pytest.FixtureRequest, kind: str, conn_id: str, **fields: Any) -> Setup:
    """SFTPWriter or FTPWriter (``kind``) on the test server through connection ``conn_id``."""
    server = request.getfixturevalue(f"{kind}_server")
    connection = {"conn_type": kind, "host": server.host, "port": server.port, "login": server.user, **fields}
    writer = {"name": f"{kind.upper()}Writer", "options": {"filebase": "x/part-", f"{kind}_conn_id": conn_id}}
    return Setup({conn_id: connection}, {"writer": writer})


def _remote_legacy_password(request: pytest.FixtureRequest, kind: str, pw: str, **options: Any) -> Setup:
    """SFTPWriter or FTPWriter (``kind``) on the test server with the legacy user and password options."""
    server = request.getfixturevalue(f"{kind}_server")
    options = {
        "filebase": "x/part-",
        "host": server.host,
        "port": server.port,
        f"{kind}_user": server.user,
        f"{kind}_password": pw,
        **options,
    }
    return Setup(sections={"writer": {"name": f"{kind.upper()}Writer", "options": options}})


def sftp_wrong_password(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _remote_connection(request, "sftp", "oz_sftp", password=pw, extra={"no_host_key_check": True})


def sftp_legacy_password(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _remote_legacy_password(request, "sftp", pw, no_host_key_check=True)


def sftp_key_passphrase(request: pytest.FixtureRequest, pw: str) -> Setup:
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh", passphrase=pw).decode()
    extra = {"private_key": key, "private_key_passphrase": pw, "no_host_key_check": True}
    return _remote_connection(request, "sftp", "oz_sftp_key", extra=extra)


def ftp_wrong_password(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _remote_connection(request, "ftp", "oz_ftp", password=pw)


def ftp_legacy_password(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _remote_legacy_password(request, "ftp", pw)


def smtp_unreachable(request: pytest.FixtureRequest, pw: str) -> Setup:
    connection = _ozzy_login("smtp", "127.0.0.1", pw, port=free_port())
    writer = {
        "name": "MailWriter",
        "options": {"emails": ["a@example.com"], "subject": "s", "smtp_conn_id": "oz_smtp"},
    }
    return Setup({"oz_smtp": connection}, {"writer": writer})


def webhook_url_token(request: pytest.FixtureRequest, pw: str) -> Setup:
    port = free_port()
    notifier = {
        "name": "WebhookNotifier",
        "options": {"endpoints": [f"http://ozzy:{pw}@127.0.0.1:{port}/hook?token={pw}"]},
    }
    # a notification problem never fails the export
    return Setup(exporter_options={"notifications": [notifier]}, succeeds=True)


def webhook_connection(request: pytest.FixtureRequest, pw: str) -> Setup:
    headers = {"Authorization": f"Bearer {pw}"}  # HttpHook sends the extra as headers
    connection = _ozzy_login("http", f"http://127.0.0.1:{free_port()}", pw, extra=headers)
    notifier = {"name": "WebhookNotifier", "options": {"http_conn_id": "oz_http"}}
    return Setup({"oz_http": connection}, exporter_options={"notifications": [notifier]}, succeeds=True)


def _postgres_url(request: pytest.FixtureRequest, pw: str, port: int | None = None) -> tuple[str, Any]:
    server = request.getfixturevalue("postgresql_server")
    return f"postgresql://{server.user}:{pw}@{server.host}:{port or server.port}/{server.database}", server


def _table_holds(server: Any, table: str, pw: str) -> list[str]:
    engine = sqlalchemy.create_engine(server.url)
    try:
        with engine.begin() as connection:
            rows = connection.execute(sqlalchemy.text(f"SELECT * FROM {table}")).all()
            connection.execute(sqlalchemy.text(f"DROP TABLE IF EXISTS {table}"))
    finally:
        engine.dispose()
    return [f"table {table} holds the secret"] if pw in repr(rows) else []


def alchemy_url_ok(request: pytest.FixtureRequest, pw: str) -> Setup:
    url, server = _postgres_url(request, pw)  # trust logins: any password is accepted
    table = f"ozzy_secret_{secrets.token_hex(4)}"
    persistence = {"name": "AlchemyPersistence", "options": {"url": url, "table": table}}
    return Setup(
        sections={"persistence": persistence},
        succeeds=True,
        extra_check=lambda secret: _table_holds(server, table, secret),
    )


def _postgres_connection_ok(
    request: pytest.FixtureRequest, pw: str, section: str, name: str, conn_option: str, conn_id: str
) -> Setup:
    """Component ``name`` (config ``section``) writes a table of its own through connection ``conn_id``."""
    server = request.getfixturevalue("postgresql_server")
    table = f"ozzy_secret_{'out_' if section == 'writer' else ''}{secrets.token_hex(4)}"
    component = {"name": name, "options": {conn_option: conn_id, "table": table}}
    return Setup(
        {conn_id: postgres_connection(server, pw)},
        {section: component},
        succeeds=True,
        extra_check=lambda secret: _table_holds(server, table, secret),
    )


def _postgres_unreachable(
    request: pytest.FixtureRequest, pw: str, section: str, name: str, **options: Any
) -> Setup:
    """Component ``name`` (config ``section``) given a URL holding ``pw`` to a port nobody serves."""
    url, _ = _postgres_url(request, pw, port=free_port())
    return Setup(sections={section: {"name": name, "options": {"url": url, **options}}})


def alchemy_connection_ok(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _postgres_connection_ok(request, pw, "persistence", "AlchemyPersistence", "conn_id", "oz_state")


def alchemy_unreachable(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _postgres_unreachable(request, pw, "persistence", "AlchemyPersistence")


def kafka_sasl_unreachable(request: pytest.FixtureRequest, pw: str) -> Setup:
    extra = {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"}
    connection = _ozzy_login("ozzy_kafka", f"127.0.0.1:{free_port()}", pw, extra=extra)
    reader = {
        "name": "KafkaScannerReader",
        "options": {"kafka_conn_id": "oz_kafka", "topic": "t", "timeout": 3},
    }
    return Setup({"oz_kafka": connection}, {"reader": reader})


def scrapy_cloud_unreachable(request: pytest.FixtureRequest, pw: str) -> Setup:
    connection = {
        "conn_type": "ozzy_scrapy_cloud",
        "host": f"http://127.0.0.1:{free_port()}",
        "password": pw,
    }
    reader = {
        "name": "HubstorageReader",
        "options": {"scrapy_cloud_conn_id": "oz_sc", "project_id": 1, "collection_name": "c"},
    }
    return Setup({"oz_sc": connection}, {"reader": reader})


def sql_writer_ok(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _postgres_connection_ok(request, pw, "writer", "OdoWriter", "sql_conn_id", "oz_sql")


def sql_writer_unreachable(request: pytest.FixtureRequest, pw: str) -> Setup:
    return _postgres_unreachable(request, pw, "writer", "OdoWriter", table="t")


CASES: list[SecretCase] = [
    s3_connection_ok,
    s3_legacy_keys_ok,
    s3_unreachable,
    gcs_bad_service_account,
    azure_blob_connection_string,
    azure_blob_legacy_key,
    azure_files_connection_string,
    azure_files_legacy_key,
    sftp_wrong_password,
    sftp_legacy_password,
    sftp_key_passphrase,
    ftp_wrong_password,
    ftp_legacy_password,
    smtp_unreachable,
    webhook_url_token,
    webhook_connection,
    alchemy_url_ok,
    alchemy_connection_ok,
    alchemy_unreachable,
    kafka_sasl_unreachable,
    scrapy_cloud_unreachable,
    sql_writer_ok,
    sql_writer_unreachable,
]


# -- running and scanning -------------------------------------------------------------------------------


class _Records(logging.Handler):
    """Every log record, formatted with its traceback, as a worker's log file would hold it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def captured_logs() -> Iterator[_Records]:
    handler = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for number, old in saved.items():
            signal.signal(number, old)


def job_folder(tmp_path: Path, setup: Setup, monkeypatch: pytest.MonkeyPatch) -> Path:
    for conn_id, connection in setup.connections.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")  # put back by monkeypatch (the exporter sets it)
    write_json_lines_gz(tmp_path / "in" / "a.jl.gz", [{"id": number} for number in range(5)])
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/part-"}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
        "exporter_options": {"disable_retries": True, **setup.exporter_options},
    }
    config.update(setup.sections)
    write_config(tmp_path / "job.json", config)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_no_secret_in_cli_output_logs_errors_or_state(
    case: SecretCase, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pw = f"ozzy-pw-{secrets.token_hex(12)}"
    setup = case(request, pw)
    folder = job_folder(tmp_path, setup, monkeypatch)
    monkeypatch.chdir(folder)
    out, err = io.StringIO(), io.StringIO()
    error_text = ""
    with captured_logs() as logs, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["run", "job.json", "--quiet", "--job-id", "secret-job"])
        except Exception as error:  # --debug is off: only unexpected errors get here
            code = -1
            error_text = "".join(traceback.format_exception(error))
    outcome = f"exit {code}\nstdout: {out.getvalue()}\nstderr: {err.getvalue()}\n{error_text}"
    assert code != -1, f"an unexpected exception escaped the CLI:\n{outcome}"
    if setup.succeeds:
        assert code == 0, f"this export should succeed:\n{outcome}"
    else:
        assert code == 1, f"this export should fail when it meets the service:\n{outcome}"
    texts = {
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "log records": "\n".join(logs.lines),
        "exception": error_text,
    }
    problems = secret_leaks(folder, texts, pw)
    if setup.extra_check is not None:
        problems.extend(setup.extra_check(pw))
    assert not problems, "the secret leaked:\n" + "\n".join(problems) + f"\n{outcome}"


def test_real_command_with_debug_traceback_holds_no_secret(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ozzy --debug`` prints the traceback of a failed export: it must not carry the secret."""
    pw = f"ozzy-pw-{secrets.token_hex(12)}"
    setup = sftp_legacy_password(request, pw)
    folder = job_folder(tmp_path, setup, monkeypatch)
    result = run_ozzy("--debug", "run", "job.json", "--job-id", "debug-job", cwd=folder, timeout=300)
    assert result.returncode != 0
    assert "Traceback" in result.stderr, "--debug shows the traceback (else this test proves nothing)"
    assert not secret_hits(result.stdout + result.stderr, pw)
    state = (folder / "state" / "debug-job").read_bytes().decode("latin-1")
    assert not secret_hits(state, pw)


def test_resume_reads_secret_options_again_from_the_config_file(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job state holds no secret, yet ``ozzy resume`` reaches the destination: the secret option
    comes again from the config file the job was started from."""
    moto = request.getfixturevalue("moto_server")
    pw = f"ozzy-pw-{secrets.token_hex(12)}"
    bucket = moto.create_bucket()
    setup = s3_legacy_keys_ok(request, pw)
    setup.sections["writer"]["options"]["bucket"] = bucket
    folder = job_folder(tmp_path, setup, monkeypatch)
    (folder / "in" / "b.jl.gz").write_bytes(b"\x1f\x8b broken")
    failed = run_ozzy("run", "job.json", "--quiet", "--job-id", "resume-job", cwd=folder, timeout=300)
    assert failed.returncode == 1, failed.stderr
    assert not secret_hits((folder / "state" / "resume-job").read_bytes().decode("latin-1"), pw)

    write_json_lines_gz(folder / "in" / "b.jl.gz", [{"id": number} for number in range(5, 9)])
    resumed = run_ozzy("resume", "pickle:state/resume-job", "--quiet", cwd=folder, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    keys = [entry["Key"] for entry in moto.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys, "the resumed export wrote nothing"
    assert not secret_hits((folder / "state" / "resume-job").read_bytes().decode("latin-1"), pw)
    assert not secret_hits(resumed.stdout + resumed.stderr + failed.stdout + failed.stderr, pw)
