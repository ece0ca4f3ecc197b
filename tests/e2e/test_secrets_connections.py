"""Through the operator (``dag.test()``): no connection's secret in task logs, XComs, rendered
fields, Airflow's database or the export's files, for every connection type Ozzy uses.

The connection cases are those of ``tests/integration/test_secrets_cli.py`` that reach their
service through an Airflow connection (legacy secret options and tokens in webhook URLs would be
written into the DAG file itself, so Airflow keeps them in the serialized DAG whatever Ozzy does:
only the CLI test covers them). Exports that succeed and exports that fail (wrong password,
unreachable host) both run; failures log an error and a traceback. Six cases run by default, one
per kind of service, the rest with ``-m slow``.
"""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import load_dag
from tests.e2e.test_secrets import _hits_in_files, _xcoms_and_rendered_fields, task_log  # noqa: F401
from tests.helpers import secret_hits, write_json_lines_gz
from tests.integration import test_secrets_cli as cli_cases

DEFAULT = {
    "s3_connection_ok",
    "sftp_wrong_password",
    "webhook_connection",
    "alchemy_connection_ok",
    "kafka_sasl_unreachable",
    "gcs_bad_service_account",
}
CONNECTION_CASES = [
    case
    for case in cli_cases.CASES
    if case.__name__
    not in {
        "s3_legacy_keys_ok",
        "azure_blob_legacy_key",
        "azure_files_legacy_key",
        "sftp_legacy_password",
        "webhook_url_token",
        "ftp_legacy_password",
        "alchemy_url_ok",
        "alchemy_unreachable",
        "sql_writer_unreachable",
    }
]
PARAMS = [
    pytest.param(case, id=case.__name__, marks=() if case.__name__ in DEFAULT else pytest.mark.slow)
    for case in CONNECTION_CASES
]


@pytest.mark.parametrize("case", PARAMS)
def test_no_connection_secret_reaches_airflow(
    case: Any,
    airflow_db: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    task_log: io.StringIO,  # noqa: F811
) -> None:
    password = f"ozzy-pw-{secrets.token_hex(12)}"
    setup: cli_cases.Setup = case(request, password)
    for conn_id, connection in setup.connections.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    write_json_lines_gz(tmp_path / "in" / "a.jl.gz", [{"id": number} for number in range(5)])
    monkeypatch.setenv("OZZY_E2E_SECRET_FOLDER", str(tmp_path))
    monkeypatch.setenv(
        "OZZY_E2E_SECRET_SECTIONS",
        json.dumps({"sections": setup.sections, "exporter_options": setup.exporter_options}),
    )

    run = load_dag("ozzy_secret_connections.py", "ozzy_e2e_secret_connections").test()
    captured = capfd.readouterr()
    log = task_log.getvalue() + captured.out + captured.err

    assert run.state == ("success" if setup.succeeds else "failed"), log[-3000:]
    if not setup.succeeds:
        assert "Traceback" in log or "Error" in log, "the failure is logged (else the scan proves little)"
    xcoms, rendered = _xcoms_and_rendered_fields(run)
    problems = [f"task log: {hit}" for hit in secret_hits(log, password)]
    problems += [f"xcom: {hit}" for hit in secret_hits(json.dumps(xcoms, default=str), password)]
    problems += [f"rendered: {hit}" for hit in secret_hits(json.dumps(rendered, default=str), password)]
    problems += [f"airflow home: {path}" for path in _hits_in_files(Path(airflow_db), password.encode())]
    problems += [f"job folder: {path}" for path in _hits_in_files(tmp_path, password.encode())]
    if setup.extra_check is not None:
        problems += setup.extra_check(password)
    assert not problems, "the secret leaked:\n" + "\n".join(problems)
