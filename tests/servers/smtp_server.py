"""An SMTP server (aiosmtpd ``Controller``) that records every message: fixture ``smtp_server``.

Logins are required (AUTH PLAIN/LOGIN without TLS, user ``USER``, password ``PASSWORD``), as on a
real relay; a wrong password gets ``535``. Every accepted message is recorded with its envelope
and parsed with the standard library. One server per test session on a free 127.0.0.1 port; tests
call ``reset()`` first.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers.process_server import free_port

USER = "ozzy-mailer"
PASSWORD = "smtp-pass/Zq8!x"


@dataclass
class ReceivedMail:
    envelope_from: str
    envelope_to: list[str]
    login: str | None
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def attachments(self) -> dict[str, bytes]:
        """File name -> decoded content of every attachment."""
        found = {}
        for part in self.message.iter_attachments():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[str(part.get_filename())] = payload
        return found

    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain", "html"))
        return body.get_content() if body is not None else ""  # type: ignore[attr-defined]


class _Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mails: list[ReceivedMail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else session.auth_data
        with self.lock:
            self.mails.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), login, message)  # type: ignore[arg-type]
            )
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    if isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode():
        if auth_data.password == PASSWORD.encode():
            return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)


class SMTPServer:
    def __init__(self) -> None:
        self._recorder = _Recorder()
        self._controller: Controller | None = None
        self.port = 0

    def start(self) -> None:
        self.port = free_port()
        self._controller = Controller(
            self._recorder,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            auth_required=True,
            auth_require_tls=False,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def reset(self) -> None:
        with self._recorder.lock:
            self._recorder.mails.clear()

    def mails(self) -> list[ReceivedMail]:
        with self._recorder.lock:
            return list(self._recorder.mails)

    def connection(self, password: str = PASSWORD, port: int | None = None) -> dict[str, Any]:
        """An Airflow ``smtp`` connection to this server (plain SMTP, no TLS), for ``AIRFLOW_CONN_<ID>``."""
        return {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port or self.port,
            "login": USER,
            "password": password,
            "extra": {"disable_tls": True, "disable_ssl": True, "timeout": 10, "retry_limit": 1},
        }

    def connection_json(self, password: str = PASSWORD, port: int | None = None) -> str:
        return json.dumps(self.connection(password, port))


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
