"""The last step of a sharded export: the shards' stats add up, and a manifest lists every file.

Each shard's task returns its stats with a ``shard`` entry (index, units, writer, the filebase it
wrote under). The check fails, naming the shard, when a shard is missing, unfinished, counted
twice, or wrote other than it read (``items_read - items_filtered != items_written``), or when the
files found at the destination do not match the shard's ``files_written``. The manifest (JSON) is
written atomically next to the files. ``LISTERS`` (by writer class name) is the extension point for
destinations other than the local file system.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

from airflow_provider_ozzy.core.checksums import file_md5
from airflow_provider_ozzy.core.errors import OzzyError
from airflow_provider_ozzy.core.filebase import Filebase

MANIFEST_NAME = "ozzy-manifest.json"

# effective filebase -> [{"name", "size", "md5"}] of the files written under it
Lister = Callable[[str], list[dict[str, Any]]]


class ShardCheckError(OzzyError):
    """The shards of an export do not add up."""


def static_directory(filebase: str) -> str:
    """The directory of an effective ``filebase`` the listing starts from (``.`` when it has none)."""
    return Filebase(filebase).static_directory() or "."


def list_fs_files(filebase: str) -> list[dict[str, Any]]:
    """FSWriter: the visible files under ``filebase``'s directory whose path it names."""
    top, pattern = static_directory(filebase), Filebase(filebase).regex()
    found = []
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            path = os.path.normpath(os.path.join(root, name))
            if name.startswith(".") or not pattern.match(
                path if os.path.isabs(filebase) else os.path.relpath(path)
            ):
                continue
            found.append({"name": path, "size": os.path.getsize(path), "md5": file_md5(path)})
    return found


LISTERS: dict[str, Lister] = {"FSWriter": list_fs_files}


def find_lister(writer: str | list[str] | None) -> Lister | None:
    """The lister of a writer class name, or of the first of its class and base names with one."""
    names = [writer] if isinstance(writer, str) else list(writer or [])
    return next((LISTERS[name] for name in names if name in LISTERS), None)


def check_shards(plan: Iterable[dict[str, Any]], results: Iterable[dict[str, Any] | None]) -> dict[str, Any]:
    """The manifest of a finished sharded export; ``ShardCheckError`` listing every problem."""
    plan = list(plan)
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
        lister = find_lister(shard.get("writer"))
        listed = lister(shard["filebase"]) if lister and shard.get("filebase") else None
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


def write_manifest(manifest: dict[str, Any], name: str = MANIFEST_NAME) -> str | None:
    """Writes the manifest beside the files (local destinations); returns its path, or None."""
    filebases = [
        shard["filebase"] for shard in manifest["per_shard"] if shard["listed"] and shard["filebase"]
    ]
    if not filebases:
        return None
    directory = os.path.commonpath([os.path.abspath(static_directory(filebase)) for filebase in filebases])
    path = os.path.join(directory, name)
    os.makedirs(directory, exist_ok=True)
    partial = os.path.join(directory, f".{name}.ozzy-partial")
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path


def summary(manifest: dict[str, Any], path: str | None) -> dict[str, Any]:
    """What the check task returns as its XCom: totals only, never the file list."""
    keys = ("shards", "items_read", "items_filtered", "items_written", "files_written")
    return dict({key: manifest[key] for key in keys}, manifest=path)
