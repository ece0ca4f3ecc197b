"""Airflow Assets of an export: its writer's destination as an outlet, its reader's source as an inlet.

The places are the OpenLineage datasets of ``lineage.py`` (one mapping for both), written as asset
URIs the way Airflow's providers write them: ``s3://bucket/prefix``, ``gs://bucket/prefix``,
``file:///path`` (no host, as ``common.io``'s ``create_asset``), ``sftp://host:22/path``,
``postgres://host:5432/db/schema/table``, ``kafka://broker:9092/topic``; ``Asset`` itself then
applies the provider's sanitizer of the scheme (default ports, trailing slashes, ...).

Declared when the DAG is parsed, so the scheduler knows them; therefore only from options that hold
no Jinja template and need no Airflow connection (parse time reads no connection). Otherwise the
task has no automatic asset and its log says why; the author passes ``outlets=`` / ``inlets=``.
On success the export's counters become the ``extra`` of the outlet's asset event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_ozzy.operators.lineage import LineageDataset, section_datasets

log = logging.getLogger("airflow_provider_ozzy.operators.assets")

_TABLE_SCHEMES = ("postgres", "mysql")


def asset_uri(dataset: LineageDataset) -> str:
    """The asset URI of a lineage dataset (namespace + name), before Airflow's sanitizer."""
    scheme, _, authority = dataset.namespace.partition("://")
    if scheme == "file":
        return f"file://{dataset.name}"  # the path alone: common.io names local files without a host
    name = dataset.name.replace(".", "/") if scheme in _TABLE_SCHEMES else dataset.name
    return f"{dataset.namespace.rstrip('/')}/{name.lstrip('/')}"


def assets_of(datasets: Iterable[LineageDataset]) -> list[Any]:
    """``Asset`` objects of ``datasets``; one Airflow refuses (its sanitizer) is left out, logged."""
    from airflow.sdk import Asset

    found = []
    for dataset in datasets:
        uri = asset_uri(dataset)
        try:
            found.append(Asset(uri=uri))
        except ValueError as error:
            log.warning("no Airflow asset for %s: %s", uri, error)
    return found


def _holds_template(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(_holds_template(each) for each in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_template(each) for each in value)
    return False


def _no_connection(_conn_id: str) -> None:
    return None  # parse time: never ask Airflow for a connection


def section_assets(section: Any, kind: str) -> tuple[list[Any], str | None]:
    """The assets of a ``reader``/``writer`` section known at parse time, or why there are none."""
    if not isinstance(section, Mapping):
        return [], None
    if _holds_template(section):
        return [], f"its {kind[:-1]} options hold Jinja templates (rendered only when the task runs)"
    assets = assets_of(section_datasets(section, kind, _no_connection))
    if not assets:
        return [], f"{kind[:-1]} {section.get('name')} names no place without an Airflow connection"
    return assets, None


def declare(operator: Any, data: Mapping[str, Any], inlets_given: bool, outlets_given: bool) -> list[str]:
    """Add the source as an inlet and the destination as an outlet unless the author gave them;
    returns why a side has no automatic asset (logged when the task runs)."""
    notes = []
    for given, key, kind, add in (
        (inlets_given, "reader", "readers", operator.add_inlets),
        (outlets_given, "writer", "writers", operator.add_outlets),
    ):
        if given:
            continue
        assets, why = section_assets(data.get(key), kind)
        add(assets)
        if why:
            notes.append(f"no automatic {'inlet' if key == 'reader' else 'outlet'} asset: {why}")
    return notes


def event_extra(stats: Mapping[str, Any], written_under: str | None, job_id: str | None) -> dict[str, Any]:
    """What an export wrote, for its asset event: counts, where, and how far its position got."""
    from airflow_provider_ozzy.core.redaction import mask

    return {
        "items": stats.get("items_written", 0),
        "files": stats.get("files_written", 0),
        "bytes": stats.get("bytes_written", 0),
        "written_under": mask(written_under) if written_under else None,
        "position": {
            "job_id": mask(job_id) if job_id else None,
            "items_read": stats.get("items_read", 0),
            "items_read_this_run": stats.get("items_read_this_run", 0),
            "resumed": stats.get("items_read_this_run", 0) < stats.get("items_read", 0),
            "already_finished": bool(stats.get("already_finished")),
        },
    }


def record_event(operator: Any, context: Any, extra: dict[str, Any]) -> None:
    """Put ``extra`` on the event of every asset outlet of the task (Airflow emits them on success)."""
    from airflow.sdk import Asset

    events = context.get("outlet_events")
    if events is None:
        return
    for outlet in operator.outlets:
        if isinstance(outlet, Asset):
            events[outlet].extra.update(extra)
