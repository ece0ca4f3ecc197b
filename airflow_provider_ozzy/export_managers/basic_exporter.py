"""The export loop: read, filter, transform, filter, group, write; commit after every batch.

One loop for every module combination. Positions are committed only as far as items are durably
at the destination (see ``commit_protocol``), so a crash at any moment loses and repeats nothing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from airflow_provider_ozzy.bypasses.base_bypass import (
    BaseBypass,
    BypassContext,
    BypassNotApplicable,
    choose_bypass,
)
from airflow_provider_ozzy.core.dead_letters import DeadLetterSink, attach_dead_letters, isolate_bad_items
from airflow_provider_ozzy.core.errors import PersistenceError
from airflow_provider_ozzy.core.gc_tuning import fewer_collections
from airflow_provider_ozzy.core.retries import RetryPolicy, retry_policy
from airflow_provider_ozzy.engine.commit_protocol import STATE_VERSION, CommitTracker, continuation
from airflow_provider_ozzy.engine.config import ExportConfig, ResolvedJob, validate
from airflow_provider_ozzy.engine.secret_options import protect, redact_configuration
from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter
from airflow_provider_ozzy.filters.base_filter import BaseFilter
from airflow_provider_ozzy.groupers.base_grouper import BaseGrouper
from airflow_provider_ozzy.notifications.base_notifier import (
    COMPLETED,
    FAILED,
    STARTED,
    JobEvent,
)
from airflow_provider_ozzy.notifications.notifiers_list import NotifiersList
from airflow_provider_ozzy.persistence.base_persistence import BasePersistence
from airflow_provider_ozzy.readers.base_reader import BaseReader
from airflow_provider_ozzy.readers.base_stream_reader import StreamBasedReader
from airflow_provider_ozzy.stats_managers.basic_stats_manager import BasicStatsManager
from airflow_provider_ozzy.transform.base_transform import BaseTransform
from airflow_provider_ozzy.writers.base_writer import BaseWriter

log = logging.getLogger("airflow_provider_ozzy.exporter")

ProgressCallback = Callable[[dict[str, Any]], None]


class BasicExporter:
    """Runs one export job described by a config (dict, JSON or YAML file)."""

    def __init__(
        self,
        config: str | os.PathLike[str] | dict[str, Any] | ExportConfig,
        *,
        persistence: BasePersistence | None = None,
        resume: bool | None = None,
        auto_resume: bool = False,
        job_id: str | None = None,
        progress: ProgressCallback | None = None,
        job_info: dict[str, Any] | None = None,
    ) -> None:
        self.config = validate(config)
        assert self.config.job is not None
        self.job = self.config.job  # every section resolved once, by validate
        self.options = self.job.exporter_options
        logging.getLogger("airflow_provider_ozzy").setLevel(self.options["log_level"].upper())
        protect(self.config.data)  # its secrets masked in every message and log line from now on
        # this export's retry budget, current while its modules are built (they keep it) and while
        # it runs (export()); never left current after: a later export or caller in this thread
        # would inherit its attempts (one export's disable_retries made the next one try once)
        self.retry_policy = RetryPolicy.from_options(self.options)
        with retry_policy(self.retry_policy):
            self._build_modules(persistence)
        self.notifiers = NotifiersList(self.options["notifications"])
        self.job_info = dict(job_info or {})  # dag_id, task_id, run_id, try_number, map_index in Airflow
        self.resume: bool | None = self.options["resume"] if resume is None else resume
        if auto_resume or self.options["incremental"]:
            self.resume = None  # resume when the persistence holds state for this job, else start
        state_id = self.options["persistence_state_id"]
        self.job_id = job_id or (str(state_id) if state_id is not None else "")
        self.progress = progress
        self.stop_requested = threading.Event()
        self.dead_letters: DeadLetterSink | None = None  # exporter_options.dead_letter_file, set in _run
        self.started_at = 0.0
        self.read_at_start = 0
        # the reader position of the finished job: where the next run of an incremental job starts
        self.final_position: dict[str, Any] | None = None

    def _build_modules(self, persistence: BasePersistence | None) -> None:
        self.reader: BaseReader = self._build("reader")
        if isinstance(self.reader, StreamBasedReader):
            if self.job.section("decompressor"):
                self.reader.decompressor = self._build("decompressor")
            if self.job.section("deserializer"):
                self.reader.deserializer = self._build("deserializer")
        self.filter_before: BaseFilter = self._build("filter_before")
        self.transform: BaseTransform = self._build("transform")
        self.filter_after: BaseFilter = self._build("filter_after")
        self.grouper: BaseGrouper = self._build("grouper")
        self.writer: BaseWriter = self._build("writer")
        self.formatter: BaseExportFormatter = self._build("formatter")
        self.persistence: BasePersistence = persistence or self._build("persistence")
        self.stats_manager: BasicStatsManager = self._build("stats_manager")

    def _build(self, section: str) -> Any:
        resolved = self.job.section(section)
        assert resolved is not None, section
        return resolved.build()

    @classmethod
    def from_file_configuration(cls, path: str, **kwargs: Any) -> BasicExporter:
        return cls(path, **kwargs)

    @classmethod
    def from_persistence_uri(cls, uri: str, **kwargs: Any) -> BasicExporter:
        """Rebuild a job from its persistence URI (``pickle:PATH``) to resume it."""
        from airflow_provider_ozzy.persistence.uris import persistence_for_uri

        persistence, job_id, configuration = persistence_for_uri(uri)
        return cls(configuration, persistence=persistence, resume=True, job_id=job_id, **kwargs)

    def request_stop(self) -> None:
        """Stop after the current batch, committing its position (``on_kill``, SIGTERM)."""
        self.stop_requested.set()

    def export(self) -> dict[str, Any]:
        """Run the job to the end (or to a requested stop); returns the stats dict."""
        with retry_policy(self.retry_policy):
            return self._export()

    def _export(self) -> dict[str, Any]:
        self.started_at = time.monotonic()
        if self.config.source and not self.persistence.config_source:  # secrets are re-read from it on resume
            self.persistence.config_source = os.path.abspath(self.config.source)
        try:
            state = self.persistence.open(self.job_id, self.config.data, self.resume)
        except BaseException as error:
            self._notify_failure(error)
            raise
        self.job_id = self.persistence.job_id
        if state and state.get("finished") and self.options["incremental"]:
            log.info("Job %s: this run continues after the last finished run", self.job_id)
            state = continuation(state)
        if state and state.get("finished"):
            log.info("Job %s already finished; nothing to do", self.job_id)
            self.final_position = state.get("reader")
            self.persistence.close()
            return dict(state.get("stats", {}), already_finished=True)
        self._notify(STARTED)
        try:
            try:
                with fewer_collections():  # batches of parsed items: see gc_tuning
                    stats = self._run_or_bypass(state)
            finally:
                if self.dead_letters is not None:
                    self.dead_letters.close()
                self.reader.close()
                self.writer.close()
                for module in (
                    self.filter_before,
                    self.transform,
                    self.filter_after,
                    self.grouper,
                    self.formatter,
                    self.persistence,
                ):
                    module.close()
        except BaseException as error:
            self._notify_failure(error)
            raise
        if stats.get("finished"):
            self._notify(COMPLETED, stats)
        else:
            self._notify(FAILED, stats, message="stopped on request; its position is committed, resume it")
        return stats

    def _notify(
        self,
        status: str,
        stats: dict[str, Any] | None = None,
        message: str | None = None,
        stack_trace: str | None = None,
    ) -> None:
        """Tell the configured notifiers; a notification problem never fails the export."""
        if not self.notifiers:
            return
        try:
            event = JobEvent(
                status,
                job=dict(self.job_info, job_id=self.job_id),
                stats=self.counters() if stats is None else stats,
                message=message,
                stack_trace=stack_trace,
                configuration=redact_configuration(self.job.data),
            )
        except Exception:
            log.warning("Cannot build the %s notification of job %s", status, self.job_id, exc_info=True)
            return
        self.notifiers.notify(event)

    def _notify_failure(self, error: BaseException) -> None:
        message = str(error) or type(error).__name__
        self._notify(FAILED, message=message, stack_trace="".join(traceback.format_exception(error)))

    def _run_or_bypass(self, state: dict[str, Any] | None) -> dict[str, Any]:
        """Run a bypass when one can move whole objects without changing the output, else the pipeline."""
        config = self.job
        no_bypass = self.options["prevent_bypass"] or bool(
            self.options["dead_letter_file"]
        )  # bypasses copy bad records
        bypass_class = choose_bypass(config, no_bypass, state)
        if bypass_class is not None:
            try:
                return self._run_bypass(bypass_class, config, state)
            except BypassNotApplicable as reason:
                log.info("%s not used, the item pipeline runs: %s", bypass_class.__name__, reason)
        return self._run(state)

    def _run_bypass(
        self, bypass_class: type[BaseBypass], config: ResolvedJob, state: dict[str, Any] | None
    ) -> dict[str, Any]:
        name = bypass_class.__name__

        def commit(bypass_state: Any) -> None:
            self.persistence.commit(
                {"version": STATE_VERSION, "bypass": {"name": name, "state": bypass_state}}
            )

        saved = (state or {}).get("bypass") or {}
        bypass = bypass_class(
            BypassContext(
                config,
                self.reader,
                self.writer,
                self.formatter,
                saved.get("state"),
                commit,
                self.stop_requested,
                self.progress,
            )
        )
        try:
            counters = bypass.execute()
        finally:
            bypass.close()
        stats = dict(
            counters,
            bypass=name,
            elapsed_seconds=round(time.monotonic() - self.started_at, 3),
            job_id=self.job_id,
            resume_uri=self.persistence.uri,
            finished=bypass.finished,
        )
        if bypass.finished:
            final: dict[str, Any] = {"version": STATE_VERSION, "bypass": {"name": name}}
            if isinstance(self.reader, StreamBasedReader):  # what an incremental next run continues after
                final["reader"] = self.reader.position_after(bypass.streams)
                final["writer"] = {"accepted": 0, "groups": [[[], len(bypass.streams), 0]]}
            self.persistence.commit(dict(final, finished=True, stats=stats))
            self.final_position = final.get("reader")
            self.stats_manager.report_final(stats)
            if self.progress:
                self.progress(dict(stats, fraction=1.0, done=True))
        return stats

    def _run(self, state: dict[str, Any] | None) -> dict[str, Any]:
        reader, writer = self.reader, self.writer
        if state:
            log.info("Resuming job %s from %s", self.job_id, state["reader"])
        reader.open(state["reader"] if state else None)
        if state:
            reader.read_items = state.get("read_items", 0)
        self.read_at_start = reader.read_items
        if hasattr(writer, "bind_job"):  # keys its destination rows by job (OdoWriter)
            writer.bind_job(self.job_id)
        writer.open(self.formatter, state["writer"] if state else None)
        self.stats_manager.report_start(self.counters())  # a resumed job's counters start where it stopped
        self.dead_letters = attach_dead_letters(self.options, reader, self.job_id)
        stateful = self._stateful_modules()
        self._restore_module_states(stateful, state)
        tracker = CommitTracker(
            (lambda: {section: module.get_state() for section, module in stateful.items()})
            if stateful
            else None
        )
        batch_number = state["batch"] if state else 0
        limit_reached = writer.remaining_room() == 0
        while not reader.is_finished() and not limit_reached:
            if self.stop_requested.is_set():
                log.warning(
                    "Stop requested: job %s stops here; resume with %s", self.job_id, self.persistence.uri
                )
                return self.stats(finished=False)
            tracker.before_batch(batch_number, reader, writer)
            marks = [time.perf_counter()]
            batch = reader.get_next_batch()
            marks.append(time.perf_counter())
            batch = self._stage(
                "filter_before", self.filter_before, self.filter_before.filter_batch, batch, batch_number
            )
            marks.append(time.perf_counter())
            batch = self._stage(
                "transform", self.transform, self.transform.transform_batch, batch, batch_number
            )
            marks.append(time.perf_counter())
            batch = self._stage(
                "filter_after", self.filter_after, self.filter_after.filter_batch, batch, batch_number
            )
            marks.append(time.perf_counter())
            room = writer.remaining_room()
            if room is not None and len(batch) >= room:
                batch = batch[:room]
                limit_reached = True
            groups = self.grouper.group_batch(batch)
            marks.append(time.perf_counter())
            writer.write_batch(groups, batch_number)
            marks.append(time.perf_counter())
            batch_number += 1
            committed = tracker.state(batch_number, reader, writer)
            self.persistence.commit(committed)
            reader.committed(committed["reader"])  # e.g. Kafka group offsets, only after Ozzy's commit
            marks.append(time.perf_counter())
            self._report_iteration(marks)
            del batch, groups  # free the items before the next batch is parsed (peak memory)
        writer.flush()
        writer.finish_writing()
        stats = self.stats(finished=True)
        final = tracker.state(batch_number, reader, writer)
        final.update(finished=True, stats=stats)
        self.persistence.commit(final)
        self.final_position = final["reader"]
        reader.committed(final["reader"])
        for module in stateful.values():
            module.discard_state()
        self.stats_manager.report_final(stats)
        if self.progress:
            self.progress(dict(stats, fraction=1.0, done=True))
        return stats

    def _stateful_modules(self) -> dict[str, Any]:
        """Modules whose decisions depend on the items before (``get_state``/``set_state``/``discard_state``).

        Their state is committed with the reader position (see ``commit_protocol``): a resume hands
        each one the state it had when the re-read items were first read, so it decides alike.
        """
        sections = {
            "filter_before": self.filter_before,
            "transform": self.transform,
            "filter_after": self.filter_after,
            "grouper": self.grouper,
        }
        found: dict[str, Any] = {
            section: module for section, module in sections.items() if hasattr(module, "get_state")
        }
        if self.dead_letters is not None:
            found["dead_letters"] = self.dead_letters
        return found

    def _stage(self, section: str, module: Any, method: Callable[[Any], Any], batch: Any, number: int) -> Any:
        """A filter or transform on a batch; with a dead-letter file, items failing it are set aside."""
        if self.dead_letters is None:
            return method(batch)
        return isolate_bad_items(self.dead_letters, section, module, method, batch, number, self.reader)

    def _restore_module_states(self, stateful: dict[str, Any], state: dict[str, Any] | None) -> None:
        saved = (state or {}).get("modules", {})
        for section, module in stateful.items():
            if hasattr(module, "bind_job"):  # names its own files after the job (no orphans after a crash)
                module.bind_job(f"{self.persistence.uri}|{self.job_id}")
            if state and section not in saved:
                raise PersistenceError(
                    f"{section} {type(module).__name__}: the job state holds no state for this module, so "
                    "the job cannot resume exactly (was the configuration changed?)"
                )
            module.set_state(saved[section] if state else None)

    def _report_iteration(self, marks: list[float]) -> None:
        stages = ("read", "filtered", "transformed", "filtered_after", "grouped", "written", "persisted")
        timings = {stage: marks[index + 1] - marks[index] for index, stage in enumerate(stages)}
        counters = self.counters()
        self.stats_manager.report_iteration(timings, counters)
        if self.progress:
            self.progress(dict(counters, fraction=self.reader.progress(), done=False))

    def counters(self) -> dict[str, Any]:
        return {
            "items_read": self.reader.read_items,
            "items_read_this_run": self.reader.read_items - self.read_at_start,
            "items_filtered": self.filter_before.filtered_out + self.filter_after.filtered_out,
            "items_accepted": self.writer.accepted,
            "items_written": self.writer.items_written,
            "files_written": self.writer.files_written,
            "bytes_written": self.writer.bytes_written,
            "elapsed_seconds": round(time.monotonic() - self.started_at, 3),
            **({"bad_records": self.dead_letters.count} if self.dead_letters is not None else {}),
        }

    def stats(self, finished: bool) -> dict[str, Any]:
        """The small summary the CLI prints and the operator returns as its XCom."""
        stats = dict(self.counters(), job_id=self.job_id, resume_uri=self.persistence.uri, finished=finished)
        result = self.writer.result()
        if result is not None:
            stats["result"] = result
        return stats
