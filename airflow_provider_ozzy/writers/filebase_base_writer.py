"""File naming for file-based writers: ``filebase`` with strftime, ``{groups[N]}`` and ``{file_number}``.

The date in ``filebase`` is fixed when the job starts and kept in the job state, so a resume
next day writes the same names instead of duplicates.
"""

from __future__ import annotations

import datetime
import posixpath
import string
from typing import Any

from airflow_provider_ozzy.compression import suffix
from airflow_provider_ozzy.errors import WriterError
from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.options import Problem
from airflow_provider_ozzy.path_safety import safe_segment
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import BaseWriter, WrittenFile

MD5_FILE_NAME = "md5checksum.md5"


def _fields(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def filebase_problems(filebase: str) -> list[str]:
    """Why a ``filebase`` cannot name files (empty list when it can)."""
    if not filebase:
        return ["option 'filebase' must not be empty"]
    directory, prefix = posixpath.split(filebase)
    try:
        directory_fields, prefix_fields = _fields(directory), _fields(prefix)
    except ValueError as error:
        return [f"option 'filebase' has unbalanced braces ({error})"]
    problems = []
    if not prefix:
        problems.append("option 'filebase' must end with a file name prefix, not '/'")
    for field in directory_fields + prefix_fields:
        root = field.split("[", 1)[0].split(".", 1)[0]
        if root in ("", *string.digits) or root.isdigit():
            problems.append(
                "option 'filebase' uses a positional placeholder '{}': use {groups[N]}, {file_number} or strftime codes"
            )
        elif root not in ("groups", "file_number"):
            problems.append(
                f"option 'filebase' has an unknown placeholder '{{{field}}}' (known: groups[N], file_number)"
            )
    if any(field.startswith("file_number") for field in directory_fields):
        problems.append("option 'filebase' must not use {file_number} in its directory part")
    if ".." in filebase.split("/"):
        problems.append("option 'filebase' must not contain '..'")
    return problems


class FilebaseBaseWriter(BaseWriter):
    """Base of writers that produce named files (FS, S3, SFTP, FTP, GCS, Azure Files, ...)."""

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

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.effective_filebase = ""
        self.manifest: list[list[Any]] = []  # [name, md5] of every file, kept only for generate_md5

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        problems.extend(Problem("filebase", message) for message in filebase_problems(values["filebase"]))
        return problems

    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        self.effective_filebase = datetime.datetime.now(datetime.UTC).strftime(self.options["filebase"])
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
        """The deterministic name of file ``number`` of ``group``."""
        directory, prefix = posixpath.split(self.effective_filebase)
        segments = tuple(safe_segment(value) for value in group)
        file_number = number + self.options["start_file_count"]
        try:
            directory = directory.format(groups=segments)
            name = prefix.format(groups=segments, file_number=file_number)
        except (IndexError, KeyError) as error:
            raise WriterError(
                f"{type(self).__name__}: option 'filebase' {self.options['filebase']!r} needs a group the grouper "
                f"does not give ({error!r}; this item's groups are {list(group)})"
            ) from None
        fields = _fields(prefix)
        if not fields:
            name += f"{file_number:04d}"
        if segments and "{groups" not in self.effective_filebase:
            name += "-" + "-".join(segments)
        extension = self.formatter.file_extension if self.formatter else "txt"
        name = f"{name}.{extension}{suffix(self.options['compression'])}"
        return posixpath.join(directory, name) if directory else name

    def member_name(self, group: GroupKey, number: int) -> str | None:
        """As exporters: the file name without '.zip' (``items_0000.jl`` in ``items_0000.jl.zip``)."""
        name = posixpath.basename(self.destination_name(group, number))
        return name.removesuffix(suffix(self.options["compression"]))

    def write_file(self, finished: FinishedFile, number: int) -> str:
        name = self.destination_name(finished.group, number)
        self.put_file(finished.path, name, finished)
        return name

    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        """Store the complete local file at ``destination``, atomically where the target allows it."""
        raise NotImplementedError

    def after_file_written(self, written: WrittenFile) -> None:
        if self.options["generate_md5"]:
            self.manifest.append([written.name, written.md5])

    def static_directory(self) -> str:
        """The directory part of ``filebase`` before any group placeholder."""
        directory = posixpath.dirname(self.effective_filebase)
        return directory.split("{", 1)[0].rstrip("/") if "{" in directory else directory

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
