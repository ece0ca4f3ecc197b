"""File naming for file-based writers: ``filebase`` with strftime, ``{groups[N]}`` and ``{file_number}``.

The date in ``filebase`` is fixed when the job starts and kept in the job state, so a resume
next day writes the same names instead of duplicates. Names come from ``filebase.Filebase``,
which gives every (group, file number) its own name; a name given twice in one run is a bug that
stops the export rather than overwrite a file.
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any

from airflow_provider_ozzy.core.compression import suffix
from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.filebase import MD5_FILE_NAME, Filebase
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.path_safety import safe_segment
from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import BaseWriter, WrittenFile


class FilebaseBaseWriter(BaseWriter):
    """Base of writers that produce named files (FS, S3, SFTP, FTP, GCS, Azure Files, ...)."""

    delivers_in_background = True  # put_file touches the destination and the names put this run

    supported_options = {
        "filebase": {
            "type": str,
            "help": "Destination path and file prefix: strftime codes, {groups[N]}, {file_number}.",
        },
        "start_file_count": {
            "type": int,
            "minimum": 0,
            "maximum": 2**63 - 1,
            "default": 0,
            "help": "First file number of every group.",
        },
        "generate_md5": {
            "type": bool,
            "default": False,
            "help": f"Also write {MD5_FILE_NAME} listing every file.",
        },
    }

    # whether the destination folds case (``A`` and ``a`` are one file): bypasses then refuse basenames
    # that differ only in case (see ``bypasses.object_copy.copy_targets``)
    case_insensitive_names = False

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.effective_filebase = ""
        self._filebase: Filebase | None = None
        self._names: set[bytes] = set()  # digests of this run's names: a name given twice is a bug
        self.manifest: list[list[Any]] = []  # [name, md5] of every file, kept only for generate_md5

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        problems.extend(Problem("filebase", message) for message in Filebase.problems(values["filebase"]))
        return problems

    @property
    def filebase(self) -> Filebase:
        """The parsed effective ``filebase`` (the job's date fixed), the one place names come from."""
        if self._filebase is None or self._filebase.effective != self.effective_filebase:
            self._filebase = Filebase(self.effective_filebase)
        return self._filebase

    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        self.effective_filebase = Filebase.effective_at(self.options["filebase"])
        super().open(formatter, state)

    def restore(self, state: dict[str, Any]) -> None:
        super().restore(state)
        self.effective_filebase = state.get("effective_filebase", self.effective_filebase)
        self.manifest = [list(entry) for entry in state.get("manifest", [])]

    def state(self, routed_at_watermark: dict[GroupKey, int], accepted_at_watermark: int) -> dict[str, Any]:
        state = super().state(routed_at_watermark, accepted_at_watermark)
        state["effective_filebase"] = self.effective_filebase
        if self.options["generate_md5"]:
            state["manifest"] = self.manifest
        return state

    def write_batch(self, groups: dict[GroupKey, list[dict[str, Any]]], batch_number: int) -> None:
        # Groups whose values name the same files (5 and "5", True and "true") must be one group,
        # or the second would overwrite the files of the first: key groups by their path segments.
        by_segments: dict[GroupKey, list[dict[str, Any]]] = {}
        for key, items in groups.items():
            segments = tuple(safe_segment(value) for value in key)
            by_segments[segments] = by_segments[segments] + items if segments in by_segments else items
        super().write_batch(by_segments, batch_number)

    def destination_name(self, group: GroupKey, number: int) -> str:
        """The deterministic name of file ``number`` of ``group``, distinct from every other file's."""
        segments = tuple(safe_segment(value) for value in group)
        extension = self.formatter.file_extension if self.formatter else "txt"
        tail = f".{extension}{suffix(self.options['compression'])}"
        try:
            return self.filebase.path(segments, number + self.options["start_file_count"], tail)
        except IndexError as error:
            raise WriterError(
                f"{type(self).__name__}: option 'filebase' {self.options['filebase']!r} needs a group the grouper "
                f"does not give ({error!r}; this item's groups are {list(group)})"
            ) from None

    def member_name(self, group: GroupKey, number: int) -> str | None:
        """As exporters: the file name without '.zip' (``items_0000.jl`` in ``items_0000.jl.zip``)."""
        name = posixpath.basename(self.destination_name(group, number))
        return name.removesuffix(suffix(self.options["compression"]))

    def write_file(self, finished: FinishedFile, number: int) -> str:
        name = self.destination_name(finished.group, number)
        key = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if key in self._names:
            raise WriterError(
                f"{type(self).__name__}: {name!r} was already written in this run; refusing to overwrite it "
                f"(group {list(finished.group)}, file {number})"
            )
        self.put_file(finished.path, name, finished)
        self._names.add(key)
        return name

    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        """Store the complete local file at ``destination``, atomically where the target allows it."""
        raise NotImplementedError

    def after_file_written(self, written: WrittenFile) -> None:
        if self.options["generate_md5"]:
            self.manifest.append([written.name, written.md5])

    def static_directory(self) -> str:
        """The directory segments of ``filebase`` before the first one with a placeholder."""
        return self.filebase.static_directory()

    def finish_writing(self) -> None:
        super().finish_writing()
        if self.options["generate_md5"]:
            self._write_md5_file()

    def _write_md5_file(self) -> None:
        import os
        import tempfile

        lines = "".join(f"{md5}  {name}\n" for name, md5 in self.manifest).encode("utf-8")
        handle, path = tempfile.mkstemp(prefix="ozzy-md5-")
        with os.fdopen(handle, "wb") as out:
            out.write(lines)
        destination = posixpath.join(self.static_directory(), MD5_FILE_NAME)
        try:
            self.put_file(path, destination, FinishedFile((), path, len(self.manifest), len(lines), ""))
        finally:
            if os.path.exists(path):
                os.remove(path)
