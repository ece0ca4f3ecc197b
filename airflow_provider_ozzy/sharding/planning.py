"""Split one export into N independent shards by its reader's natural units (SPEC §5, scale-out).

A shard is a reader-options override selecting some units (files, keys, partitions, prefixes)
plus its index: ``{"index", "count", "units", "bytes", "reader_options"}``, and the writer section
the check step lists the destination with (``writer``; secrets withheld, named in
``writer_withheld``). Units are listed with the reader's own code (``get_read_streams``), sorted,
and assigned deterministically (largest first to the lightest shard, ties to the shard with fewer
units, then the lowest index), so the same listing always gives the same shards. In Airflow the
plan is the planner task's XCom: a retry of shard k reads exactly the units of its first try.

Each shard writes under its own names (``Filebase.sharded``: the file-name part gets
``shardNNN_``) and keeps its own position (the task state store is scoped per map_index;
``persistence_state_id`` gets ``/shard-N``). ``SHARDERS`` is the extension point, keyed by reader
class name.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable
from typing import Any

from airflow_provider_ozzy.core.errors import ConfigurationError
from airflow_provider_ozzy.core.filebase import Filebase
from airflow_provider_ozzy.engine.config import ExportConfig, normalize, resolve_section
from airflow_provider_ozzy.readers.base_reader import BaseReader

# a unit: (name, size in bytes or None)
Unit = tuple[str, int | None]
# reader, count -> one override of the reader's options per shard (with units and bytes)
Sharder = Callable[[BaseReader, int], list[dict[str, Any]]]
# writer options that name one file per job: sharded jobs would overwrite each other's
ONE_PER_JOB_OPTIONS = ("generate_md5", "save_pointer")


def assign(units: list[Unit], count: int) -> list[list[Unit]]:
    """Units over ``count`` shards, balanced by size; deterministic, each shard sorted by name."""
    if count < 1:
        raise ConfigurationError(f"sharding: the number of shards must be at least 1, got {count}")
    shards: list[list[Unit]] = [[] for _ in range(count)]
    loads = [0] * count
    for unit in sorted(set(units), key=lambda unit: (-(unit[1] or 0), unit[0])):
        target = min(range(count), key=lambda index: (loads[index], len(shards[index]), index))
        shards[target].append(unit)
        loads[target] += unit[1] or 0
    return [sorted(shard) for shard in shards]


def _listed(reader: BaseReader) -> list[Unit]:
    streams = reader.get_read_streams()  # type: ignore[attr-defined]
    return [(stream.name, stream.size) for stream in streams]


def _described(
    groups: list[list[Unit]], override: Callable[[list[str]], dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "units": [name for name, _ in group],
            "bytes": sum(size or 0 for _, size in group),
            "reader_options": override([name for name, _ in group]),
        }
        for group in groups
    ]


def fs_shards(reader: BaseReader, count: int) -> list[dict[str, Any]]:
    """FSReader: files; a shard reads an explicit ``input`` list of ``{"file": path}``."""
    groups = assign(_listed(reader), count)
    return _described(groups, lambda names: {"input": [{"file": name} for name in names]})


def prefix_listing_shards(reader: BaseReader, count: int) -> list[dict[str, Any]]:
    """S3, GCS, Azure Blob and SFTP readers: keys (paths), through the readers' own listing.

    A shard lists under the common prefix of its keys (dates already applied, ``%`` escaped) and
    keeps exactly its keys with an anchored ``pattern``; ``prefix_pointer`` and dates are dropped.
    """
    units = _listed(reader)
    every = os.path.commonprefix([name for name, _ in units]) if units else ""

    def override(names: list[str]) -> dict[str, Any]:
        prefix = os.path.commonprefix(names) if names else every
        keys = "|".join(re.escape(name) for name in names)
        return {
            "prefix": prefix.replace("%", "%%"),
            "prefix_pointer": None,
            "prefix_format_using_date": None,
            "pattern": rf"\A(?:{keys})\Z" if names else r"\A(?!)",
        }

    return _described(assign(units, count), override)


def kafka_shards(reader: BaseReader, count: int) -> list[dict[str, Any]]:
    """Kafka partitions (``readers/kafka_shards.py``, imported only when used), dealt round-robin.

    A topic with fewer partitions than ``count`` gives fewer shards.
    """
    from airflow_provider_ozzy.sharding.kafka_shards import kafka_partition_shards

    return [
        {
            "units": [str(partition) for partition in override["partitions"]],
            "bytes": 0,
            "reader_options": dict(override),
        }
        for override in kafka_partition_shards(reader, count)
    ]


def hubstorage_shards(reader: BaseReader, count: int) -> list[dict[str, Any]]:
    """Scrapy Cloud collections: key prefixes (HubstorageReader's ``prefixes`` option), round-robin."""
    prefixes = reader.options.get("prefixes")
    if not prefixes:
        raise ConfigurationError(
            "sharding: reader HubstorageReader: option 'prefixes' must list the key prefixes to shard by"
        )
    groups = assign([(str(prefix), None) for prefix in prefixes], count)
    return _described(groups, lambda names: {"prefixes": names})


SHARDERS: dict[str, Sharder] = {
    "FSReader": fs_shards,
    "S3Reader": prefix_listing_shards,
    "GStorageReader": prefix_listing_shards,
    "AzureBlobReader": prefix_listing_shards,
    "SFTPReader": prefix_listing_shards,
    "KafkaScannerReader": kafka_shards,
    "KafkaRandomReader": kafka_shards,
    "HubstorageReader": hubstorage_shards,
}


def sharder_for(reader_class: type) -> Sharder:
    """The sharder of a reader class (or of its nearest catalogued base class)."""
    for cls in reader_class.__mro__:
        if cls.__name__ in SHARDERS:
            return SHARDERS[cls.__name__]
    raise ConfigurationError(
        f"sharding: reader {reader_class.__name__} cannot be split into shards "
        f"(readers with shards: {', '.join(sorted(SHARDERS))})"
    )


def sharding_problems(config: ExportConfig | dict[str, Any]) -> list[str]:
    """Why ``config`` cannot run sharded (empty when it can); checked before anything is read."""
    from airflow_provider_ozzy.engine.registry import resolve

    data = normalize(config.data if isinstance(config, ExportConfig) else config)
    problems = []
    try:
        sharder_for(resolve(data["reader"]["name"], "readers"))
    except ConfigurationError as error:
        problems.append(str(error))
    writer = data.get("writer") or {}
    options = writer.get("options") or {}
    for option in ONE_PER_JOB_OPTIONS:
        if options.get(option):
            problems.append(
                f"sharding: writer {writer.get('name')}: option '{option}' names one file per job, which the "
                "shards would overwrite; the shard check step writes a manifest of every file instead"
            )
    return problems


def plan_shards(config: ExportConfig | dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` shards of the job (fewer only for Kafka topics with fewer partitions); the reader
    lists its units once, here."""
    problems = sharding_problems(config)
    if problems:
        raise ConfigurationError(errors=problems)
    data = normalize(config.data if isinstance(config, ExportConfig) else config)
    reader = resolve_section(data["reader"], "readers").build()
    try:
        planned = sharder_for(type(reader))(reader, count)
    finally:
        reader.close()
    writer = writer_without_secrets(data.get("writer") or {})
    return [dict(shard, index=index, count=len(planned), **writer) for index, shard in enumerate(planned)]


def writer_without_secrets(section: dict[str, Any]) -> dict[str, Any]:
    """The writer section the shard check reaches the destination with, as the plan (an XCom) carries
    it: ``writer`` without its secret options and URL options with secrets in them, and their names
    (``writer_withheld``), which the check takes from their environment variables or fails naming."""
    from airflow_provider_ozzy.engine.secret_options import strip_secrets

    _, paths = strip_secrets({"writer": section})
    withheld = sorted({str(path[2]) for path in paths if len(path) > 2 and path[1] == "options"})
    options = {name: value for name, value in (section.get("options") or {}).items() if name not in withheld}
    return {"writer": dict(section, options=options), "writer_withheld": withheld}


def apply_shard(data: dict[str, Any], shard: dict[str, Any]) -> dict[str, Any]:
    """The config of one shard: its reader options, its file names, its own state id."""
    missing = [key for key in ("index", "count", "reader_options") if key not in shard]
    if missing:
        raise ConfigurationError(f"sharding: the shard lacks {', '.join(missing)} (not made by plan_shards?)")
    data = copy.deepcopy(data)
    index, count = int(shard["index"]), int(shard["count"])
    reader = data.setdefault("reader", {})
    reader["options"] = dict(reader.get("options") or {}, **shard["reader_options"])
    writer = data.get("writer") or {}
    options = writer.get("options") or {}
    if "filebase" in options:
        writer["options"] = dict(options, filebase=Filebase.sharded(options["filebase"], index, count))
    exporter_options = data.get("exporter_options") or {}
    if exporter_options.get("persistence_state_id") is not None:
        state_id = f"{exporter_options['persistence_state_id']}/shard-{index}"
        data["exporter_options"] = dict(exporter_options, persistence_state_id=state_id)
    return data
