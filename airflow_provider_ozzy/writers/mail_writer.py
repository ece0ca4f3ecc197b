"""``MailWriter``: every finished file is e-mailed as an attachment, through SMTP or Amazon SES.

Each recipient gets their own copy of every mail (recipients never see each other's address), as
exporters did. The transport is SMTP when ``smtp_conn_id`` names an Airflow SMTP connection (the
smtp provider's ``SmtpHook``: host, port, TLS, login), otherwise Amazon SES: an Airflow AWS
connection (``aws_conn_id``, through the Amazon provider's hook) or exporters' key options and
their ``EXPORTERS_MAIL_AWS_*`` variables.

Delivery is at-least-once: a mail sent after the last commit is sent again when the job resumes
(the file is rebuilt with the same content and the same attachment name), and when one recipient
fails permanently the others of that file may already have their copy.
"""

from __future__ import annotations

import datetime
import html
import os
import shutil
import smtplib
import tempfile
from typing import Any

from airflow_provider_ozzy.core.compression import suffix
from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.path_safety import safe_segment
from airflow_provider_ozzy.core.retries import TransientError, retrying
from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.services.aws import (
    as_retryable,
    aws_client,
    error_text,
    uses_connection,
)
from airflow_provider_ozzy.services.mail import MAIL_ADDRESS
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import BaseWriter

ATTEMPTS = 5
# SES refuses messages over 10 MB once encoded; base64 makes an attachment 4/3 as large.
DEFAULT_MAX_ATTACHMENT_SIZE = 7_000_000


class MailWriter(BaseWriter):
    """Sends each finished file as an e-mail attachment to every address in ``emails``."""

    supported_options = {
        "emails": {"type": "str_list", "help": "Recipients; each gets their own copy of every mail."},
        "subject": {"type": str, "help": "Subject of every mail."},
        "from": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": "EXPORTERS_MAIL_FROM",
            "help": "Sender address (SES-verified for SES). With SMTP, default: the connection's from_email.",
        },
        "max_mails_sent": {
            "type": int,
            "minimum": 1,
            "maximum": 1_000_000,
            "default": 5,
            "help": "Most files mailed by one job; the next file fails the export.",
        },
        "file_name": {
            "type": (str, type(None)),
            "default": None,
            "help": "Attachment name prefix: strftime codes and {date}; the file number and "
            "extension follow (some_file_0.jl.gz).",
        },
        "max_attachment_size": {
            "type": int,
            "minimum": 1,
            "maximum": 2**40,
            "default": DEFAULT_MAX_ATTACHMENT_SIZE,
            "help": "Largest attachment in bytes (compressed); a larger file fails the export "
            "before any mail of it is sent.",
        },
        "smtp_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": "Airflow SMTP connection: send through that server instead of Amazon SES.",
        },
        "aws_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": "Airflow AWS connection for SES. Used when set, and when no keys are given "
            "(then aws_default).",
        },
        "access_key": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": "EXPORTERS_MAIL_AWS_ACCESS_KEY",
            "secret": True,
            "help": "Legacy: AWS access key id for SES (prefer aws_conn_id).",
        },
        "secret_key": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": "EXPORTERS_MAIL_AWS_SECRET_KEY",
            "secret": True,
            "help": "Legacy: AWS secret access key for SES (prefer aws_conn_id).",
        },
        "region_name": {
            "type": (str, type(None)),
            "default": None,
            "help": "SES region; default: the connection's, or us-east-1 with keys.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.name_prefix = ""
        self._ses: Any = None

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if not values["emails"]:
            problems.append(Problem("emails", "option 'emails' must list at least one address"))
        for address in values["emails"]:
            if not MAIL_ADDRESS.fullmatch(address):
                problems.append(Problem("emails", f"emails: {address!r} is not an e-mail address"))
        sender = values["from"]
        if sender is not None and not MAIL_ADDRESS.fullmatch(sender):
            problems.append(Problem("from", f"from: {sender!r} is not an e-mail address"))
        if sender is None and not values["smtp_conn_id"]:
            problems.append(
                Problem("from", "option 'from' is needed to send through SES (or set EXPORTERS_MAIL_FROM)")
            )
        if values["smtp_conn_id"] and values["aws_conn_id"]:
            problems.append(
                Problem("smtp_conn_id", "give smtp_conn_id (SMTP) or aws_conn_id (SES), not both")
            )
        if bool(values["access_key"]) != bool(values["secret_key"]):
            problems.append(
                Problem("access_key", "give both access_key and secret_key, or neither (use aws_conn_id)")
            )
        for option in ("max_mails_sent", "max_attachment_size"):
            if values[option] <= 0:
                problems.append(Problem(option, f"option '{option}' must be positive, got {values[option]}"))
        return problems

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        template = self.options["file_name"]
        if template:
            now = datetime.datetime.now(datetime.UTC)
            self.name_prefix = now.strftime(template.format(date=now))
        super().open(formatter, state)

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        self.name_prefix = state.get("name_prefix", self.name_prefix)

    def state(self, routed_at_watermark: dict[GroupKey, int], accepted_at_watermark: int) -> dict[str, Any]:
        state = super().state(routed_at_watermark, accepted_at_watermark)
        state["name_prefix"] = self.name_prefix  # a resume next day resends under the same names
        return state

    # -- delivery -----------------------------------------------------------------------------------
    def attachment_name(self, finished: FinishedFile, counter: int) -> str:
        """exporters' name (``<file_name><files mailed so far>.<ext>[.<compression>]``), plus the groups."""
        groups = "".join(f"-{safe_segment(value)}" for value in finished.group)
        extension = self.formatter.file_extension if self.formatter else "txt"
        return f"{self.name_prefix}{counter}{groups}.{extension}{suffix(self.options['compression'])}"

    def write_file(self, finished: FinishedFile, number: int) -> str:
        counter = self.files_written  # kept in the job state, so a resume numbers files the same way
        name = self.attachment_name(finished, counter)
        limit = self.options["max_mails_sent"]
        if counter >= limit:
            raise WriterError(
                f"MailWriter: max_mails_sent reached: {counter} file(s) mailed, {name} is not sent "
                f"(raise max_mails_sent, or put more items in each file with items_per_buffer_write)"
            )
        if finished.size > self.options["max_attachment_size"]:
            raise WriterError(
                f"MailWriter: {name} has {finished.size} bytes, more than max_attachment_size "
                f"({self.options['max_attachment_size']} bytes); nothing of it was sent. Lower "
                f"items_per_buffer_write or size_per_buffer_write, or raise max_attachment_size if "
                f"the mail server accepts larger messages"
            )
        body = _body(name, finished)
        folder = tempfile.mkdtemp(prefix="ozzy-mail-", dir=os.path.dirname(finished.path) or None)
        try:
            attachment = os.path.join(folder, name)
            _link_or_copy(finished.path, attachment)
            for recipient in self.options["emails"]:
                self._send(recipient, body, attachment)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.log.info("MailWriter: %s mailed to %d recipient(s)", name, len(self.options["emails"]))
        return name

    def _send(self, recipient: str, body: str, attachment: str) -> None:
        send = self._send_smtp if self.options["smtp_conn_id"] else self._send_ses
        try:
            retrying(ATTEMPTS)(lambda: send(recipient, body, attachment))
        except WriterError:
            raise
        except Exception as error:
            raise WriterError(
                f"MailWriter: cannot send {os.path.basename(attachment)} to {recipient} "
                f"{self._transport_text()}: {error_text(error)}"
            ) from None

    def _transport_text(self) -> str:
        if self.options["smtp_conn_id"]:
            return f"through SMTP (connection {self.options['smtp_conn_id']!r})"
        if uses_connection(
            self.options["aws_conn_id"], self.options["access_key"], self.options["secret_key"]
        ):
            return f"through SES (connection {self.options['aws_conn_id'] or 'aws_default'!r})"
        return "through SES (access_key/secret_key options)"

    def _send_smtp(self, recipient: str, body: str, attachment: str) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        conn_id = self.options["smtp_conn_id"]
        hook = SmtpHook(smtp_conn_id=conn_id)
        try:
            with hook:
                hook.send_email_smtp(
                    to=[recipient],
                    subject=self.options["subject"],
                    html_content=body,
                    from_email=self.options["from"],
                    files=[attachment],
                )
        except Exception as error:
            raise _smtp_error(error, hook, conn_id) from None

    def _send_ses(self, recipient: str, body: str, attachment: str) -> None:
        from airflow.utils.email import build_mime_message

        message, _ = build_mime_message(
            mail_from=self.options["from"],
            to=[recipient],
            subject=self.options["subject"],
            html_content=body,
            files=[attachment],
        )
        try:
            if self._ses is None:
                self._ses = aws_client(
                    "ses",
                    aws_conn_id=self.options["aws_conn_id"],
                    access_key=self.options["access_key"],
                    secret_key=self.options["secret_key"],
                    region_name=self.options["region_name"],
                )
            self._ses.send_raw_email(
                Source=self.options["from"],
                Destinations=[recipient],
                RawMessage={"Data": message.as_string()},
            )
        except Exception as error:
            raise as_retryable(error) from None


def _body(name: str, finished: FinishedFile) -> str:
    """exporters' body (file name, size, records), as the HTML the hooks send."""
    lines = [f"File Name: {name}", f"Size: {finished.size}", f"Number of Records: {finished.records}"]
    return "<br>\n".join(html.escape(line) for line in lines) + "\n"


def _link_or_copy(source: str, target: str) -> None:
    """The attachment is named after its path: give the buffer file its name without copying it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _smtp_error(error: Exception, hook: Any, conn_id: str) -> Exception:
    """SMTP failures with the server they concern; transient ones in a form the retry policy retries."""
    server = _smtp_server(hook, conn_id)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        user = getattr(hook.smtp_connection, "login", None) if hook.smtp_connection else None
        return WriterError(
            f"MailWriter: SMTP server {server} refused the login of user {user!r} "
            f"(connection {conn_id!r}): {error.smtp_code} {_smtp_text(error.smtp_error)}"
        )
    if isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)):
        return ConnectionError(f"SMTP server {server}: {error_text(error)}")
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address}: {code} {_smtp_text(text)}" for address, (code, text) in error.recipients.items()
        )
        return WriterError(f"MailWriter: SMTP server {server} refused the recipient ({refused})")
    if isinstance(error, smtplib.SMTPResponseException):
        text = f"SMTP server {server} answered {error.smtp_code} {_smtp_text(error.smtp_error)}"
        return (
            TransientError(text, 503) if 400 <= error.smtp_code < 500 else WriterError(f"MailWriter: {text}")
        )
    if isinstance(error, TimeoutError):
        return TimeoutError(f"SMTP server {server} did not answer in time")
    if isinstance(error, OSError):
        if error.errno:
            return type(error)(error.errno, f"SMTP server {server}: {error.strerror or error}")
        return ConnectionError(f"SMTP server {server}: {error_text(error)}")
    if type(error).__name__ == "AirflowException" and "Unable to connect" in str(error):
        # SmtpHook gave up connecting (refused, reset): a network fault, retried like the others
        return ConnectionError(f"SMTP server {server}: {error}")
    if type(error).__name__ in ("AirflowException", "AirflowNotFoundException"):
        return WriterError(f"MailWriter: SMTP connection {conn_id!r}: {error}")
    return error


def _smtp_server(hook: Any, conn_id: str) -> str:
    connection = getattr(hook, "smtp_connection", None)
    if connection is None:
        return f"of connection {conn_id!r}"
    return f"{connection.host or 'localhost'}:{connection.port or 'default port'}"


def _smtp_text(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
