"""``OzzyExportOperator``: one Ozzy export as an Airflow task, resumed by Airflow's retries.

The config (or the section arguments) is validated when the DAG is parsed, without network access;
connections are resolved only in ``execute()``. By default positions are committed to the task
state store, so try N+1 continues where try N stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_ozzy.core.errors import ConfigurationError
from airflow_provider_ozzy.core.progress import PROGRESS_KEY
from airflow_provider_ozzy.engine.config import ExportConfig, check, load_config, load_config_text
from airflow_provider_ozzy.engine.secret_options import secret_values
from airflow_provider_ozzy.operators.links import OzzyExportsLink, OzzyOutputLink

SECTION_ARGUMENTS = (
    "reader",
    "writer",
    "filter_before",
    "transform",
    "filter_after",
    "grouper",
    "persistence",
    "stats_manager",
    "decompressor",
    "deserializer",
)


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class OzzyExportOperator(BaseOperator):
    """Runs an Ozzy export (exporters-style config) inside a task.

    :param config: the job as a dict, or the path of a JSON/YAML file (relative to the DAG folder).
    :param reader: reader section ``{"name": ..., "options": {...}}``; the other section arguments
        (``writer``, ``filter_before``, ``transform``, ``filter_after``, ``grouper``, ``persistence``,
        ``stats_manager``, ``decompressor``, ``deserializer``) work the same and override ``config``.
    :param formatter: the ``exporter_options.formatter`` section.
    :param notifications: the ``exporter_options.notifications`` sections.
    :param exporter_options: global options, merged over ``config``'s.
    :param progress_interval: seconds between progress log lines (and ``progress`` state updates).
    :param shard: one shard of a sharded export (``sharding.plan_shards``; usually mapped with
        ``.expand(shard=...)``): its reader options, its own file names and position.
    :param strict: refuse what exporters ignored (unknown sections, section keys and exporter
        options) when the DAG is parsed, instead of a warning in the task log
        (``exporter_options.strict``); for new DAGs, so typos fail the import.
    :param deferrable: when a run exports nothing, wait for new input in the triggerer instead of
        ending, without holding a worker slot (``operators/deferral.py``); listing and Kafka readers.
    :param defer_timeout: seconds to wait for new input at most (over every wait of the try).
    :param on_timeout: what a wait that saw nothing ends as: ``"skip"`` or ``"success"``.
    :param poll_interval: seconds between two looks at the source while waiting.

    Without ``inlets``/``outlets``, the reader's source and the writer's destination are the task's
    Airflow assets (``operators/assets.py``); a permanent error fails the task without retries
    (``operators/failures.py``).
    """

    template_fields: Sequence[str] = ("config", "sections", "exporter_options")
    template_ext: Sequence[str] = (".json", ".yaml", ".yml")
    ui_color = "#f2d3a4"
    operator_extra_links = (OzzyOutputLink(), OzzyExportsLink())
    automatic_assets: ClassVar[bool] = True  # the planner of a sharded export moves no data

    def __init__(
        self,
        *,
        config: dict[str, Any] | str | None = None,
        reader: dict[str, Any] | None = None,
        writer: dict[str, Any] | None = None,
        filter_before: dict[str, Any] | None = None,
        transform: dict[str, Any] | None = None,
        filter_after: dict[str, Any] | None = None,
        grouper: dict[str, Any] | None = None,
        persistence: dict[str, Any] | None = None,
        stats_manager: dict[str, Any] | None = None,
        decompressor: dict[str, Any] | None = None,
        deserializer: dict[str, Any] | None = None,
        formatter: dict[str, Any] | None = None,
        notifications: list[dict[str, Any]] | None = None,
        exporter_options: dict[str, Any] | None = None,
        progress_interval: float = 30.0,
        shard: dict[str, Any] | None = None,
        strict: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        defer_timeout: float = 24 * 3600.0,
        on_timeout: str = "skip",
        poll_interval: float = 60.0,
        **kwargs: Any,
    ) -> None:
        lineage_given = (kwargs.get("inlets") is not None, kwargs.get("outlets") is not None)
        super().__init__(**kwargs)
        given = {
            "reader": reader,
            "writer": writer,
            "filter_before": filter_before,
            "transform": transform,
            "filter_after": filter_after,
            "grouper": grouper,
            "persistence": persistence,
            "stats_manager": stats_manager,
            "decompressor": decompressor,
            "deserializer": deserializer,
        }
        self.config = config
        self.sections = {name: value for name, value in given.items() if value is not None}
        self.exporter_options = dict(exporter_options or {})
        if formatter is not None:
            self.exporter_options["formatter"] = formatter
        if notifications is not None:
            self.exporter_options["notifications"] = notifications
        if strict:
            self.exporter_options["strict"] = True
        self.progress_interval = progress_interval
        self.shard = shard
        self.deferrable = deferrable
        self.defer_timeout = defer_timeout
        self.on_timeout = on_timeout
        self.poll_interval = poll_interval
        self._exporter: Any = None
        self._exporting = False
        self._check_at_parse_time()
        self._asset_notes = self._declare_assets(*lineage_given)

    # -- configuration ------------------------------------------------------------------------------
    def _base_folder(self) -> str:
        fileloc = getattr(getattr(self, "dag", None), "fileloc", None) if self.has_dag() else None
        return os.path.dirname(fileloc) if fileloc else os.getcwd()

    def _load_base(self, config: dict[str, Any] | str | None) -> ExportConfig:
        if config is None:
            return ExportConfig({})
        if isinstance(config, dict):
            return load_config(config)
        if config.rstrip().endswith(tuple(self.template_ext)) and "\n" not in config:
            path = config if os.path.isabs(config) else os.path.join(self._base_folder(), config)
            return load_config(path)
        # a rendered file (template_ext): the text of the config itself, under the file limits
        # (a YAML alias bomb in a templated config must not hang the worker)
        loaded = load_config_text(config, f"task {self.task_id} config")
        return ExportConfig(loaded.data)

    def assemble(self) -> ExportConfig:
        """The job config: ``config`` with the section arguments and exporter options laid over it."""
        base = self._load_base(self.config)
        data = dict(base.data)
        data.update(self.sections)
        options = dict(data.get("exporter_options") or {})
        options.update(self.exporter_options)
        if options:
            data["exporter_options"] = options
        return ExportConfig(data, base.source, base.text if data == base.data else None)

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        self._mask_config_secrets()

    def _mask_config_secrets(self) -> None:
        """Give Airflow's secrets masker every secret of the rendered config before Airflow stores
        the rendered fields: tokens in URL paths and queries carry no secret-looking option name,
        so Airflow alone would keep them in the rendered fields, logs and XComs."""
        from airflow.sdk.log import mask_secret

        try:
            config = self.assemble()
        except ConfigurationError:
            return  # execute() reports it
        for value in secret_values(config.data):
            mask_secret(value)

    def _check_at_parse_time(self) -> None:
        """Fail DAG parsing on a broken config, with ``ozzy validate``'s messages.

        Values still holding Jinja templates are checked after rendering, in ``execute()``.
        """
        if _templated(self.config):
            return
        try:
            config = self.assemble()
        except ConfigurationError as error:
            raise ConfigurationError(f"task {self.task_id}: {error}") from None
        errors = check(config, skip_value=_templated)
        if self.deferrable and not errors:
            from airflow_provider_ozzy.operators.deferral import deferral_problems

            errors = deferral_problems(self, config)
        if errors:
            raise ConfigurationError(errors=[f"task {self.task_id}: {error}" for error in errors])

    def _declare_assets(self, inlets_given: bool, outlets_given: bool) -> list[str]:
        """Source and destination as inlet and outlet assets (a shard's are its check task's)."""
        if not self.automatic_assets or self.shard is not None:
            return []
        if _templated(self.config):
            return ["no automatic assets: the config is a Jinja template (rendered only when the task runs)"]
        from airflow_provider_ozzy.operators.assets import declare

        return declare(self, self.assemble().data, inlets_given, outlets_given)

    # -- running -----------------------------------------------------------------------------------
    def job_id(self, context: Any, config: ExportConfig) -> str:
        """``exporter_options.persistence_state_id``, else dag_id/task_id/run_id/map_index."""
        state_id = (config.data.get("exporter_options") or {}).get("persistence_state_id")
        if state_id is not None:
            return str(state_id)
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        return f"{ti.dag_id}/{ti.task_id}/{context['run_id']}/{map_index if map_index is not None else -1}"

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow_provider_ozzy.operators.failures import failing_fast

        for note in self._asset_notes:
            self.log.info(note)
        with failing_fast():
            return self._export(context)

    def _export(self, context: Any) -> dict[str, Any]:
        from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
        from airflow_provider_ozzy.persistence.airflow_persistence import AirflowPersistence
        from airflow_provider_ozzy.stats_managers.airflow_metrics import AirflowMetrics

        config = self.assemble()
        if self.shard is not None:
            from airflow_provider_ozzy.sharding.planning import apply_shard

            config = ExportConfig(apply_shard(config.data, self.shard), config.source)
        if self.deferrable:  # a rendered config: can it wait (operators/deferral.py), before anything moves
            from airflow_provider_ozzy.operators.deferral import check_deferrable

            check_deferrable(self, config)
        persistence = None
        if not config.data.get("persistence"):
            persistence = AirflowPersistence(store=context["task_state_store"])
        progress = _TaskProgress(self, context, self.progress_interval)
        self._exporter = BasicExporter(
            config,
            persistence=persistence,
            auto_resume=True,
            job_id=self.job_id(context, config),
            progress=progress,
            job_info=_job_info(context),
        )
        ti = context["ti"]
        self._exporter.stats_manager.metrics = AirflowMetrics({"dag_id": ti.dag_id, "task_id": ti.task_id})
        self._exporting = True
        try:
            stats = self._exporter.export()
        except KeyboardInterrupt:  # a second SIGTERM (on_kill): stopped at once
            from airflow.providers.common.compat.sdk import AirflowException

            raise AirflowException(
                "Ozzy export stopped at once on a second SIGTERM; its committed position is kept, a retry resumes it"
            ) from None
        finally:
            self._exporting = False
        if not stats.get("finished"):
            from airflow.providers.common.compat.sdk import AirflowException

            raise AirflowException(
                "Ozzy export stopped on request after committing its position; a retry resumes it"
            )
        result = _xcom_stats(stats)
        if self.shard is not None:
            result["shard"] = _shard_report(self.shard, self._exporter.writer)
        if self.deferrable:  # nothing read: wait in the triggerer (operators/deferral.py)
            from airflow_provider_ozzy.operators.deferral import defer_if_nothing_new

            defer_if_nothing_new(self, config, self._exporter.final_position, result)
        self._record_asset_event(context, stats)
        return result

    def _record_asset_event(self, context: Any, stats: dict[str, Any]) -> None:
        from airflow_provider_ozzy.operators.assets import event_extra, record_event

        written_under = _written_filebase(self._exporter.writer)
        record_event(self, context, event_extra(stats, written_under, self._exporter.job_id))

    def execute_complete(
        self, context: Any, event: dict[str, Any] | None = None, deadline: float = 0.0, stats: Any = None
    ) -> dict[str, Any]:
        """Back from waiting for new input (``deferrable``): export it, or end as ``on_timeout`` says."""
        from airflow_provider_ozzy.operators.deferral import resume

        return resume(self, context, event, deadline, stats or {})

    def on_kill(self) -> None:
        """Stop after the current batch; its position is committed, so a retry resumes from there.

        Called again while the export runs (a second SIGTERM), it stops at once, even inside a
        sandboxed expression (whose process is killed as the exception passes).
        """
        if self._exporter is None:
            return
        if self._exporting and self._exporter.stop_requested.is_set():
            raise KeyboardInterrupt
        self._exporter.request_stop()

    # -- OpenLineage (the provider is optional: imported in airflow_provider_ozzy.operators.lineage only) ------
    def get_openlineage_facets_on_start(self) -> Any:
        """Input and output datasets of the reader and writer (see ``airflow_provider_ozzy.operators.lineage``)."""
        from airflow_provider_ozzy.operators.lineage import operator_lineage

        return operator_lineage(self.assemble().data)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The same datasets, the output with what this run wrote (rows, bytes, files)."""
        from airflow_provider_ozzy.operators.lineage import operator_lineage

        counters = self._exporter.counters() if self._exporter is not None else None
        return operator_lineage(self.assemble().data, statistics=counters)


def _job_info(context: Any) -> dict[str, Any]:
    """The task instance's identity, for notifications sent by the export."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", None)
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": context.get("run_id"),
        "try_number": getattr(ti, "try_number", None),
        "map_index": map_index if isinstance(map_index, int) and map_index >= 0 else None,
    }


def _shard_report(shard: dict[str, Any], writer: Any) -> dict[str, Any]:
    """Which shard this was and where it wrote, for the shard check step (``shard_check``)."""
    return {
        "index": shard.get("index"),
        "count": shard.get("count"),
        "units": len(shard.get("units") or []),
        "writer": _listed_writer_name(type(writer)),
        "filebase": _written_filebase(writer),
    }


def _written_filebase(writer: Any) -> str | None:
    """The filebase the writer wrote under (this run's names), or would have."""
    return getattr(writer, "effective_filebase", None) or _planned_filebase(writer)


def _listed_writer_name(writer_class: type) -> str:
    """The writer's class name, or its nearest base the shard check can list files of."""
    from airflow_provider_ozzy.sharding.check import LISTERS

    names = [cls.__name__ for cls in writer_class.__mro__]
    return next((name for name in names if name in LISTERS), writer_class.__name__)


def _planned_filebase(writer: Any) -> str | None:
    """A shard found finished (a cleared task run again) never opened its writer: today's names."""
    from airflow_provider_ozzy.core.filebase import Filebase

    filebase = (getattr(writer, "options", None) or {}).get("filebase")
    return Filebase.effective_at(filebase) if filebase else None


def _xcom_stats(stats: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "items_read",
        "items_read_this_run",
        "items_filtered",
        "items_written",
        "files_written",
        "bytes_written",
        "elapsed_seconds",
        "finished",
        "already_finished",
        "result",  # what a computing writer found (BaseWriter.result: reduce, aggregation)
        "bad_records",  # records set aside in exporter_options.dead_letter_file
    )
    return {key: stats[key] for key in keys if key in stats}


class _TaskProgress:
    """Progress of the export in the task log and under the ``progress`` key of the task state store."""

    def __init__(self, operator: OzzyExportOperator, context: Any, interval: float) -> None:
        self.operator = operator
        self.store = context.get("task_state_store")
        self.interval = interval
        self._last: float | None = None

    def __call__(self, update: dict[str, Any]) -> None:
        from airflow_provider_ozzy.core.progress import describe

        now = time.monotonic()
        if not update.get("done") and self._last is not None and now - self._last < self.interval:
            return
        self._last = now
        self.operator.log.info("Ozzy progress: %s", describe(update))
        if self.store is not None:
            snapshot = {
                key: value for key, value in update.items() if isinstance(value, (int, float, bool, str))
            }
            try:
                self.store.set(PROGRESS_KEY, snapshot)
            except Exception:  # progress is informative; never fail the export for it
                self.operator.log.warning("could not store progress", exc_info=True)
