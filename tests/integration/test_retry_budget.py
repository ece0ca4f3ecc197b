"""A dead server fails a try in bounded time, with readable retry log lines.

Each case runs ``ozzy run`` in a child process against a port with nothing listening (or a stopped
server) and checks: exit 1, one ``ozzy: export failed`` line, an elapsed time within the job's retry
budget (``exporter_options.retry_attempts`` / ``retry_max_seconds``) plus a margin for start-up,
and retry log lines of the form ``S3 PutObject bucket/key: attempt 2 of 3 in 1.3 s: <error>``.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_ozzy, write_config, write_json_lines_gz

BUDGET = 20
START_MARGIN = 15.0  # interpreter, imports, Airflow-free start; generous for a loaded 2-core box
ATTEMPT_LINE = r": attempt (\d+) of (\d+) in (\d+\.\d) s: "


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def job(folder: Path, writer: dict[str, Any], exporter_options: dict[str, Any] | None = None) -> None:
    write_json_lines_gz(folder / "in" / "a.jl.gz", [{"id": number} for number in range(5)])
    write_config(
        folder / "job.json",
        {
            "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
            "writer": writer,
            "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
            "exporter_options": dict(exporter_options or {}),
        },
    )


def s3_writer(port: int) -> dict[str, Any]:
    return {
        "name": "S3Writer",
        "options": {
            "bucket": "ozzy-b",
            "filebase": "x/part-",
            "aws_access_key_id": "AKIAOZZYTEST",
            "aws_secret_access_key": "secret",
            "endpoint_url": f"http://127.0.0.1:{port}",
        },
    }


def sftp_writer(port: int) -> dict[str, Any]:
    options = {
        "filebase": "x/part-",
        "host": "127.0.0.1",
        "port": port,
        "sftp_user": "ozzy",
        "sftp_password": "pw",
        "no_host_key_check": True,
    }
    return {"name": "SFTPWriter", "options": options}


def ftp_writer(port: int) -> dict[str, Any]:
    options = {"filebase": "x/part-", "host": "127.0.0.1", "port": port, "ftp_user": "u", "ftp_password": "p"}
    return {"name": "FTPWriter", "options": options}


def azure_writer(port: int) -> dict[str, Any]:
    options = {
        "container": "ozzy-c",
        "account_name": "ozzy",
        "account_key": "b3p6eQ==",
        "account_url": f"http://127.0.0.1:{port}/ozzy",
    }
    return {"name": "AzureBlobWriter", "options": options}


WRITERS = {
    "S3": (s3_writer, r"S3 \w+ ozzy-b(/\S*)?"),
    "SFTP": (sftp_writer, r"SFTP [\w ]+ 127\.0\.0\.1:\d+/\S*"),
    "FTP": (ftp_writer, r"(?<!S)FTP [\w ]+ 127\.0\.0\.1:\d+/\S*"),
    "Azure": (azure_writer, r"Azure Blob \w+ ozzy-c(/\S*)?"),
}


def attempt_lines(stderr: str, prefix: str) -> list[tuple[int, int, float]]:
    found = re.findall(prefix + ATTEMPT_LINE, stderr)
    return [(int(number), int(total), float(wait)) for *_, number, total, wait in found]


# SFTP and FTP wait out their whole budget after importing Airflow's hooks: stress runs only
@pytest.mark.parametrize(
    "service",
    [pytest.param(name, marks=[pytest.mark.slow] if name in ("SFTP", "FTP") else []) for name in WRITERS],
)
def test_dead_server_fails_within_the_job_retry_budget(service: str, tmp_path: Path) -> None:
    make, prefix = WRITERS[service]
    # the budget counts from the first attempt, which for SFTP and FTP includes importing Airflow's hook
    job(tmp_path, make(closed_port()), {"retry_attempts": 3, "retry_max_seconds": BUDGET})
    started = time.monotonic()
    result = run_ozzy("run", "job.json", "--quiet", "--job-id", "dead", cwd=tmp_path, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("ozzy:")]
    assert len(failures) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < BUDGET + START_MARGIN, f"{elapsed:.1f} s\n{result.stderr}"
    logs = result.stdout + result.stderr  # Airflow's logging (SFTP, FTP hooks) writes to stdout
    lines = attempt_lines(logs, prefix)
    assert lines, f"no retry line of the form '{prefix}{ATTEMPT_LINE}':\n{logs}"
    assert lines[0][:2] == (2, 3), lines
    assert all(total == 3 for _, total, _ in lines)
    assert "<function" not in logs and "<bound method" not in logs


def test_default_budget_is_well_under_a_minute(tmp_path: Path) -> None:
    """Without retry options a dead S3 endpoint fails in about 20 s (5 attempts), not 94 s."""
    job(tmp_path, s3_writer(closed_port()))
    started = time.monotonic()
    result = run_ozzy("run", "job.json", "--quiet", "--job-id", "dead", cwd=tmp_path, timeout=75)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert elapsed < 30 + START_MARGIN, f"{elapsed:.1f} s\n{result.stderr}"
    lines = attempt_lines(result.stderr, r"S3 \w+ ozzy-b(/\S*)?")
    assert [number for number, _, _ in lines] == [2, 3, 4, 5], result.stderr
    assert all(total == 5 for _, total, _ in lines)


def test_disable_retries_tries_once(tmp_path: Path) -> None:
    job(tmp_path, s3_writer(closed_port()), {"disable_retries": True})
    result = run_ozzy("run", "job.json", "--quiet", "--job-id", "dead", cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    assert not attempt_lines(result.stderr, r"S3 \w+ \S+"), result.stderr


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"retry_attempts": 0}, "retry_attempts"),
        ({"retry_attempts": 1000}, "retry_attempts"),
        ({"retry_max_seconds": -1}, "retry_max_seconds"),
        ({"retry_max_seconds": 100000}, "retry_max_seconds"),
        ({"retry_attempts": "many"}, "retry_attempts"),
    ],
)
def test_retry_options_are_validated(options: dict[str, Any], named: str, tmp_path: Path) -> None:
    job(tmp_path, s3_writer(closed_port()), options)
    result = run_ozzy("validate", "job.json", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr, result.stderr
    assert "unknown option" not in result.stderr, "the option exists: its value is refused\n" + result.stderr


def test_two_exports_in_one_process_keep_their_own_budget(tmp_path: Path) -> None:
    """An export with ``disable_retries`` leaves no process-wide setting: the next export in the same
    process still retries with its own budget, and the environment is untouched."""
    for name, options in (
        ("once", {"disable_retries": True}),
        ("thrice", {"retry_attempts": 3, "retry_max_seconds": 20}),
    ):
        folder = tmp_path / name
        folder.mkdir()
        job(folder, s3_writer(closed_port()), options)
    script = textwrap.dedent(
        """
        import logging, os, sys
        from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        for name in ("once", "thrice"):
            os.chdir(os.path.join(sys.argv[1], name))
            print("== export", name, file=sys.stderr, flush=True)
            try:
                BasicExporter("job.json", job_id=name).export()
            except Exception as error:
                print("failed:", type(error).__name__, file=sys.stderr, flush=True)
            print("env:", os.environ.get("OZZY_DISABLE_RETRIES"), file=sys.stderr, flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=90
    )
    once, thrice = result.stderr.split("== export thrice")
    assert "env: None" in once and "env: None" in thrice, result.stderr
    assert not attempt_lines(once, r"S3 \w+ \S+"), once
    lines = attempt_lines(thrice, r"S3 \w+ \S+")
    assert [(number, total) for number, total, _ in lines] == [(2, 3), (3, 3)], thrice
