"""Secrets in URLs, in every shape, never reach a message, a log line, a job state or a temp file.

A corpus of secret shapes (``SHAPES``): a password in a URL's userinfo, plain, with raw ``/ : @ %``
in it, and percent-encoded; a token as a URL path segment (Slack-style webhook); and tokens in
query parameters (``token=``, ``sig=`` of an Azure SAS, ``X-Amz-Signature=`` of a presigned URL).
Each shape is put into options that are URLs (S3 ``endpoint_url``, Azure ``account_url``, webhook
``endpoints``) of real ``ozzy run`` / ``ozzy resume`` processes, against real servers or a port
with nothing listening; the scan covers stdout, stderr (log lines included), every file the job
left (Pickle job state, AlchemyPersistence's SQLite database) and the process's temp folder.
"""

from __future__ import annotations

import base64
import secrets
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_ozzy, secret_hits, secret_leaks, write_config, write_json_lines_gz
from tests.servers.process_server import free_port


def new_secret() -> str:
    return f"ozzyPW{secrets.token_hex(10)}"


# shape name -> URL holding ``pw`` at ``hostport``
SHAPES: dict[str, Callable[[str, str], str]] = {
    "userinfo": lambda pw, at: f"http://ozzy:{pw}@{at}/",
    "userinfo_raw_slash_colon_at_percent": lambda pw, at: f"http://ozzy:{pw}/x:y@z%2@{at}/",
    "userinfo_percent_encoded": lambda pw, at: (
        f"http://ozzy:{urllib.parse.quote(pw + '/:@%', safe='')}@{at}/"
    ),
    "path_token": lambda pw, at: f"http://{at}/services/T0001AB/B0002CD/{pw}",
    "query_token": lambda pw, at: f"http://{at}/hook?channel=ops&token={pw}",
    "query_sas_sig": lambda pw, at: f"http://{at}/ozzy?sv=2021-08-06&sp=rw&sig={pw}",
    "query_amz_signature": lambda pw, at: (
        f"http://{at}/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={pw}&X-Amz-Expires=60"
    ),
}


def job(folder: Path, sections: dict[str, Any], exporter_options: dict[str, Any] | None = None) -> Path:
    write_json_lines_gz(folder / "in" / "a.jl.gz", [{"id": number} for number in range(5)])
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/part-"}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
        "exporter_options": dict(exporter_options or {}),
    }
    config.update(sections)
    write_config(folder / "job.json", config)
    (folder / "tmp").mkdir(exist_ok=True)
    return folder


def ozzy(folder: Path, *args: str, timeout: float = 120) -> Any:
    # a private temp folder, scanned with the rest of the job folder; one attempt per operation
    env = {"TMPDIR": str(folder / "tmp"), "OZZY_DISABLE_RETRIES": "1"}
    return run_ozzy(*args, cwd=folder, timeout=timeout, env=env)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_s3_endpoint_url_secret_is_in_no_output_and_no_state(shape: str, tmp_path: Path) -> None:
    pw = new_secret()
    url = SHAPES[shape](pw, f"127.0.0.1:{free_port()}")
    writer = {
        "name": "S3Writer",
        "options": {
            "bucket": "ozzy-b",
            "filebase": "x/part-",
            "aws_access_key_id": "AKIAOZZYTEST",
            "aws_secret_access_key": "not-the-secret",
            "endpoint_url": url,
        },
    }
    folder = job(tmp_path, {"writer": writer})
    result = ozzy(folder, "run", "job.json", "--quiet", "--job-id", "s3-shape")
    assert result.returncode == 1, result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("ozzy:")]
    assert len(failures) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    problems = secret_leaks(folder, {"stdout": result.stdout, "stderr": result.stderr}, pw)
    assert not problems, "the secret leaked:\n" + "\n".join(problems)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_webhook_endpoint_secret_is_in_no_output_and_no_state(shape: str, tmp_path: Path) -> None:
    """A notifier that cannot deliver logs why (and the export goes on): never with its URL's secret."""
    pw = new_secret()
    url = SHAPES[shape](pw, f"127.0.0.1:{free_port()}")
    notifier = {"name": "WebhookNotifier", "options": {"endpoints": [url]}}
    folder = job(tmp_path, {}, {"notifications": [notifier]})
    result = ozzy(folder, "run", "job.json", "--job-id", "hook-shape")
    assert result.returncode == 0, result.stderr
    assert "WebhookNotifier" in result.stderr or "webhook" in result.stderr.lower(), (
        "the failed delivery is logged (else this test proves nothing)\n" + result.stderr
    )
    problems = secret_leaks(folder, {"stdout": result.stdout, "stderr": result.stderr}, pw)
    assert not problems, "the secret leaked:\n" + "\n".join(problems)


@pytest.mark.parametrize("shape", ["userinfo", "query_sas_sig", "path_token"])
def test_azure_account_url_secret_is_in_no_output_and_no_state(shape: str, tmp_path: Path) -> None:
    pw = new_secret()
    url = SHAPES[shape](pw, f"127.0.0.1:{free_port()}")
    options = {
        "container": "ozzy-c",
        "account_name": "ozzy",
        "account_key": base64.b64encode(b"not-the-secret").decode(),
        "account_url": url,
    }
    folder = job(tmp_path, {"writer": {"name": "AzureBlobWriter", "options": options}})
    result = ozzy(folder, "run", "job.json", "--quiet", "--job-id", "azure-shape")
    assert result.returncode == 1, result.stderr
    problems = secret_leaks(folder, {"stdout": result.stdout, "stderr": result.stderr}, pw)
    assert not problems, "the secret leaked:\n" + "\n".join(problems)


def test_alchemy_sqlite_state_holds_no_url_secret(tmp_path: Path) -> None:
    """The job configuration AlchemyPersistence stores (SQLite here) has every URL redacted."""
    pw_hook = new_secret()
    hook = SHAPES["path_token"](pw_hook, f"127.0.0.1:{free_port()}")
    notifier = {"name": "WebhookNotifier", "options": {"endpoints": [hook]}}
    persistence = {"name": "AlchemyPersistence", "options": {"url": "sqlite:///state.db"}}
    folder = job(tmp_path, {"persistence": persistence}, {"notifications": [notifier]})
    result = ozzy(folder, "run", "job.json", "--quiet", "--job-id", "alchemy-shape")
    assert result.returncode == 0, result.stderr
    assert (folder / "state.db").is_file()
    problems = secret_leaks(folder, {"stdout": result.stdout, "stderr": result.stderr}, pw_hook)
    assert not problems, "the secret leaked:\n" + "\n".join(problems)


def test_webhook_path_token_not_stored_yet_resume_notifies_the_full_url(
    tmp_path: Path, http_server: Any
) -> None:
    """The job state holds the webhook URL without its token; ``ozzy resume`` reads the endpoint
    again from the config file and delivers to the full URL."""
    http_server.reset()
    pw = new_secret()
    path = f"/services/T0001AB/B0002CD/{pw}"
    notifier = {
        "name": "WebhookNotifier",
        "options": {"endpoints": [f"http://127.0.0.1:{http_server.port}{path}"]},
    }
    folder = job(tmp_path, {}, {"notifications": [notifier]})
    (folder / "in" / "b.jl.gz").write_bytes(b"\x1f\x8b broken")
    failed = ozzy(folder, "run", "job.json", "--quiet", "--job-id", "hook-resume")
    assert failed.returncode == 1, failed.stderr
    state = folder / "state" / "hook-resume"
    assert state.is_file()
    assert not secret_hits(state.read_bytes().decode("latin-1"), pw), "the job state holds the webhook token"

    write_json_lines_gz(folder / "in" / "b.jl.gz", [{"id": number} for number in range(5, 9)])
    resumed = ozzy(folder, "resume", "pickle:state/hook-resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    statuses = [(request.json or {}).get("job_status") for request in http_server.requests(path)]
    assert "COMPLETED" in statuses, f"the resumed job did not notify the full URL: {statuses}"
    problems = secret_leaks(
        folder,
        {"stdout": failed.stdout + resumed.stdout, "stderr": failed.stderr + resumed.stderr},
        pw,
    )
    assert not problems, "the secret leaked:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "template",
    [
        "postgres://ozzy:{pw}/x@db.example/db/job",  # unknown scheme: the password has a '/'
        "postgres://ozzy:{pw}@db.example/db/job",
        "mongodb://ozzy:{pw}:x@y@db.example/db/job",
        "postgresql://ozzy:{pw}/x@127.0.0.1:{port}/db/job",  # known scheme, nothing listening
    ],
)
def test_resume_uri_password_is_never_printed(template: str, tmp_path: Path) -> None:
    pw = new_secret()
    uri = template.format(pw=pw, port=free_port())
    (tmp_path / "tmp").mkdir()
    result = ozzy(tmp_path, "resume", uri, "--quiet")
    assert result.returncode != 0
    assert result.stderr.strip(), "the refusal is explained"
    problems = secret_leaks(tmp_path, {"stdout": result.stdout, "stderr": result.stderr}, pw)
    assert not problems, "the secret leaked:\n" + "\n".join(problems)
