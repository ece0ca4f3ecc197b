"""``SESMailNotifier``: exporters' start, finish and failure mails, sent through Amazon SES.

Start and finish mails go to the client and the team, failures to the team only; nothing is sent
to an empty list. Credentials come from an Airflow AWS connection (``aws_conn_id``, resolved by the
Amazon provider's ``SesHook`` when a mail is sent, never at validation), or from exporters' key
options and their ``EXPORTERS_MAIL_AWS_*`` variables for legacy configs. Failure mails carry the
configuration with its secrets redacted; the keys themselves are never printed.
"""

from __future__ import annotations

import json
import os
from typing import Any

from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.retries import retrying
from airflow_provider_ozzy.notifications.base_notifier import (
    COMPLETED,
    RETRYING,
    STARTED,
    BaseNotifier,
    JobEvent,
)
from airflow_provider_ozzy.services.aws import DEFAULT_REGION, as_retryable, aws_client, error_text
from airflow_provider_ozzy.services.mail import MAIL_ADDRESS

ATTEMPTS = 5
# Writer options the start mail shows, as exporters did (``emails`` is MailWriter's option).
_WRITER_DETAILS = (
    ("bucket", "Bucket"),
    ("filebase", "Filebase"),
    ("host", "Host"),
    ("port", "Port"),
    ("emails", "Emails"),
    ("email", "Email"),
    ("endpoint_url", "Endpoint URL"),
)
_AIRFLOW_FIELDS = (
    ("dag_id", "DAG"),
    ("task_id", "Task"),
    ("run_id", "Run"),
    ("try_number", "Try"),
)


class SESMailNotifier(BaseNotifier):
    """E-mails the start, the end and the failure of an export through Amazon SES."""

    supported_options = {
        "team_mails": {"type": "str_list", "default": [], "help": "Team addresses: every mail."},
        "client_mails": {
            "type": "str_list",
            "default": [],
            "help": "Client addresses: start and finish mails, never failures.",
        },
        "client_name": {"type": str, "default": "Customer", "help": "Client name used in subjects."},
        "mail_from": {"type": str, "env_fallback": "EXPORTERS_MAIL_FROM", "help": "Sender (SES-verified)."},
        "aws_conn_id": {
            "type": (str, type(None)),
            "default": None,
            "help": "Airflow AWS connection for SES (region, endpoint, credentials). Used when set, "
            "and when no keys are given (then aws_default).",
        },
        "access_key": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": "EXPORTERS_MAIL_AWS_ACCESS_KEY",
            "secret": True,
            "help": "Legacy: AWS access key id (prefer aws_conn_id).",
        },
        "secret_key": {
            "type": (str, type(None)),
            "default": None,
            "env_fallback": "EXPORTERS_MAIL_AWS_SECRET_KEY",
            "secret": True,
            "help": "Legacy: AWS secret access key (prefer aws_conn_id).",
        },
        "region_name": {
            "type": (str, type(None)),
            "default": None,
            "help": f"SES region; default: the connection's, or {DEFAULT_REGION} with keys.",
        },
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = []
        for option in ("team_mails", "client_mails"):
            for address in values[option]:
                if not MAIL_ADDRESS.fullmatch(address):
                    problems.append(Problem(option, f"{option}: {address!r} is not an e-mail address"))
        if not MAIL_ADDRESS.fullmatch(values["mail_from"]):
            problems.append(
                Problem("mail_from", f"mail_from: {values['mail_from']!r} is not an e-mail address")
            )
        if bool(values["access_key"]) != bool(values["secret_key"]):
            problems.append(
                Problem("access_key", "give both access_key and secret_key, or neither (use aws_conn_id)")
            )
        return problems

    def notify(self, event: JobEvent) -> None:
        if event.status not in (STARTED, COMPLETED) and not event.is_failure:
            return
        team, clients = self.options["team_mails"], self.options["client_mails"]
        receivers = list(dict.fromkeys(team if event.is_failure else [*clients, *team]))
        if not receivers:
            self.log.debug("SESMailNotifier: no receivers for the %s mail", event.status)
            return
        subject, body = self.compose(event)
        try:
            retrying(ATTEMPTS, what="SES SendEmail")(lambda: self._send(receivers, subject, body))
        except Exception as error:
            self.log.warning(
                "SESMailNotifier: %s mail to %d receiver(s) not sent: %s",
                event.status,
                len(receivers),
                error_text(error),
            )
        else:
            self.log.info("SESMailNotifier: %s mail sent to %d receiver(s)", event.status, len(receivers))

    def compose(self, event: JobEvent) -> tuple[str, str]:
        """Subject and plain-text body of the mail for ``event``."""
        client = self.options["client_name"]
        if event.status == STARTED:
            return f"Started {client} export job", _started_body(event)
        if event.status == COMPLETED:
            return f"{client} export job finished", _completed_body(event)
        subject = f"Failed export job for {client}"
        if event.status == RETRYING:
            subject += f" (try {event.job.get('try_number', '?')}, will be retried)"
        return subject, _failed_body(event)

    def _client(self) -> Any:
        return aws_client(
            "ses",
            aws_conn_id=self.options["aws_conn_id"],
            access_key=self.options["access_key"],
            secret_key=self.options["secret_key"],
            region_name=self.options["region_name"],
        )

    def _send(self, receivers: list[str], subject: str, body: str) -> None:
        try:
            self._client().send_email(
                Source=self.options["mail_from"],
                Destination={"ToAddresses": receivers},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except Exception as error:
            raise as_retryable(error) from None


def _started_body(event: JobEvent) -> str:
    lines = ["Export job started with following parameters:", ""]
    writer = (event.configuration or {}).get("writer") or {}
    if writer.get("name"):
        lines.append(f"Writer: {str(writer['name']).rsplit('.', 1)[-1]}")
    options = writer.get("options") or {}
    for option, label in _WRITER_DETAILS:
        if options.get(option):
            value = options[option]
            lines.append(f"{label}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    if options.get("collection_name") and options.get("project_id"):
        lines.append(
            "Target Hubstorage collection URL: https://app.zyte.com/p/"
            f"{options['project_id']}/collections/s/{options['collection_name']}"
        )
    lines.extend(_job_lines(event))
    return "\n".join(lines) + "\n"


def _completed_body(event: JobEvent) -> str:
    lines = ["Export job finished successfully."]
    counters = event.counters()
    if "items_written" in counters:
        lines.extend(["", f"Total records exported: {counters['items_written']}."])
    lines.extend(_job_lines(event))
    return "\n".join(lines) + "\n"


def _failed_body(event: JobEvent) -> str:
    lines = ["Export job failed with following error:", "", event.message or "(no message)"]
    jobkey = os.environ.get("SHUB_JOBKEY")
    if jobkey:
        lines.extend(["", f"Job key: {jobkey}"])
    lines.extend(_job_lines(event))
    if event.stack_trace:
        lines.extend(["", "Stacktrace:", event.stack_trace.rstrip()])
    if event.configuration is not None:
        lines.extend(["", "Configuration:", json.dumps(event.configuration, indent=2, default=str)])
    return "\n".join(lines) + "\n"


def _job_lines(event: JobEvent) -> list[str]:
    lines = [f"{label}: {event.job[key]}" for key, label in _AIRFLOW_FIELDS if event.job.get(key) is not None]
    if event.job.get("job_id"):
        lines.append(f"Job id: {event.job['job_id']}")
    return ["", *lines] if lines else []
