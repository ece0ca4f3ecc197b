"""A moto server (S3, SES and the rest of AWS) on a free 127.0.0.1 port: fixture ``moto_server``.

Started once per session with the venv's ``moto_server``, stopped at the end. The sender
``SENDER`` is verified for SES at start.

S3: ``create_bucket()`` makes a bucket with a fresh name; ``connection(endpoint_url=...)`` points an
Airflow connection at another endpoint (a ``fault_proxy`` in front of this server);
``enforcing_auth()`` makes moto check credentials inside the block (moto accepts any key
otherwise), so refused credentials can be tested against the real server.

Reading sent mails back: moto 5.2.5 has no SES inspection endpoint, and ``/moto-api/data.json``
answers 500 once any multipart upload happened in the process. So ``recording_mails()`` turns on
moto's request recorder (``/moto-api/recorder/*``) around a test and ``recorded_mails()`` parses the
``SendEmail`` / ``SendRawEmail`` requests it captured, keeping those from a verified sender (moto
rejects the others); ``sent_count()`` (``get_send_quota``) tells how many mails moto accepted.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from tests.servers.process_server import ServerProcess

SENDER = "ozzy@example.com"
REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


@dataclass
class SentMail:
    source: str
    to: list[str]
    subject: str
    body: str
    raw: bytes = b""  # the whole MIME message of a SendRawEmail (attachments included)


class MotoServer:
    def __init__(self, workdir: str) -> None:
        self.workdir = Path(workdir)
        self._server = ServerProcess("moto", workdir)
        self._buckets = 0

    @property
    def port(self) -> int:
        return self._server.port

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self, attempts: int = 3) -> None:
        binary = Path(sys.executable).parent / "moto_server"
        env = dict(os.environ, MOTO_RECORDER_FILEPATH=str(self.workdir / "recording.jsonl"))
        env.pop("MOTO_ENABLE_RECORDING", None)
        self._server.start(
            lambda port, _: [binary, "-H", "127.0.0.1", "-p", str(port)], env=env, attempts=attempts
        )
        self.client("ses").verify_email_identity(EmailAddress=SENDER)

    def stop(self) -> None:
        self._server.stop()

    # -- clients and connections -------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def connection(self, endpoint_url: str | None = None) -> dict[str, Any]:
        """An Airflow ``aws`` connection to this server (or ``endpoint_url``), for ``AIRFLOW_CONN_<ID>``."""
        return {
            "conn_type": "aws",
            "login": ACCESS_KEY,
            "password": SECRET_KEY,
            "extra": {"endpoint_url": endpoint_url or self.endpoint_url, "region_name": REGION},
        }

    def connection_json(self, endpoint_url: str | None = None) -> str:
        return json.dumps(self.connection(endpoint_url))

    # -- S3 ------------------------------------------------------------------------------------------------
    def create_bucket(self, prefix: str = "ozzy") -> str:
        """A new empty bucket with a unique name."""
        self._buckets += 1
        name = f"{prefix}-{self._buckets}-{os.getpid()}"
        self.client("s3").create_bucket(Bucket=name)
        return name

    @contextmanager
    def enforcing_auth(self) -> Iterator[None]:
        """Inside the block moto refuses requests signed with keys it does not know (all of ours)."""
        requests.post(f"{self.endpoint_url}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        try:
            yield
        finally:
            requests.post(
                f"{self.endpoint_url}/moto-api/reset-auth", data=b"inf", timeout=10
            ).raise_for_status()

    # -- SES inspection ----------------------------------------------------------------------------
    def sent_count(self) -> int:
        """Recipients of the mails moto accepted so far (moto counts one per recipient; whole session)."""
        return int(self.client("ses").get_send_quota()["SentLast24Hours"])

    @contextmanager
    def recording_mails(self) -> Iterator[None]:
        """Record the requests made to moto inside the block (and only those)."""
        requests.post(f"{self.endpoint_url}/moto-api/recorder/reset-recording", timeout=10).raise_for_status()
        requests.post(f"{self.endpoint_url}/moto-api/recorder/start-recording", timeout=10).raise_for_status()
        try:
            yield
        finally:
            requests.post(f"{self.endpoint_url}/moto-api/recorder/stop-recording", timeout=10)

    def recorded_mails(self) -> list[SentMail]:
        """Mails sent from a verified address while recording, oldest first."""
        answer = requests.get(f"{self.endpoint_url}/moto-api/recorder/download-recording", timeout=10)
        answer.raise_for_status()
        verified = set(self.client("ses").list_verified_email_addresses()["VerifiedEmailAddresses"])
        mails = []
        for line in answer.text.splitlines():
            if line.strip():
                mail = _mail_of(json.loads(line))
                if mail is not None and _address(mail.source) in verified:
                    mails.append(mail)
        return mails


def _mail_of(entry: dict[str, Any]) -> SentMail | None:
    body = entry.get("body") or ""
    raw = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
    if entry.get("method") != "POST" or b"Action=Send" not in raw:
        return None
    form = {key: values[0] for key, values in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    action = form.get("Action")
    if action == "SendEmail":
        to = _members(form, "Destination.ToAddresses.member.")
        text = form.get("Message.Body.Text.Data") or form.get("Message.Body.Html.Data", "")
        return SentMail(form.get("Source", ""), to, form.get("Message.Subject.Data", ""), text)
    if action == "SendRawEmail":
        message = email.message_from_bytes(
            base64.b64decode(form["RawMessage.Data"]), policy=email.policy.default
        )
        part = message.get_body(preferencelist=("plain", "html"))
        to = _members(form, "Destinations.member.")
        return SentMail(
            form.get("Source", ""),
            to,
            str(message.get("Subject", "")),
            part.get_content() if part is not None else "",  # type: ignore[attr-defined]
            base64.b64decode(form["RawMessage.Data"]),
        )
    return None


def _members(form: dict[str, str], prefix: str) -> list[str]:
    found = [(int(key[len(prefix) :]), value) for key, value in form.items() if key.startswith(prefix)]
    return [value for _, value in sorted(found)]


def _address(source: str) -> str:
    return email.utils.parseaddr(source)[1]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with tempfile.TemporaryDirectory(prefix="ozzy-moto-") as workdir:
        server = MotoServer(workdir)
        server.start()
        try:
            yield server
        finally:
            server.stop()
