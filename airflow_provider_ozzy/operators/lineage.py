"""OpenLineage input and output datasets of an export, from its reader and writer sections.

One function per reader/writer family turns a section's options into datasets named after the
OpenLineage naming conventions (``s3://bucket`` + key prefix, ``gs://bucket``,
``wasbs://container@account``, ``sftp://host:port``, ``ftp://host:port``, ``kafka://host:port`` +
topic, ``file://host`` + path, ``postgres://host:port`` + ``db.schema.table``, ...). Paths are the
fixed directory part of a reader's prefix (before any strftime code, placeholder or wildcard) or of
a writer's ``filebase`` (``Filebase.lineage_directory``), so one export keeps one dataset across runs.

The table is keyed by class name, so modules need no code of their own, subclasses inherit their
base's mapping, and modules not installed here are still mapped by the name a config gives.
Nothing here imports OpenLineage except :func:`operator_lineage`, which the operator calls from its
OpenLineage hooks: the provider stays optional. Hosts come from Airflow connections only when the
connection can be read; a dataset name never holds a login, password or key.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_ozzy.core.filebase import Filebase

log = logging.getLogger("airflow_provider_ozzy.operators.lineage")


@dataclass(frozen=True)
class LineageDataset:
    """An OpenLineage dataset identity: the data source (namespace) and the data inside it (name)."""

    namespace: str
    name: str


Options = Mapping[str, Any]
ConnectionLookup = Callable[[str], Any]
Mapper = Callable[[Options, ConnectionLookup], list[LineageDataset]]


def airflow_connection(conn_id: str) -> Any:
    """The Airflow connection ``conn_id``, or ``None`` when it cannot be read (no Airflow, not found)."""
    try:
        from airflow.providers.common.compat.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except Exception as error:  # AirflowNotFoundException, no Airflow context, no Airflow at all
        log.warning(
            "OpenLineage: connection '%s' not readable (%s); dataset left out", conn_id, type(error).__name__
        )
        return None


# -- paths ---------------------------------------------------------------------------------------
_DYNAMIC = re.compile(r"[{%*?\[]")


def fixed_directory(path: str, root: str = "/") -> str:
    """The directory part of a reader's ``path`` before any strftime code, ``{placeholder}`` or wildcard.

    ``out/%Y/{groups[0]}/items_`` -> ``out``; a path that ends with ``/`` is a directory itself.
    """
    match = _DYNAMIC.search(path)
    fixed = path[: match.start()] if match else path
    directory = fixed if fixed.endswith("/") else posixpath.dirname(fixed)
    directory = directory.rstrip("/")
    if not directory:
        return "/" if path.startswith("/") else root
    return directory


def _written_directory(options: Options, root: str = "/") -> str:
    """The directory a writer's ``filebase`` writes under, as every run names it."""
    return Filebase.lineage_directory(str(options["filebase"]), root)


def _prefixes(options: Options) -> list[str]:
    if options.get("prefix_pointer"):
        return [""]  # the prefixes are in an object read at run time: the whole bucket
    prefix = options.get("prefix") or ""
    return list(prefix) if isinstance(prefix, (list, tuple)) else [prefix]


def _strip_scheme(value: str, scheme: str) -> str:
    return value[len(scheme) :] if value.startswith(scheme) else value


def _unique(datasets: list[LineageDataset]) -> list[LineageDataset]:
    return list(dict.fromkeys(datasets))


def _host_port(host: str, port: Any) -> str:
    return f"{host}:{port}" if port else host


def local_host() -> str:
    """This machine's name, the host of ``file://`` namespaces (no DNS lookup)."""
    return socket.gethostname()


# -- object storage -------------------------------------------------------------------------------
def _bucket_reader(scheme: str) -> Mapper:
    def mapper(options: Options, _connection: ConnectionLookup) -> list[LineageDataset]:
        bucket = _strip_scheme(str(options["bucket"]), f"{scheme}://").strip("/")
        names = [fixed_directory(prefix, root="/") for prefix in _prefixes(options)]
        return _unique([LineageDataset(f"{scheme}://{bucket}", name) for name in names])

    return mapper


def _bucket_writer(scheme: str) -> Mapper:
    def mapper(options: Options, _connection: ConnectionLookup) -> list[LineageDataset]:
        bucket = _strip_scheme(str(options["bucket"]), f"{scheme}://").strip("/")
        return [LineageDataset(f"{scheme}://{bucket}", _written_directory(options))]

    return mapper


def _azure_account(options: Options, connection: ConnectionLookup, conn_option: str) -> str | None:
    """The storage account name: the options', else the connection's (its login or host URL)."""
    if options.get("account_url"):
        return _account_from_url(str(options["account_url"])) or options.get("account_name")
    if options.get("account_name"):
        return str(options["account_name"])
    found = connection(options.get(conn_option) or _AZURE_DEFAULT_CONNECTIONS[conn_option])
    if found is None:
        return None
    extra = getattr(found, "extra_dejson", None) or {}
    host = str(getattr(found, "host", None) or extra.get("account_url") or "")
    if "://" not in host and "." in host:  # acct.blob.core.windows.net
        host = f"https://{host}"
    return _account_from_url(host) if host else (getattr(found, "login", None) or None)


_AZURE_DEFAULT_CONNECTIONS = {
    "wasb_conn_id": "wasb_default",
    "azure_fileshare_conn_id": "azure_fileshare_default",
}


def _account_from_url(url: str) -> str | None:
    """``https://acct.blob.core.windows.net`` -> ``acct``; emulators (``http://127.0.0.1:10000/acct``) -> ``acct``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.count(".") >= 2 and not host.replace(".", "").isdigit():
        return host.split(".", 1)[0]
    segment = parts.path.strip("/").split("/", 1)[0]
    return segment or host or None


def _azure_blob_reader(options: Options, connection: ConnectionLookup) -> list[LineageDataset]:
    account = _azure_account(options, connection, "wasb_conn_id")
    if not account:
        return []
    namespace = f"wasbs://{options['container']}@{account}"
    return _unique([LineageDataset(namespace, fixed_directory(prefix)) for prefix in _prefixes(options)])


def _azure_blob_writer(options: Options, connection: ConnectionLookup) -> list[LineageDataset]:
    account = _azure_account(options, connection, "wasb_conn_id")
    if not account:
        return []
    namespace = f"wasbs://{options['container']}@{account}"
    return [LineageDataset(namespace, _written_directory(options))]


def _azure_file_writer(options: Options, connection: ConnectionLookup) -> list[LineageDataset]:
    # no OpenLineage convention for Azure Files: the share's URL, as the service names it
    account = _azure_account(options, connection, "azure_fileshare_conn_id")
    if not account:
        return []
    directory = _written_directory(options, root="")
    name = f"{options['share']}/{directory}".rstrip("/")
    return [LineageDataset(f"https://{account}.file.core.windows.net", name)]


# -- servers -------------------------------------------------------------------------------------
def _server(
    scheme: str, conn_option: str, default_port: int
) -> Callable[[Options, ConnectionLookup], str | None]:
    def namespace(options: Options, connection: ConnectionLookup) -> str | None:
        if options.get(conn_option):
            found = connection(str(options[conn_option]))
            if found is None or not getattr(found, "host", None):
                return None
            return f"{scheme}://{_host_port(found.host, found.port or default_port)}"
        if not options.get("host"):
            return None
        return f"{scheme}://{_host_port(str(options['host']), options.get('port') or default_port)}"

    return namespace


_sftp = _server("sftp", "sftp_conn_id", 22)
_ftp = _server("ftp", "ftp_conn_id", 21)


def _remote_reader(server: Callable[[Options, ConnectionLookup], str | None]) -> Mapper:
    def mapper(options: Options, connection: ConnectionLookup) -> list[LineageDataset]:
        namespace = server(options, connection)
        if namespace is None:
            return []
        return _unique([LineageDataset(namespace, fixed_directory(prefix)) for prefix in _prefixes(options)])

    return mapper


def _remote_writer(server: Callable[[Options, ConnectionLookup], str | None]) -> Mapper:
    def mapper(options: Options, connection: ConnectionLookup) -> list[LineageDataset]:
        namespace = server(options, connection)
        if namespace is None:
            return []
        return [LineageDataset(namespace, _written_directory(options))]

    return mapper


# -- local files ---------------------------------------------------------------------------------
def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _fs_reader(options: Options, _connection: ConnectionLookup) -> list[LineageDataset]:
    entries = options.get("input")
    entries = entries if isinstance(entries, list) else [entries]
    namespace = f"file://{local_host()}"
    names: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            names.append(_absolute(entry))
        elif isinstance(entry, Mapping):
            if entry.get("dir"):
                names.append(_absolute(str(entry["dir"])))
            elif entry.get("file"):
                names.append(_absolute(str(entry["file"])))
            elif entry.get("dir_pointer"):
                names.extend(_pointed_directory(str(entry["dir_pointer"])))
    return _unique([LineageDataset(namespace, name) for name in names])


def _pointed_directory(pointer: str) -> list[str]:
    """The directory a ``dir_pointer`` file names (read as FSReader reads it), or nothing."""
    try:
        with open(_absolute(pointer), encoding="utf-8") as handle:
            directory = handle.read().strip()
    except OSError:
        return []
    return [_absolute(directory)] if directory else []


def _fs_writer(options: Options, _connection: ConnectionLookup) -> list[LineageDataset]:
    directory = _written_directory(options, root=".")
    return [LineageDataset(f"file://{local_host()}", _absolute(directory))]


# -- streams and stores --------------------------------------------------------------------------
def _kafka(options: Options, connection: ConnectionLookup) -> list[LineageDataset]:
    """``kafka://`` + the first bootstrap server (``brokers``, else the connection's host field)."""
    brokers = options.get("brokers")
    if isinstance(brokers, str):
        brokers = brokers.split(",")
    default_port: Any = 9092
    if not brokers and options.get("kafka_conn_id"):
        found = connection(str(options["kafka_conn_id"]))
        if found is None:
            return []
        extra = getattr(found, "extra_dejson", None) or {}
        servers = getattr(found, "host", None) or extra.get("bootstrap.servers") or ""
        brokers = [part for part in str(servers).split(",") if part.strip()]
        default_port = getattr(found, "port", None) or default_port
    if not brokers or not options.get("topic"):
        return []
    bootstrap = _without_credentials(str(brokers[0]).strip(), default_port)
    topics = options["topic"] if isinstance(options["topic"], list) else [options["topic"]]
    return [LineageDataset(f"kafka://{bootstrap}", str(topic)) for topic in topics]


def _without_credentials(address: str, default_port: Any) -> str:
    """``host:port`` of a broker given as ``host[:port]`` or ``scheme://user:pass@host:port``."""
    parts = urlsplit(address if "://" in address else f"kafka://{address}")
    return _host_port(parts.hostname or address, parts.port or default_port)


_HUBSTORAGE_ENDPOINT = "storage.scrapinghub.com"


def _hubstorage(options: Options, connection: ConnectionLookup) -> list[LineageDataset]:
    """No OpenLineage convention for Scrapy Cloud: its storage host, then project/s/collection."""
    if not options.get("project_id") or not options.get("collection_name"):
        return []
    endpoint = options.get("endpoint") or ""
    if not endpoint and options.get("scrapy_cloud_conn_id"):
        found = connection(str(options["scrapy_cloud_conn_id"]))
        endpoint = (getattr(found, "host", None) or "") if found is not None else ""
    endpoint = str(endpoint)
    host = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}").netloc if endpoint else ""
    host = host.rsplit("@", 1)[-1] or _HUBSTORAGE_ENDPOINT
    name = f"{options['project_id']}/s/{options['collection_name']}"
    return [LineageDataset(f"hubstorage://{host}", name)]


_SQL_SCHEMES = {"postgresql": ("postgres", 5432), "postgres": ("postgres", 5432), "mysql": ("mysql", 3306)}
_CONN_TYPE_SCHEMES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "sqlite": "sqlite",
}


def _sql(options: Options, connection: ConnectionLookup) -> list[LineageDataset]:
    """A table: ``postgres://host:port`` + ``db.schema.table``, ``mysql://host:port`` + ``db.table``."""
    table = options.get("table")
    url = options.get("url") or options.get("odo_uri")
    if url and "::" in str(url):  # exporters' odo URIs: postgresql://...::table
        url, _, table = str(url).rpartition("::")
    if not table:
        return []
    if url:
        from sqlalchemy.engine import make_url

        parsed = make_url(str(url))  # only its host, port and database are used: never the login
        driver = parsed.get_backend_name()
        host, port, database = parsed.host, parsed.port, parsed.database or ""
    elif options.get("sql_conn_id"):
        found = connection(str(options["sql_conn_id"]))
        if found is None:
            return []
        driver = _CONN_TYPE_SCHEMES.get((found.conn_type or "").lower(), (found.conn_type or "").lower())
        host, port, database = found.host, found.port, found.schema or ""
    else:
        return []
    return _table_dataset(driver, host, port, database, str(table))


def _table_dataset(
    driver: str, host: str | None, port: int | None, database: str, table: str
) -> list[LineageDataset]:
    if driver == "sqlite":
        return [LineageDataset(f"sqlite://{_absolute(database or host or '')}", table)]
    scheme, default_port = _SQL_SCHEMES.get(driver, (driver, None))
    if not host:
        return []
    namespace = f"{scheme}://{_host_port(host, port or default_port)}"
    if "." in table:  # already schema.table
        return [LineageDataset(namespace, f"{database}.{table}" if database else table)]
    if scheme == "postgres":
        return [LineageDataset(namespace, f"{database}.public.{table}")]
    return [LineageDataset(namespace, f"{database}.{table}" if database else table)]


def _cloudsearch(options: Options, _connection: ConnectionLookup) -> list[LineageDataset]:
    host = urlsplit(str(options["endpoint_url"])).hostname
    return [LineageDataset(f"https://{host}", "documents")] if host else []


def _gdrive(options: Options, _connection: ConnectionLookup) -> list[LineageDataset]:
    name = f"{options.get('folder_id') or 'root'}/{_written_directory(options, root='')}"
    return [LineageDataset("gdrive://drive.google.com", name.rstrip("/"))]


READERS: dict[str, Mapper] = {
    "FSReader": _fs_reader,
    "S3Reader": _bucket_reader("s3"),
    "GStorageReader": _bucket_reader("gs"),
    "AzureBlobReader": _azure_blob_reader,
    "SFTPReader": _remote_reader(_sftp),
    "FTPReader": _remote_reader(_ftp),
    "KafkaScannerReader": _kafka,
    "KafkaRandomReader": _kafka,
    "HubstorageReader": _hubstorage,
}

WRITERS: dict[str, Mapper] = {
    "FSWriter": _fs_writer,
    "S3Writer": _bucket_writer("s3"),
    "GStorageWriter": _bucket_writer("gs"),
    "AzureBlobWriter": _azure_blob_writer,
    "AzureFileWriter": _azure_file_writer,
    "SFTPWriter": _remote_writer(_sftp),
    "FTPWriter": _remote_writer(_ftp),
    "HubstorageWriter": _hubstorage,
    "OdoWriter": _sql,
    "CloudsearchWriter": _cloudsearch,
    "GDriveWriter": _gdrive,
}


# -- sections and configs ------------------------------------------------------------------------
def _mapper_and_options(
    section: Mapping[str, Any], kind: str, table: dict[str, Mapper]
) -> tuple[Mapper | None, dict[str, Any]]:
    """The mapper of a section's module (by its class, then its bases) and its resolved options.

    When the class imports, options are resolved like the export resolves them (defaults and
    environment fallbacks); otherwise the mapping uses the options as given.
    """
    from airflow_provider_ozzy.engine.registry import ALIASES

    name = str(section.get("name") or "")
    given = dict(section.get("options") or {})
    class_name = name.rsplit(".", 1)[-1]
    class_name = ALIASES.get(class_name, class_name)
    try:
        from airflow_provider_ozzy.core.options import merged_options, resolve_options
        from airflow_provider_ozzy.engine.registry import resolve

        cls = resolve(name, kind)
    except Exception:  # a module not installed here: map it by its name
        return table.get(class_name), given
    values, _problems = resolve_options(merged_options(cls), given)
    options = {**given, **values}
    for klass in cls.__mro__:
        if klass.__name__ in table:
            return table[klass.__name__], options
    return table.get(class_name), options


def section_datasets(
    section: Mapping[str, Any] | None, kind: str, connection: ConnectionLookup = airflow_connection
) -> list[LineageDataset]:
    """Datasets of one ``reader`` (kind ``readers``) or ``writer`` (``writers``) section."""
    if not isinstance(section, Mapping):
        return []
    table = READERS if kind == "readers" else WRITERS
    mapper, options = _mapper_and_options(section, kind, table)
    if mapper is None:
        return []
    try:
        return mapper(options, connection)
    except Exception as error:  # lineage never fails an export: an option missing or of a wrong shape
        log.warning("OpenLineage: no dataset for %s (%s)", section.get("name"), type(error).__name__)
        return []


def config_datasets(
    data: Mapping[str, Any], connection: ConnectionLookup = airflow_connection
) -> tuple[list[LineageDataset], list[LineageDataset]]:
    """``(inputs, outputs)`` of a job config's reader and writer."""
    return (
        section_datasets(data.get("reader"), "readers", connection),
        section_datasets(data.get("writer"), "writers", connection),
    )


def operator_lineage(
    data: Mapping[str, Any],
    connection: ConnectionLookup = airflow_connection,
    statistics: Mapping[str, Any] | None = None,
) -> Any:
    """An ``OperatorLineage`` for a job config; imports the OpenLineage provider (an optional extra).

    :param statistics: the export's counters once it ran (``items_written``, ``bytes_written``,
        ``files_written``): they become the output statistics facet of the written dataset.
    """
    from airflow.providers.common.compat.openlineage.facet import (
        InputDataset,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
    )
    from airflow.providers.openlineage.extractors import OperatorLineage

    inputs, outputs = config_datasets(data, connection)
    output_facets: dict[str, Any] = {}
    if statistics is not None:
        output_facets["outputStatistics"] = OutputStatisticsOutputDatasetFacet(
            rowCount=statistics.get("items_written"),
            size=statistics.get("bytes_written"),
            fileCount=statistics.get("files_written"),
        )
    return OperatorLineage(
        inputs=[InputDataset(namespace=each.namespace, name=each.name) for each in inputs],
        outputs=[
            OutputDataset(namespace=each.namespace, name=each.name, outputFacets=dict(output_facets))
            for each in outputs
        ],
    )
