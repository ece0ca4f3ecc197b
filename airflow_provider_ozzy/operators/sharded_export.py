"""Sharded exports as Airflow mapped tasks: plan -> one export task per shard -> check.

``ozzy_sharded_export("export", shards=8, reader=..., writer=...)`` adds three tasks:

- ``export_plan`` lists the reader's units once and returns the shards (its XCom);
- ``export`` is ``OzzyExportOperator.partial(...).expand(shard=...)``: one mapped task instance
  per shard, each with its own position (the task state store is per map_index), its own file
  names and its own retries; any executor (Local, Celery, Kubernetes) spreads them over workers;
- ``export_check`` (optional) checks the shards' stats add up and writes a manifest of every file.
"""

from __future__ import annotations

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
    """Checks the shards of an export add up and writes the manifest of every file (JSON).

    :param plan: the planner's XCom (``plan_task.output``).
    :param results: the mapped export task's XComs (``export_task.output``).
    :param manifest_name: file name of the manifest, written beside the files (local destinations).
    """

    template_fields: Sequence[str] = ("plan", "results")
    ui_color = "#d9e8a4"

    def __init__(self, *, plan: Any, results: Any, manifest_name: str = MANIFEST_NAME, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.results = results
        self.manifest_name = manifest_name

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow_provider_ozzy.sharding.check import check_shards, summary, write_manifest

        manifest = check_shards(list(self.plan), list(self.results))
        path = write_manifest(manifest, self.manifest_name)
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
    plan = OzzyShardPlanOperator(task_id=f"{task_id}_plan", shards=shards, **kwargs)
    export = OzzyExportOperator.partial(task_id=task_id, **kwargs).expand(shard=plan.output)
    checker = None
    if check:
        checker = OzzyShardCheckOperator(
            task_id=f"{task_id}_check", plan=plan.output, results=export.output, manifest_name=manifest_name
        )
    return ShardedExport(plan, export, checker)
