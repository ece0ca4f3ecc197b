"""What the object-by-object bypasses share (S3ToAzureBlobBypass, S3ToAzureFileBypass, StreamBypass).

Input object N of the reader's listing becomes the writer's file N (``destination_name((), N)``:
``out/items_0000.jl.gz``, ...), one file per object, as S3Bypass names them; a ``filebase`` ending in
``/`` names no file prefix, and then each object keeps its basename (``out/part-3.jl.gz``), as in
exporters (``copy_targets``). The job state holds
the ``filebase`` date, a fingerprint of the listing and which objects are done, so a resume
redoes only the objects not recorded as done and refuses to continue over a changed listing.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterator
from typing import Any

from airflow_provider_ozzy.bypasses.base_bypass import (
    BaseBypass,
    BypassNotApplicable,
    copied_name_problem,
    module_values,
)
from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.filebase import MD5_FILE_NAME, SEGMENT_BYTES
from airflow_provider_ozzy.core.path_safety import utf8
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.engine.config import ResolvedJob


class DoneSet:
    """Indices of the objects done: all below ``below`` plus a few above (they finish out of order)."""

    def __init__(self, saved: dict[str, Any] | None) -> None:
        self.below = int((saved or {}).get("done_below", 0))
        self.above: set[int] = set((saved or {}).get("done_above", []))

    def add(self, index: int) -> None:
        if index >= self.below:
            self.above.add(index)
        while self.below in self.above:
            self.above.discard(self.below)
            self.below += 1

    def __contains__(self, index: object) -> bool:
        return isinstance(index, int) and (index < self.below or index in self.above)

    def __len__(self) -> int:
        return self.below + len(self.above)

    def __iter__(self) -> Iterator[int]:
        yield from range(self.below)
        yield from sorted(self.above)

    def state(self) -> dict[str, Any]:
        return {"done_below": self.below, "done_above": sorted(self.above)}


def fingerprint(streams: list[Stream]) -> str:
    digest = hashlib.sha256()
    for stream in streams:
        digest.update(f"{stream.name}\t{stream.size}\t{stream.meta}\n".encode())
    return digest.hexdigest()


def copy_targets(writer: Any, streams: list[Stream]) -> list[str]:
    """Where each input object goes: the writer's file N, or ``<dir>/<basename>`` for a ``filebase``
    ending in ``/`` (exporters' bypass names).

    Raises ``BypassNotApplicable`` (the pipeline runs instead) when two objects have one basename
    (``src/x/part.jl.gz``, ``src/y/part.jl.gz``: the second copy would replace the first), or one
    differing only in case on a case-insensitive destination, or a basename that cannot be a file
    name there (longer than ``SEGMENT_BYTES`` bytes, ``.``, ``..``, the md5 file's name).
    """
    if not writer.filebase.names_no_file_prefix:
        return [writer.destination_name((), number) for number in range(len(streams))]
    folder = writer.filebase.static_directory()
    fold = bool(getattr(writer, "case_insensitive_names", False))
    seen: dict[str, str] = {}
    targets = []
    for stream in streams:
        name = posixpath.basename(stream.name)
        if name in ("", ".", "..", MD5_FILE_NAME) or len(utf8(name)) > SEGMENT_BYTES:
            raise BypassNotApplicable(
                f"{stream.name}: its basename cannot name a file in {folder!r} "
                f"(empty, '.', '..', {MD5_FILE_NAME} or over {SEGMENT_BYTES} bytes)"
            )
        key = name.casefold() if fold else name
        if key in seen:
            differs = " (names differing only in case are one file there)" if seen[key] != stream.name else ""
            raise BypassNotApplicable(
                f"{seen[key]} and {stream.name} would both be copied to {posixpath.join(folder, name)}{differs}"
            )
        seen[key] = stream.name
        targets.append(posixpath.join(folder, name))
    return targets


class ObjectCopyBypass(BaseBypass):
    """A bypass that copies the reader's objects one by one to the writer's files 0, 1, 2, ...

    Subclasses copy one object (``copy_objects``); this class fixes the names, checks that a copy
    holds what the pipeline would write, and keeps the resumable state.
    """

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.reader: Any = context.reader
        self.writer: Any = context.writer
        self.streams: list[Stream] = []
        self.targets: list[str] = []
        self.done = DoneSet(None)
        self.copied_this_run = 0
        self._state: dict[str, Any] = {}

    @classmethod
    def reasons_against(cls, config: ResolvedJob) -> list[str]:
        problems = super().reasons_against(config)
        if "{groups" in module_values(config, "writer").get("filebase", ""):
            problems.append("filebase uses {groups[N]}, which only the pipeline fills")
        return problems

    def prepare(self) -> None:
        """List the input, fix the names and restore what was done; may decline before any copy."""
        saved = self.context.state
        self.writer.open(
            self.context.formatter, {"effective_filebase": saved["effective_filebase"]} if saved else None
        )
        self.streams = self.reader.get_read_streams()
        listed = fingerprint(self.streams)
        if saved is None:
            compression = self.writer.options["compression"]
            for stream in self.streams:
                problem = copied_name_problem(stream.name, self.context.formatter, compression)
                if problem:
                    raise BypassNotApplicable(problem)
        elif saved["fingerprint"] != listed:
            raise WriterError(
                f"{type(self).__name__}: the input objects changed since the job started "
                f"({len(self.streams)} now, {saved['total']} then); the copy cannot resume exactly"
            )
        self.targets = copy_targets(self.writer, self.streams)
        self.done = DoneSet(saved)
        self._state = {
            "effective_filebase": self.writer.effective_filebase,
            "fingerprint": listed,
            "total": len(self.streams),
        }

    def commit(self) -> None:
        self.context.commit(dict(self._state, **self.done.state()))
        if self.context.progress is not None:
            fraction = len(self.done) / max(1, len(self.streams))
            self.context.progress(dict(self.counters(), fraction=fraction, done=False))

    def pending(self) -> list[int]:
        return [index for index in range(len(self.streams)) if index not in self.done]

    def counters(self) -> dict[str, Any]:
        return {
            "objects_total": len(self.streams),
            "objects_copied_this_run": self.copied_this_run,
            "files_written": len(self.done),
            "bytes_written": sum(self.streams[index].size or 0 for index in self.done),
            "items_count_accurate": False,
        }
