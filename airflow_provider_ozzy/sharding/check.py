"""The last step of a sharded export: the shards' stats add up, and a manifest lists every file.

Each shard's task returns its stats with a ``shard`` entry (index, units, writer, the filebase it
wrote under); the plan carries the writer section (``planning.writer_without_secrets``). The check
fails, naming the shard, when a shard is missing, unfinished, counted twice, or wrote other than it
read (``items_read - items_filtered != items_written``), or when the files found at the destination
do not match the shard's ``files_written``. The manifest (JSON) is then put beside the files in one
atomic step. ``LISTERS`` (by writer class name) says which destinations can be listed: local files,
and S3, GCS and Azure Blob through the writer's own connection (credentials resolved as the writer
resolves them, on the host the check runs on).
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_ozzy.core.checksums import file_md5
from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.core.filebase import Filebase

MANIFEST_NAME = "ozzy-manifest.json"

# {"name", "size", "md5"} of one file at the destination
Entry = dict[str, Any]


class ShardCheckError(OzzyError):
    """The shards of an export do not add up."""


def local_directory(filebase: Filebase) -> str:
    """The local directory a listing of ``filebase``'s files starts from (``.`` when it has none)."""
    return filebase.static_directory() or "."


def _hidden(relative: str) -> bool:
    """Whether a path below the listed directory has a dot-named part (partial uploads, the FS rule)."""
    return any(part.startswith(".") for part in relative.split("/"))


class Destination:
    """Where the shards wrote, as the check sees it: each filebase's files, and room for the manifest."""

    def __init__(self) -> None:
        self._parsed: dict[str, Filebase] = {}

    def filebase(self, effective: str) -> Filebase:
        """The one ``Filebase`` of a shard's effective filebase, in the destination's names."""
        if effective not in self._parsed:
            self._parsed[effective] = Filebase(self.name_of(effective))
        return self._parsed[effective]

    def name_of(self, path: str) -> str:
        """A path as the writer names it at the destination."""
        return path

    def files(self, filebase: str) -> list[Entry]:
        raise NotImplementedError

    def lists(self, name: str, filebase: str) -> bool:
        """Whether ``files(filebase)`` would give the file ``name``: visible, and named by the filebase."""
        raise NotImplementedError

    def manifest_path(self, filebases: list[str], name: str) -> str:
        raise NotImplementedError

    def put(self, path: str, data: bytes) -> str:
        """Put ``data`` at ``path`` whole or not at all; where it is, for logs and the XCom."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what reaching the destination took."""


class LocalFiles(Destination):
    """FSWriter's files (and its subclasses'): the visible files under the filebase's directory."""

    def top(self, filebase: str) -> str:
        return local_directory(self.filebase(filebase))

    def files(self, filebase: str) -> list[Entry]:
        found = []
        for root, dirs, files in os.walk(self.top(filebase)):
            dirs[:] = sorted(name for name in dirs if not name.startswith("."))
            for name in sorted(files):
                path = os.path.normpath(os.path.join(root, name))
                if self.lists(path, filebase):
                    found.append({"name": path, "size": os.path.getsize(path), "md5": file_md5(path)})
        return found

    def lists(self, name: str, filebase: str) -> bool:
        relative = os.path.relpath(name, os.path.abspath(self.top(filebase)))
        named = name if os.path.isabs(filebase) else os.path.relpath(name)
        return not _hidden(relative) and bool(self.filebase(filebase).regex().match(named))

    def manifest_path(self, filebases: list[str], name: str) -> str:
        directory = os.path.commonpath([os.path.abspath(self.top(filebase)) for filebase in filebases])
        return os.path.join(directory, name)

    def put(self, path: str, data: bytes) -> str:
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        partial = os.path.join(directory, f".{os.path.basename(path)}.ozzy-partial")
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
        return path


class ObjectStore(Destination):
    """Objects of a bucket (container) reached through the writer built from the plan's writer section.

    :param writer: the writer; the manifest goes up through its ``put_file`` (one PUT or upload).
    :param list_prefix: (name, size, meta) of every object under a prefix (the readers' listing).
    :param properties: (size, hex md5) of an object, or ``None`` when absent.
    :param where: an object's name as messages and the XCom show it (``s3://bucket/key``).
    :param name_of: a path as the writer names its object (S3: no leading ``/``).
    :param listed_md5: the md5 the listing's meta gives, when it is one (S3: a single PUT's ETag).
    """

    def __init__(
        self,
        writer: Any,
        list_prefix: Callable[[str], Iterable[tuple[str, int | None, Any]]],
        properties: Callable[[str], tuple[int, str | None] | None],
        where: Callable[[str], str],
        name_of: Callable[[str], str] = str,
        listed_md5: Callable[[Any], str | None] = lambda meta: None,
    ) -> None:
        super().__init__()
        self.writer = writer
        self.list_prefix = list_prefix
        self.properties = properties
        self.where = where
        self.named = name_of
        self.listed_md5 = listed_md5

    def name_of(self, path: str) -> str:
        return self.named(path)

    def prefix(self, filebase: str) -> str:
        top = self.filebase(filebase).static_directory().strip("/")
        return f"{top}/" if top else ""

    def files(self, filebase: str) -> list[Entry]:
        found = []
        for name, size, meta in self.list_prefix(self.prefix(filebase)):
            if not self.lists(name, filebase):
                continue
            md5 = self.listed_md5(meta)
            if md5 is None or size is None:
                stored = self.properties(name)
                if stored is None:  # deleted since it was listed: not there
                    continue
                size, md5 = stored
            found.append({"name": name, "size": size, "md5": md5})
        return found

    def lists(self, name: str, filebase: str) -> bool:
        relative = name[len(self.prefix(filebase)) :]
        return not _hidden(relative) and bool(self.filebase(filebase).regex().match(name))

    def manifest_path(self, filebases: list[str], name: str) -> str:
        tops = [self.prefix(filebase).rstrip("/") for filebase in filebases]
        directory = posixpath.commonpath(tops) if all(tops) else ""
        return f"{directory}/{name}" if directory else name

    def put(self, path: str, data: bytes) -> str:
        from airflow_provider_ozzy.write_buffers.base import FinishedFile

        with tempfile.TemporaryDirectory(prefix="ozzy-manifest-") as folder:
            local = os.path.join(folder, "manifest.json")
            with open(local, "wb") as handle:
                handle.write(data)
            entries = len(json.loads(data).get("files", []))
            self.writer.put_file(local, path, FinishedFile((), local, entries, len(data), file_md5(local)))
        return self.where(path)

    def close(self) -> None:
        self.writer.close()


def _s3(writer: Any) -> ObjectStore:
    from airflow_provider_ozzy.services.s3 import etag_md5

    s3 = writer.s3
    return ObjectStore(
        writer, s3.list_prefix, s3.properties, lambda key: f"s3://{s3.bucket}/{key}", writer.key_for, etag_md5
    )


def _gcs(writer: Any) -> ObjectStore:
    gcs = writer.gcs
    return ObjectStore(writer, gcs.list_prefix, gcs.properties, lambda name: f"gs://{gcs.bucket_name}/{name}")


def _azure_blob(writer: Any) -> ObjectStore:
    azure = writer.azure
    return ObjectStore(writer, azure.list_prefix, azure.properties, azure.where_short)


# the plan's writer section and the names of its withheld options -> the destination, or None
DestinationFactory = Callable[[dict[str, Any] | None, list[str]], Destination | None]


def object_store(make: Callable[[Any], ObjectStore]) -> DestinationFactory:
    """A factory building the writer from the plan's writer section, then its ``ObjectStore``.

    A plan made before plans carried the writer section gives ``None``: the counts are still checked.
    """

    def factory(section: dict[str, Any] | None, withheld: list[str]) -> Destination | None:
        from airflow_provider_ozzy.engine.config import resolve_section

        if not section:
            return None
        resolved = resolve_section(section, "writers")
        missing = [name for name in withheld if resolved.options.get(name) in (None, "")]
        if missing:
            raise ShardCheckError(
                f"sharded export check: writer {section.get('name')} option(s) {', '.join(missing)} hold "
                "secrets, which the plan (an XCom) does not carry, and their environment variables are "
                "not set on this worker: give the credentials as an Airflow connection to list the files"
            )
        return make(resolved.build())

    return factory


LISTERS: dict[str, DestinationFactory] = {
    "FSWriter": lambda section, withheld: LocalFiles(),
    "S3Writer": object_store(_s3),
    "GStorageWriter": object_store(_gcs),
    "AzureBlobWriter": object_store(_azure_blob),
}


class Destinations:
    """The destinations the shards' writers wrote to, each built once, on first use.

    :param plan: the planner's shards; each carries the writer section (``writer``).
    """

    def __init__(self, plan: list[dict[str, Any]]) -> None:
        self.plan = plan
        self.built: dict[str, Destination | None] = {}
        self.used: Destination | None = None

    def of(self, index: int, writer: str | list[str] | None) -> Destination | None:
        """The destination of shard ``index``, whose writer (class name, or names) the shard reported."""
        names = [writer] if isinstance(writer, str) else list(writer or [])
        name = next((name for name in names if name in LISTERS), None)
        if name is None:
            return None
        if name not in self.built:
            shard = self.plan[index] if index < len(self.plan) else {}
            self.built[name] = LISTERS[name](shard.get("writer"), list(shard.get("writer_withheld") or []))
        self.used = self.used or self.built[name]
        return self.built[name]

    def close(self) -> None:
        for destination in self.built.values():
            if destination is not None:
                destination.close()


def check_shards(
    plan: Iterable[dict[str, Any]],
    results: Iterable[dict[str, Any] | None],
    destinations: Destinations | None = None,
) -> dict[str, Any]:
    """The manifest of a finished sharded export; ``ShardCheckError`` listing every problem.

    :param destinations: where the shards wrote (``Destinations(plan)``, which ``write_manifest``
        then puts the manifest in); without it, built and closed here.
    """
    plan = list(plan)
    if destinations is None:
        own = Destinations(plan)
        try:
            return check_shards(plan, results, own)
        finally:
            own.close()
    reported = [result for result in results if result]
    count = len(plan)
    problems: list[str] = []
    by_index: dict[int, dict[str, Any]] = {}
    for result in reported:
        index = (result.get("shard") or {}).get("index")
        if index is None:
            problems.append("a shard result has no 'shard' entry (not run with shard=...?)")
        elif index in by_index:
            problems.append(f"shard {index} reported twice")
        else:
            by_index[index] = result
    missing = sorted(set(range(count)) - set(by_index))
    if missing:
        problems.append(f"shard(s) {', '.join(map(str, missing))} of {count} reported nothing")
    manifest_shards: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    owners: dict[str, int] = {}
    for index in sorted(by_index):
        shard_result = by_index[index]
        shard = shard_result["shard"]
        if not (shard_result.get("finished") or shard_result.get("already_finished")):
            problems.append(f"shard {index} did not finish")
        read, filtered = shard_result.get("items_read", 0), shard_result.get("items_filtered", 0)
        if read - filtered != shard_result.get("items_written", 0):
            problems.append(
                f"shard {index}: read {read} items, filtered {filtered}, but wrote {shard_result.get('items_written')}"
            )
        planned = plan[index]["units"] if index < count else []
        if shard.get("units") is not None and shard["units"] != len(planned):
            problems.append(f"shard {index} read {shard['units']} units, the plan gave it {len(planned)}")
        destination = destinations.of(index, shard.get("writer"))
        listed = destination.files(shard["filebase"]) if destination and shard.get("filebase") else None
        if listed is not None:
            if len(listed) != shard_result.get("files_written"):
                problems.append(
                    f"shard {index}: {len(listed)} file(s) at the destination, it wrote {shard_result.get('files_written')}"
                )
            for entry in listed:
                if entry["name"] in owners:
                    problems.append(f"{entry['name']} belongs to shards {owners[entry['name']]} and {index}")
                owners[entry["name"]] = index
                files.append(dict(entry, shard=index))
        manifest_shards.append(
            {
                "index": index,
                "units": planned,
                "items_read": read,
                "items_filtered": filtered,
                "items_written": shard_result.get("items_written", 0),
                "files_written": shard_result.get("files_written", 0),
                "filebase": shard.get("filebase"),
                "listed": listed is not None,
            }
        )
    if problems:
        raise ShardCheckError("sharded export check failed:\n  - " + "\n  - ".join(problems))
    return {
        "shards": count,
        "items_read": sum(shard["items_read"] for shard in manifest_shards),
        "items_filtered": sum(shard["items_filtered"] for shard in manifest_shards),
        "items_written": sum(shard["items_written"] for shard in manifest_shards),
        "files_written": sum(shard["files_written"] for shard in manifest_shards),
        "per_shard": manifest_shards,
        "files": files,
    }


def write_manifest(
    manifest: dict[str, Any], name: str = MANIFEST_NAME, destinations: Destinations | None = None
) -> str | None:
    """Puts the manifest beside the listed files (the common directory of the shards' filebases);
    returns where it is, or None when no shard's files could be listed.

    It must never be listed as a file of the export itself (a check run again would count it): a
    ``name`` the filebases would give is refused.
    """
    filebases = [
        shard["filebase"] for shard in manifest["per_shard"] if shard["listed"] and shard["filebase"]
    ]
    destination = destinations.used if destinations is not None else LocalFiles()
    if not filebases or destination is None:
        return None
    path = destination.manifest_path(filebases, name)
    if any(destination.lists(path, filebase) for filebase in filebases):
        raise ShardCheckError(
            f"sharded export check: the manifest name {name!r} is one the export's files could have "
            "(a later check would count it as one): choose another manifest_name"
        )
    return destination.put(path, json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8"))


def summary(manifest: dict[str, Any], path: str | None) -> dict[str, Any]:
    """What the check task returns as its XCom: totals only, never the file list."""
    keys = ("shards", "items_read", "items_filtered", "items_written", "files_written")
    return dict({key: manifest[key] for key in keys}, manifest=path)
