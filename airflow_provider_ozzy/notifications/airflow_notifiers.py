"""Ozzy's notifiers as Airflow ``BaseNotifier`` callbacks, for any task (Ozzy's or not).

Pass them to ``on_execute_callback``, ``on_success_callback``, ``on_failure_callback`` or
``on_retry_callback``. The event comes from the Airflow context: the task instance's state gives
the status (running: ``STARTED``, success: ``COMPLETED``, up_for_retry: ``RETRYING``, failed:
``FAILED``), the context gives dag, task, run, try and the exception. For an
``OzzyExportOperator`` the event also carries the export's counters (its XCom on success, its last
progress otherwise) and, for mails, its redacted configuration.

This module imports Airflow; the engine and the CLI never import it.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import BaseNotifier as AirflowBaseNotifier

from airflow_provider_ozzy.core.errors import ConfigurationError
from airflow_provider_ozzy.engine.secret_options import redact_configuration
from airflow_provider_ozzy.notifications.base_notifier import (
    COMPLETED,
    FAILED,
    RETRYING,
    SKIPPED,
    STARTED,
    BaseNotifier,
    JobEvent,
)
from airflow_provider_ozzy.notifications.ses_mail_notifier import SESMailNotifier
from airflow_provider_ozzy.notifications.webhook_notifier import WebhookNotifier

AIRFLOW_STATUSES = {
    "running": STARTED,
    "success": COMPLETED,
    "up_for_retry": RETRYING,
    "failed": FAILED,
    "skipped": SKIPPED,
}


def _templated(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_templated(each) for each in value)
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class _OzzyNotifierCallback(AirflowBaseNotifier):
    """Builds the Ozzy notifier from the (rendered) arguments and sends the event of the context."""

    notifier_class: ClassVar[type[BaseNotifier]]
    option_names: ClassVar[Sequence[str]] = ()

    def __init__(self, *, job_status: str | None = None) -> None:
        super().__init__()
        self.job_status = job_status

    def notifier_options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.option_names if getattr(self, name) is not None}

    def _check(self) -> None:
        """Fail at DAG parse time on bad options (values holding templates are checked when sent)."""
        options = self.notifier_options()
        _, problems = self.notifier_class.resolve(options)
        errors = [
            self.notifier_class.describe(problem)
            for problem in problems
            if not (problem.option and _templated(options.get(problem.option)))
        ]
        if errors:
            raise ConfigurationError(errors=[f"{type(self).__name__}: {error}" for error in errors])

    def notify(self, context: Any) -> None:
        notifier = self.notifier_class(self.notifier_options())
        notifier.notify(event_from_context(context, self.job_status))


class WebhookNotifierCallback(_OzzyNotifierCallback):
    """POSTs the task's event as JSON to each endpoint (see ``WebhookNotifier``).

    :param endpoints: URLs; with ``http_conn_id``, paths relative to the connection's URL.
    :param http_conn_id: Airflow HTTP connection (base URL, authentication, headers).
    :param timeout: seconds to wait for each request.
    :param job_status: force the reported status instead of deriving it from the task state.
    """

    template_fields: Sequence[str] = ("endpoints", "http_conn_id")
    notifier_class = WebhookNotifier
    option_names = ("endpoints", "http_conn_id", "timeout")

    def __init__(
        self,
        *,
        endpoints: list[str] | None = None,
        http_conn_id: str | None = None,
        timeout: float = 10.0,
        job_status: str | None = None,
    ) -> None:
        super().__init__(job_status=job_status)
        self.endpoints = list(endpoints or [])
        self.http_conn_id = http_conn_id
        self.timeout = timeout
        self._check()


class SESMailNotifierCallback(_OzzyNotifierCallback):
    """Mails the task's start, end or failure through SES (see ``SESMailNotifier``).

    :param team_mails: receive every mail, failures and retries included.
    :param client_mails: receive start and finish mails only.
    :param client_name: the name used in subjects.
    :param mail_from: the SES-verified sender (default: ``EXPORTERS_MAIL_FROM``).
    :param aws_conn_id: Airflow AWS connection used through ``SesHook``.
    :param region_name: SES region, when not the connection's.
    :param job_status: force the reported status instead of deriving it from the task state.
    """

    template_fields: Sequence[str] = ("team_mails", "client_mails", "client_name", "mail_from")
    notifier_class = SESMailNotifier
    option_names = ("team_mails", "client_mails", "client_name", "mail_from", "aws_conn_id", "region_name")

    def __init__(
        self,
        *,
        team_mails: list[str] | None = None,
        client_mails: list[str] | None = None,
        client_name: str = "Customer",
        mail_from: str | None = None,
        aws_conn_id: str = "aws_default",
        region_name: str | None = None,
        job_status: str | None = None,
    ) -> None:
        super().__init__(job_status=job_status)
        self.team_mails = list(team_mails or [])
        self.client_mails = list(client_mails or [])
        self.client_name = client_name
        self.mail_from = mail_from
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self._check()


def event_from_context(context: Any, job_status: str | None = None) -> JobEvent:
    """The job event an Airflow callback context describes."""
    ti = context.get("ti")
    state = getattr(ti, "state", None)
    state_name = str(getattr(state, "value", state) or "").lower()
    exception = context.get("exception")
    status = job_status or AIRFLOW_STATUSES.get(state_name) or (FAILED if exception else COMPLETED)
    map_index = getattr(ti, "map_index", None)
    job: dict[str, Any] = {
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": context.get("run_id") or getattr(ti, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "map_index": map_index if isinstance(map_index, int) and map_index >= 0 else None,
        "airflow_state": state_name or None,
    }
    event = JobEvent(status, job=job)
    if isinstance(exception, BaseException):
        event.message = str(exception) or type(exception).__name__
        event.stack_trace = "".join(traceback.format_exception(exception))
    elif exception:
        event.message = str(exception)
    _add_export_details(event, context, ti)
    return event


def _add_export_details(event: JobEvent, context: Any, ti: Any) -> None:
    """Job id, counters and redacted configuration of an ``OzzyExportOperator`` task."""
    from airflow_provider_ozzy.core.progress import PROGRESS_KEY
    from airflow_provider_ozzy.engine.config import normalize

    task = context.get("task")
    # an OzzyExportOperator (or a subclass), known by what it offers: the notifiers sit below the
    # operators, so they do not import them
    if not (callable(getattr(task, "assemble", None)) and callable(getattr(task, "job_id", None))):
        return
    log = task.log
    try:
        config = task.assemble()
        event.job["job_id"] = task.job_id(context, config)
        event.configuration = redact_configuration(normalize(config.data))
    except Exception as error:
        log.warning("Ozzy notifier: cannot describe the export's configuration: %s", error)
    try:
        stats = None
        if event.status == COMPLETED and ti is not None:
            stats = ti.xcom_pull(task_ids=ti.task_id, key="return_value")
        if not isinstance(stats, dict) and context.get("task_state_store") is not None:
            stats = context["task_state_store"].get(PROGRESS_KEY)
        if isinstance(stats, dict):
            event.stats = stats
    except Exception as error:
        log.warning("Ozzy notifier: cannot read the export's counters: %s", error)
