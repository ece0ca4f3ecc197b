"""Local files. Each finished file appears atomically under its final name (rename, then fsync)."""

from __future__ import annotations

import os
import shutil

from airflow_provider_ozzy.core.checksums import file_md5
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.filebase_base_writer import FilebaseBaseWriter


class FSWriter(FilebaseBaseWriter):
    """Writes files under ``filebase`` on the local file system, creating directories as needed."""

    # a rename on the same disk: nothing to overlap, and each commit then counts every file
    # finished by its batch (a stop keeps them all)
    delivers_in_background = False

    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        directory = os.path.dirname(destination) or "."
        os.makedirs(directory, exist_ok=True)
        try:
            os.replace(local_path, destination)  # same file system: atomic, and the data is already fsynced
        except OSError:
            partial = os.path.join(directory, f".{os.path.basename(destination)}.ozzy-partial")
            shutil.copyfile(local_path, partial)
            _fsync_file(partial)
            os.replace(partial, destination)
        _fsync_directory(directory)

    def check_file(self, written: WrittenFile) -> list[str]:
        if not os.path.exists(written.name):
            return [f"{written.name} is not present at the destination"]
        size = os.path.getsize(written.name)
        if size != written.size:
            return [f"{written.name} has {size} bytes, expected {written.size}"]
        md5 = file_md5(written.name)
        if md5 != written.md5:
            return [f"{written.name} has md5 {md5}, expected {written.md5}"]
        return []


def _fsync_file(path: str) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory: str) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
