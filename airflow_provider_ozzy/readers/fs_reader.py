"""Local files: a path, a directory (walked recursively, sorted), or a pointer file naming one."""

from __future__ import annotations

import os
import re
from typing import Any, BinaryIO

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.readers.base_stream_reader import StreamBasedReader

_ENTRY_KEYS = {"dir", "dir_pointer", "file", "pattern", "include_dot_files"}


class FSReader(StreamBasedReader):
    """Reads JSON lines (or CSV) files from the local file system, compressed or not.

    ``input`` is a file path, ``{"dir": path}`` or ``{"dir_pointer": file holding a path}`` with an
    optional ``pattern`` (a directory that does not exist holds nothing, with a warning, as in
    exporters; a missing file is an error) (regular expression searched in the full path) and ``include_dot_files``,
    or a list of these. All inputs are read once each (a path listed twice, or given alone and
    inside a listed folder, is read once), in one global sorted order of their normalized paths.
    """

    supported_options = {
        "input": {
            "type": (str, dict, list),
            "help": "A file, {'dir': ...}, {'dir_pointer': ...} (with 'pattern', 'include_dot_files'), or a list.",
        },
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        entries = values["input"] if isinstance(values["input"], list) else [values["input"]]
        problems: list[Problem] = []
        for position, entry in enumerate(entries):
            where = "option 'input'" + (f" entry {position}" if isinstance(values["input"], list) else "")
            problems.extend(Problem("input", f"{where}: {message}") for message in _entry_problems(entry))
        return problems

    def get_read_streams(self) -> list[Stream]:
        entries = (
            self.options["input"] if isinstance(self.options["input"], list) else [self.options["input"]]
        )
        streams: list[Stream] = []
        for entry in entries:
            streams.extend(self._entry_streams(entry))
        return streams

    def open_stream(self, stream: Stream) -> BinaryIO:
        return open(stream.name, "rb", buffering=0)  # noqa: SIM115 - the base reader closes it

    def _entry_streams(self, entry: str | dict[str, Any]) -> list[Stream]:
        if isinstance(entry, str):
            entry = {"dir": entry} if os.path.isdir(entry) else {"file": entry}
        if "file" in entry:
            path = os.path.normpath(entry["file"])
            if not os.path.isfile(path):
                raise ReaderError(f"FSReader: input file {path} does not exist (option 'input')")
            return [Stream(path, os.path.getsize(path))]
        directory = entry.get("dir")
        if "dir_pointer" in entry:
            directory = self._read_pointer(entry["dir_pointer"])
        if not directory:
            raise ReaderError("FSReader: the input directory is empty (option 'input')")
        if not os.path.exists(directory):
            # exporters walked a missing folder as an empty one, and an inbox of an incremental
            # job may not exist yet: nothing to read there, but say so
            self.log.warning(
                "FSReader: input directory %r does not exist: nothing to read there (option 'input')",
                directory,
            )
            return []
        if not os.path.isdir(directory):
            raise ReaderError(
                f"FSReader: input directory {directory!r} is not a directory (option 'input'; "
                "give a file as 'file')"
            )
        pattern = re.compile(entry["pattern"]) if entry.get("pattern") else None
        return _walk(directory, pattern, bool(entry.get("include_dot_files", False)))

    @staticmethod
    def _read_pointer(pointer: str) -> str:
        try:
            with open(pointer, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as error:
            raise ReaderError(f"FSReader: cannot read dir_pointer file {pointer}: {error.strerror}") from None


def _walk(directory: str, pattern: re.Pattern[str] | None, dot_files: bool) -> list[Stream]:
    found = []
    for root, dirs, files in os.walk(directory):
        if not dot_files:
            dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in files:
            if not dot_files and name.startswith("."):
                continue
            path = os.path.normpath(os.path.join(root, name))
            if pattern is not None and not pattern.search(path):
                continue
            found.append(path)
    return [Stream(path, os.path.getsize(path)) for path in sorted(found)]


def _entry_problems(entry: Any) -> list[str]:
    if isinstance(entry, str):
        return [] if entry else ["a file path must not be empty"]
    if not isinstance(entry, dict):
        return [f"must be a path or an object, got {type(entry).__name__}"]
    problems = [
        f"unknown key '{key}' (known: {', '.join(sorted(_ENTRY_KEYS))})"
        for key in entry
        if key not in _ENTRY_KEYS
    ]
    sources = [key for key in ("dir", "dir_pointer", "file") if key in entry]
    if len(sources) != 1:
        problems.append("needs exactly one of 'dir', 'dir_pointer' or 'file'")
    if entry.get("pattern"):
        try:
            re.compile(entry["pattern"])
        except re.error as error:
            problems.append(f"'pattern' is not a valid regular expression ({error})")
    return problems
