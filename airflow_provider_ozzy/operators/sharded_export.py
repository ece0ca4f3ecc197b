"""Sharded exports as Airflow mapped tasks: plan -> one export task per shard -> check.

``ozzy_sharded_export("export", shards=8, reader=..., writer=...)`` adds three tasks:

- ``export_plan`` lists the reader's units once and returns the shards (its XCom);
- ``export`` is ``OzzyExportOperator.partial(...).expand(shard=...)``: one mapped task instance
  per shard, each with its own position (the task state store is per map_index), its own file
  names and its own retries; any executor (Local, Celery, Kubernetes) spreads them over workers;
- ``export_check`` (optional) checks the shards' stats add up, lists each shard's files at the
  destination (local files or an object store) and writes a manifest of every file beside them.

Assets: the shards carry the source as their inlet; the destination is the outlet of the check
task alone, so one asset event says the whole export is there (a consumer scheduled on it never
starts on the first shard's files); its ``extra`` holds the totals of every shard.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_ozzy.core.errors import ConfigurationError
from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator, _templated
from airflow_provider_ozzy.sharding.check import MANIFEST_NAME


class OzzyShardPlanOperator(OzzyExportOperator):
    """Splits the export into ``shards`` shards by its reader's units; returns them as its XCom.

    Takes the same configuration arguments as ``OzzyExportOperator`` and checks them, and whether
    the reader can be sharded, when the DAG is parsed.

    :param shards: number of shards (mapped task instances); shards without units finish at once.
    """

    ui_color = "#e8c88f"
    automatic_assets = False  # the shards read the source; the check task announces the output

    def __init__(self, *, shards: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
            raise ConfigurationError(
                f"task {self.task_id}: 'shards' must be a whole number >= 1, got {shards!r}"
            )
        self.shards = shards
        if not _templated(self.config):
            from airflow_provider_ozzy.sharding.planning import sharding_problems

            problems = sharding_problems(self.assemble())
            if problems:
                raise ConfigurationError(errors=[f"task {self.task_id}: {problem}" for problem in problems])

    def execute(self, context: Any) -> list[dict[str, Any]]:  # type: ignore[override]
        from airflow_provider_ozzy.sharding.planning import plan_shards

        plan = plan_shards(self.assemble(), self.shards)
        for shard in plan:
            self.log.info(
                "shard %d/%d: %d unit(s), %d bytes",
                shard["index"],
                shard["count"],
                len(shard["units"]),
                shard["bytes"],
            )
        return plan

    def get_openlineage_facets_on_start(self) -> Any:
        """No datasets: the plan lists units and moves no data (the mapped exports report theirs)."""
        return None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return None


class OzzyShardCheckOperator(BaseOperator):
    """Checks the shards of an export add up, lists their files at the destination and writes the
    manifest of every file (JSON) beside them.

    Local files, S3, GCS and Azure Blob are listed; the plan carries the writer section, so the
    check reaches an object store through the writer's own connection (``aws_conn_id``, ...) from
    whichever worker runs it.

    :param plan: the planner's XCom (``plan_task.output``).
    :param results: the mapped export task's XComs (``export_task.output``).
    :param manifest_name: file (object) name of the manifest, written beside the files.
    """

    template_fields: Sequence[str] = ("plan", "results")
    ui_color = "#d9e8a4"

    def __init__(self, *, plan: Any, results: Any, manifest_name: str = MANIFEST_NAME, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.results = results
        self.manifest_name = manifest_name

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow_provider_ozzy.operators.assets import record_event
        from airflow_provider_ozzy.sharding.check import Destinations, check_shards, summary, write_manifest

        plan, results = list(self.plan), list(self.results)
        destinations = Destinations(plan)
        try:
            manifest = check_shards(plan, results, destinations)
            path = write_manifest(manifest, self.manifest_name, destinations)
        finally:
            destinations.close()
        record_event(self, context, _whole_export_extra(manifest, results))
        for shard in manifest["per_shard"]:
            self.log.info(
                "shard %d: read %d, wrote %d items in %d file(s) under %s",
                shard["index"],
                shard["items_read"],
                shard["items_written"],
                shard["files_written"],
                shard["filebase"],
            )
        self.log.info(
            "%d shards: %d items written in %d files; manifest %s",
            manifest["shards"],
            manifest["items_written"],
            manifest["files_written"],
            path,
        )
        return summary(manifest, path)


def _whole_export_extra(manifest: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    """The asset event's ``extra`` of the whole sharded export: every shard's counts added up."""
    from airflow_provider_ozzy.operators.assets import event_extra

    shards = [result for result in results if result]
    totals = {
        key: sum(result.get(key, 0) for result in shards)
        for key in ("items_read", "items_read_this_run", "bytes_written")
    }
    totals.update(items_written=manifest["items_written"], files_written=manifest["files_written"])
    filebases = [shard["filebase"] for shard in manifest["per_shard"] if shard.get("filebase")]
    extra = event_extra(totals, os.path.commonprefix(filebases) if filebases else None, None)
    extra["position"].update(
        shards=manifest["shards"],
        resumed=sum(
            1 for result in shards if result.get("items_read_this_run", 0) < result.get("items_read", 0)
        ),
    )
    return extra


class ShardedExport(NamedTuple):
    plan: OzzyShardPlanOperator
    export: Any  # the mapped OzzyExportOperator
    check: OzzyShardCheckOperator | None


def ozzy_sharded_export(
    task_id: str,
    *,
    shards: int,
    check: bool = True,
    manifest_name: str = MANIFEST_NAME,
    **kwargs: Any,
) -> ShardedExport:
    """Adds ``<task_id>_plan`` -> ``<task_id>`` (mapped, one per shard) -> ``<task_id>_check``.

    :param shards: number of shards.
    :param check: add the check-and-manifest task.
    :param kwargs: ``OzzyExportOperator`` arguments (config sections, ``retries``, ...), used by
        the planner and by every shard.
    """
    outlets = kwargs.pop("outlets", None)
    plan = OzzyShardPlanOperator(task_id=f"{task_id}_plan", shards=shards, **kwargs)
    inlets, outlets = _group_assets(plan, kwargs.get("inlets"), outlets, check)
    # the author's outlets stay on the shards only when no check task stands for the whole
    shard_outlets = {} if check or outlets is None else {"outlets": outlets}
    export = OzzyExportOperator.partial(
        task_id=task_id, **dict(kwargs, inlets=inlets, **shard_outlets)
    ).expand(shard=plan.output)
    checker = None
    if check:
        checker = OzzyShardCheckOperator(
            task_id=f"{task_id}_check",
            plan=plan.output,
            results=export.output,
            manifest_name=manifest_name,
            outlets=outlets,
        )
    return ShardedExport(plan, export, checker)


def _group_assets(plan: OzzyShardPlanOperator, inlets: Any, outlets: Any, check: bool) -> tuple[Any, Any]:
    """The shards' inlets and the check task's outlets: the author's, else the config's assets.

    Without a check task no task stands for the whole export: no automatic outlet (a per-shard
    event would start consumers on part of the output).
    """
    from airflow_provider_ozzy.operators.assets import section_assets

    if _templated(plan.config):
        return inlets, outlets
    data = plan.assemble().data
    if inlets is None:
        inlets = section_assets(data.get("reader"), "readers")[0]
    if outlets is None and check:
        outlets = section_assets(data.get("writer"), "writers")[0]
    return inlets, outlets
