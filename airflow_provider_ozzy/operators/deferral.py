"""Waiting for new input without holding a worker: ``OzzyExportOperator(deferrable=True)``.

An export that ran to the end and read nothing this run defers to the triggerer with
``OzzyNewInputTrigger``, which polls the reader at the position the job finished at. When new
input arrives the task resumes (``execute_complete``) and runs the export again as an incremental
continuation of that finished job, so it reads exactly what the probe saw; should it still read
nothing (an input removed meanwhile) it waits again, until the same deadline. At the deadline the
task ends as ``on_timeout`` says: skipped, or successful with the empty run's stats.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from airflow_provider_ozzy.core.errors import ConfigurationError
from airflow_provider_ozzy.engine.config import ExportConfig, normalize

ON_TIMEOUT = ("skip", "success")
# Airflow fails the task this long after the deadline if the trigger never fired (triggerer down)
_BACKSTOP_SECONDS = 120.0
_DEADLINE = "_ozzy_wait_deadline"  # operator attribute: the deadline of the wait being resumed


def deferral_problems(operator: Any, config: ExportConfig) -> list[str]:
    """Why this export cannot wait in the triggerer (when the DAG is parsed, and at execute)."""
    problems = []
    if operator.on_timeout not in ON_TIMEOUT:
        problems.append(f"on_timeout must be one of {', '.join(ON_TIMEOUT)}, got {operator.on_timeout!r}")
    for name in ("defer_timeout", "poll_interval"):
        value = getattr(operator, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            problems.append(f"{name} must be a positive number of seconds, got {value!r}")
    try:
        trigger_reader_section(config)
    except ConfigurationError as error:
        problems.extend(error.errors)
    return problems


def check_deferrable(operator: Any, config: ExportConfig) -> None:
    """``deferral_problems`` of the rendered config, as one ``ConfigurationError``."""
    problems = deferral_problems(operator, config)
    if problems:
        raise ConfigurationError(errors=[f"task {operator.task_id}: {problem}" for problem in problems])


def trigger_reader_section(config: ExportConfig) -> dict[str, Any]:
    """The reader section the trigger polls with: refused when it holds a secret, since trigger
    kwargs are stored in Airflow's metadata DB (give credentials as a connection instead)."""
    from airflow_provider_ozzy.engine.registry import UnknownModuleError, resolve
    from airflow_provider_ozzy.engine.secret_options import strip_secrets

    section = normalize(config.data).get("reader") or {}
    name = str(section.get("name"))
    try:
        reader_class = resolve(name, "readers")
    except (UnknownModuleError, ImportError):
        return section  # named in the config check's own error
    if not reader_class.can_tell_new_input():  # type: ignore[attr-defined]
        raise ConfigurationError(
            f"deferrable=True: reader {name} cannot tell whether new input arrived (the listing readers "
            "and the Kafka readers can)"
        )
    stripped, paths = strip_secrets({"reader": section})
    if paths:
        options = ", ".join(str(path[-1]) for path in paths)
        raise ConfigurationError(
            f"deferrable=True: reader {name} option(s) {options} hold a secret, which the trigger would "
            "store in Airflow's metadata DB; give the credentials as an Airflow connection (or the "
            "option's environment variable) instead"
        )
    return dict(stripped["reader"])


def defer_if_nothing_new(
    operator: Any, config: ExportConfig, position: dict[str, Any] | None, stats: dict[str, Any]
) -> None:
    """Defer ``operator`` to the triggerer when its finished export read nothing this run."""
    from airflow_provider_ozzy.operators.triggers import OzzyNewInputTrigger

    if not stats.get("finished") or stats.get("items_read_this_run", 0):
        return
    deadline = getattr(operator, _DEADLINE, None) or time.time() + operator.defer_timeout
    remaining = deadline - time.time()
    if remaining <= 0:
        end_wait(operator, stats)
        return
    trigger = OzzyNewInputTrigger(trigger_reader_section(config), position, operator.poll_interval, deadline)
    operator.log.info(
        "Ozzy: nothing new to export; waiting in the triggerer for new input (every %s s, %d s more)",
        operator.poll_interval,
        remaining,
    )
    operator.defer(
        trigger=trigger,
        method_name="execute_complete",
        kwargs={"deadline": deadline, "stats": stats},
        timeout=timedelta(seconds=remaining + max(_BACKSTOP_SECONDS, 2 * operator.poll_interval)),
    )


def resume(
    operator: Any, context: Any, event: dict[str, Any] | None, deadline: float, stats: dict[str, Any]
) -> dict[str, Any]:
    """Back from the triggerer: export what arrived, or end the wait."""
    from airflow.providers.common.compat.sdk import AirflowException

    from airflow_provider_ozzy.operators.triggers import ERROR, NEW_INPUT, TIMEOUT

    status = (event or {}).get("status")
    if status == NEW_INPUT:
        operator.log.info("Ozzy: new input arrived; exporting it")
        # the job of this run finished empty: continue after it instead of finding it done
        operator.exporter_options["incremental"] = True
        setattr(operator, _DEADLINE, deadline)
        result: dict[str, Any] = operator.execute(context)
        return result
    if status == TIMEOUT:
        return end_wait(operator, stats)
    message = (event or {}).get("message") if status == ERROR else f"unexpected trigger event {event!r}"
    raise AirflowException(f"Ozzy: waiting for new input failed: {message}")


def end_wait(operator: Any, stats: dict[str, Any]) -> dict[str, Any]:
    """No new input by the deadline: skip the task, or succeed with the empty run's stats."""
    from airflow.providers.common.compat.sdk import AirflowSkipException

    waited = f"no new input within defer_timeout ({operator.defer_timeout:g} s)"
    if operator.on_timeout == "skip":
        raise AirflowSkipException(f"Ozzy: {waited}")
    operator.log.info("Ozzy: %s; the task succeeds (on_timeout='success')", waited)
    return stats
