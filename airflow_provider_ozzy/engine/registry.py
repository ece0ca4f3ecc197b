"""Module names to classes: short names, ``ozzy.*``, full package paths and legacy ``exporters.*``.

The catalogue maps class names to module files without importing them, so resolving a name costs
one import of the module actually used (the CLI stays fast and imports no Airflow code).
"""

from __future__ import annotations

import importlib
from typing import Any

PACKAGE = "airflow_provider_ozzy"

# kind (package folder) -> class name -> module file inside that folder
CATALOGUE: dict[str, dict[str, str]] = {
    "readers": {
        "RandomReader": "random_reader",
        "FSReader": "fs_reader",
        "S3Reader": "s3_reader",
        "GStorageReader": "gstorage_reader",
        "AzureBlobReader": "azure_blob_reader",
        "SFTPReader": "sftp_reader",
        "KafkaScannerReader": "kafka_scanner_reader",
        "KafkaRandomReader": "kafka_random_reader",
        "HubstorageReader": "hubstorage_reader",
    },
    "writers": {
        "ConsoleWriter": "console_writer",
        "FSWriter": "fs_writer",
        "S3Writer": "s3_writer",
        "GStorageWriter": "gstorage_writer",
        "AzureBlobWriter": "azure_blob_writer",
        "AzureFileWriter": "azure_file_writer",
        "SFTPWriter": "sftp_writer",
        "FTPWriter": "ftp_writer",
        "MailWriter": "mail_writer",
        "CloudsearchWriter": "cloudsearch_writer",
        "GDriveWriter": "gdrive_writer",
        "HubstorageWriter": "hubstorage_writer",
        "ReduceWriter": "reduce_writer",
        "HubstorageReduceWriter": "hubstorage_reduce_writer",
        "OdoWriter": "odo_writer",
        "AggregationWriter": "aggregation_writer",
    },
    "filters": {
        "NoFilter": "no_filter",
        "KeyValueFilter": "key_value_filters",
        "KeyValueRegexFilter": "key_value_filters",
        "PythonexpFilter": "pythonexp_filter",
        "DupeFilter": "dupe_filter",
    },
    "transform": {
        "NoTransform": "no_transform",
        "JqTransform": "jq_transform",
        "PythonexpTransform": "pythonexp_transform",
        "PythonmapTransform": "pythonmap",
        "FlatsonTransform": "flatson_transform",
    },
    "groupers": {
        "NoGrouper": "no_grouper",
        "FileKeyGrouper": "file_key_grouper",
        "PythonExpGrouper": "python_exp_grouper",
    },
    "persistence": {
        "PicklePersistence": "pickle_persistence",
        "AlchemyPersistence": "alchemy_persistence",
        "PostgresqlPersistence": "alchemy_persistence",
        "MysqlPersistence": "alchemy_persistence",
        "SqlitePersistence": "alchemy_persistence",
        "AirflowPersistence": "airflow_persistence",
        "XComPersistence": "xcom_persistence",
    },
    "stats_managers": {
        "BasicStatsManager": "basic_stats_manager",
        "LoggingStatsManager": "logging_stats_manager",
    },
    "export_formatter": {
        "JsonExportFormatter": "json_export_formatter",
        "CSVExportFormatter": "csv_export_formatter",
        "XMLExportFormatter": "xml_export_formatter",
        "ParquetExportFormatter": "parquet_export_formatter",
    },
    "decompressors": {
        "AutoDecompressor": "stream_decompressors",
        "ZLibDecompressor": "stream_decompressors",
        "GzipDecompressor": "stream_decompressors",
        "Bz2Decompressor": "stream_decompressors",
        "ZipDecompressor": "stream_decompressors",
        "ZstdDecompressor": "stream_decompressors",
        "NoDecompressor": "stream_decompressors",
    },
    "deserializers": {
        "JsonLinesDeserializer": "stream_deserializers",
        "CSVDeserializer": "stream_deserializers",
        "ParquetDeserializer": "parquet_deserializer",
    },
    "write_buffers": {
        "WriteBuffer": "base",
        "ReservoirSamplingWriteBuffer": "reservoir_sampling_buffer",
    },
    "notifications": {
        "WebhookNotifier": "webhook_notifier",
        "SESMailNotifier": "ses_mail_notifier",
    },
    "bypasses": {
        "S3Bypass": "s3_bypass",
        "S3ToAzureBlobBypass": "s3_to_azure_blob_bypass",
        "S3ToAzureFileBypass": "s3_to_azure_file_bypass",
        "StreamBypass": "stream_bypass",
    },
}

# Config sections (and nested places) to the kind of module they hold.
SECTION_KINDS: dict[str, str] = {
    "reader": "readers",
    "writer": "writers",
    "filter": "filters",
    "filter_before": "filters",
    "filter_after": "filters",
    "transform": "transform",
    "grouper": "groupers",
    "persistence": "persistence",
    "stats_manager": "stats_managers",
    "formatter": "export_formatter",
    "notifications": "notifications",
    "decompressor": "decompressors",
    "deserializer": "deserializers",
    "write_buffer": "write_buffers",
}

# Each kind's base class, by name: the engine checks a section's class against it without importing
# any module kind at import time (the engine sits below them; see docs/design.md, "Layers").
KIND_BASES: dict[str, str] = {
    "readers": "readers.base_reader.BaseReader",
    "writers": "writers.base_writer.BaseWriter",
    "filters": "filters.base_filter.BaseFilter",
    "transform": "transform.base_transform.BaseTransform",
    "groupers": "groupers.base_grouper.BaseGrouper",
    "persistence": "persistence.base_persistence.BasePersistence",
    "stats_managers": "stats_managers.basic_stats_manager.BasicStatsManager",
    "export_formatter": "export_formatter.base_export_formatter.BaseExportFormatter",
    "notifications": "notifications.base_notifier.BaseNotifier",
    "decompressors": "decompressors.stream_decompressors.BaseDecompressor",
    "deserializers": "deserializers.stream_deserializers.BaseDeserializer",
}
STREAM_READER_BASE = "readers.base_stream_reader.StreamBasedReader"


def package_class(path: str) -> type:
    """The class at ``path`` inside the package (``readers.base_reader.BaseReader``)."""
    module_path, _, class_name = path.rpartition(".")
    loaded: type = getattr(importlib.import_module(f"{PACKAGE}.{module_path}"), class_name)
    return loaded


def base_class(kind: str) -> type | None:
    """The base class of ``kind``'s modules (``None`` for a kind without one, such as bypasses)."""
    path = KIND_BASES.get(kind)
    return package_class(path) if path else None


# Old class names that differ from Ozzy's.
ALIASES: dict[str, str] = {
    "JQTransform": "JqTransform",
    "PythonMapTransform": "PythonmapTransform",
    "KeyFileGrouper": "FileKeyGrouper",
    "AggregationStatsWriter": "AggregationWriter",
    "ODOWriter": "OdoWriter",
    "CloudSearchWriter": "CloudsearchWriter",
    "S3AzureBlobBypass": "S3ToAzureBlobBypass",
    "S3AzureFileBypass": "S3ToAzureFileBypass",
    "S3MailNotifier": "SESMailNotifier",  # the name exporters' documentation and sample configs use
    "BaseAlchemyPersistence": "AlchemyPersistence",
}

# Module paths of exporters' documentation (docs/modules.rst, its typos included) and package, after
# ``exporters.`` or ``ozzy.``, whose Ozzy module differs or holds no catalogued class:
# path -> (Ozzy module under the package, the class the path names when given alone).
MODULE_PATHS: dict[str, tuple[str, str]] = {
    "export_managers.basic_exporter": ("export_managers.basic_exporter", "BasicExporter"),
    "bypasses.base": ("bypasses.base_bypass", "BaseBypass"),
    "bypasses.s3_to_s3_bypass": ("bypasses.s3_bypass", "S3Bypass"),
    "readers.base_reader": ("readers.base_reader", "BaseReader"),
    "readers.base_stream_reader": ("readers.base_stream_reader", "StreamBasedReader"),
    "writers.base_writer": ("writers.base_writer", "BaseWriter"),
    "writers.filebase_base_writer": ("writers.filebase_base_writer", "FilebaseBaseWriter"),
    "writers.aggregation_writer": ("writers.aggregation_writer", "AggregationWriter"),
    "writers.aggregation_stats_writer": ("writers.aggregation_writer", "AggregationWriter"),
    "writers.hs_reduce_writer": ("writers.hubstorage_reduce_writer", "HubstorageReduceWriter"),
    "writers.odo_writer": ("writers.odo_writer", "OdoWriter"),
    "contrib.writers.odo_writer": ("writers.odo_writer", "OdoWriter"),
    "transform.base_transform": ("transform.base_transform", "BaseTransform"),
    "filters.base_filter": ("filters.base_filter", "BaseFilter"),
    "filters.key_value_filter": ("filters.key_value_filters", "KeyValueFilter"),
    "filters.key_value_regex_filter": ("filters.key_value_filters", "KeyValueRegexFilter"),
    "persistence.base_persistence": ("persistence.base_persistence", "BasePersistence"),
    "persistence.alchemy_persistence": ("persistence.alchemy_persistence", "AlchemyPersistence"),
    "notifications.base_notifier": ("notifications.base_notifier", "BaseNotifier"),
    "notifications.s3_mail_notifier": ("notifications.ses_mail_notifier", "SESMailNotifier"),
    "groupers.base_grouper": ("groupers.base_grouper", "BaseGrouper"),
    "stats_managers.base_stats_manager": ("stats_managers.basic_stats_manager", "BasicStatsManager"),
    "stats_managers.base_stats_managers": ("stats_managers.basic_stats_manager", "BasicStatsManager"),
    "export_formatter.base_export_formatter": (
        "export_formatter.base_export_formatter",
        "BaseExportFormatter",
    ),
    "export_formatters.base_export_formatter": (
        "export_formatter.base_export_formatter",
        "BaseExportFormatter",
    ),
    "decompressors": ("decompressors.stream_decompressors", "BaseDecompressor"),
    "deserializers": ("deserializers.stream_deserializers", "BaseDeserializer"),
    "write_buffers.base": ("write_buffers.base", "WriteBuffer"),
}

# Base classes of exporters that Ozzy names otherwise (found through a module path only).
_BASE_ALIASES: dict[str, str] = {"BaseStatsManager": "BasicStatsManager"}

_LEGACY_PREFIXES = ("exporters.", "ozzy.")


class UnknownModuleError(LookupError):
    """A module name that resolves to nothing; the message lists close names."""


def kind_of(class_name: str) -> str | None:
    for kind, classes in CATALOGUE.items():
        if class_name in classes:
            return kind
    return None


def _from_catalogue(class_name: str, kind: str | None) -> type | None:
    class_name = ALIASES.get(class_name, class_name)
    kinds = [kind] if kind else list(CATALOGUE)
    for each in kinds:
        module_file = CATALOGUE.get(each, {}).get(class_name)
        if module_file:
            module = importlib.import_module(f"{PACKAGE}.{each}.{module_file}")
            return getattr(module, class_name)
    return None


def resolve(name: str, kind: str | None = None) -> type:
    """Return the class a config ``name`` denotes, for a section of ``kind`` when given."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownModuleError("module name must be a non-empty string")
    name = name.strip()
    if "." not in name or name.startswith(_LEGACY_PREFIXES):
        found = _from_catalogue(name.rsplit(".", 1)[-1], kind)
        if found is not None:
            return found
        if "." in name:
            found = _from_module_path(name.split(".", 1)[1])
            if found is not None:
                return found
        if "." not in name or name.startswith("ozzy."):
            raise UnknownModuleError(_unknown_message(name, kind))
    module_path, _, class_name = name.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ImportError as error:
        if name.startswith("exporters."):  # a legacy name Ozzy does not provide
            raise UnknownModuleError(_unknown_message(name, kind)) from None
        raise UnknownModuleError(f"cannot import module '{module_path}' for '{name}': {error}") from None
    except Exception as error:  # '.', '..x' (ValueError, TypeError) or a module failing as it imports
        raise UnknownModuleError(
            f"cannot import module '{module_path}' for '{name}': {type(error).__name__}: {error}"
        ) from None
    found_class: Any = getattr(module, class_name, None)
    if not isinstance(found_class, type):
        raise UnknownModuleError(f"'{module_path}' has no class '{class_name}'")
    return found_class


def _from_module_path(path: str) -> type | None:
    """The class an exporters-style module path names (``readers.base_reader`` alone, or with a
    class: ``readers.base_reader.BaseReader``), or ``None``."""
    if path in MODULE_PATHS:
        module_name, class_name = MODULE_PATHS[path]
    elif path.rpartition(".")[0] in MODULE_PATHS:
        module_name = MODULE_PATHS[path.rpartition(".")[0]][0]
        class_name = path.rpartition(".")[2]
    else:
        kind, _, rest = path.partition(".")
        module_file, _, class_name = rest.rpartition(".") if "." in rest else (rest, "", "")
        if kind not in CATALOGUE or not module_file.isidentifier():
            return None
        module_name = f"{kind}.{module_file}"
        if not class_name:  # a module path alone: the catalogued class that lives in it, if just one
            owned = [name for name, file in CATALOGUE[kind].items() if file == module_file]
            if len(owned) != 1:
                return None
            class_name = owned[0]
    try:
        module = importlib.import_module(f"{PACKAGE}.{module_name}")
    except ImportError:
        return None
    class_name = _BASE_ALIASES.get(class_name, ALIASES.get(class_name, class_name))
    found = getattr(module, class_name, None)
    return found if isinstance(found, type) else None


def _unknown_message(name: str, kind: str | None) -> str:
    import difflib

    class_name = name.rsplit(".", 1)[-1]
    pool = list(CATALOGUE.get(kind, {})) if kind else [c for cs in CATALOGUE.values() for c in cs]
    close = difflib.get_close_matches(class_name, pool, n=1)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(pool))}"
    where = f" {kind}" if kind else ""
    other = kind_of(ALIASES.get(class_name, class_name))
    if kind and other and other != kind:
        hint = f": {class_name} is a {other} module, it cannot be used here (known {kind}: {', '.join(sorted(pool))})"
    return f"unknown{where} module '{name}'{hint}"


def all_modules() -> list[tuple[str, str, type]]:
    """Every catalogued module as (kind, class name, class), importing each."""
    found = []
    for kind, classes in CATALOGUE.items():
        for class_name in classes:
            cls = _from_catalogue(class_name, kind)
            if cls is not None:
                found.append((kind, class_name, cls))
    return found
