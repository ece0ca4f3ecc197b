"""Azure Files. Each finished file is uploaded under a hidden partial name, then renamed.

An Azure file is created at its full size and filled range by range, so an upload cut short would
leave a file that looks complete; uploading to ``.<name>.ozzy-partial`` and renaming it over the
final name makes every visible file whole. A resumed job rewrites the same names.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.services.azure import (
    NO_SDK_RETRIES,
    FileShareConnection,
    azure_options,
    azure_problems,
)
from airflow_provider_ozzy.services.stored_files import stored_differences
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.filebase_base_writer import FilebaseBaseWriter

PARALLEL_UPLOADS = 4
PARTIAL_SUFFIX = ".ozzy-partial"


def partial_name(path: str) -> str:
    directory, name = posixpath.split(path)
    return posixpath.join(directory, f".{name}{PARTIAL_SUFFIX}")


class AzureFileWriter(FilebaseBaseWriter):
    """Writes files under ``filebase`` in the file share ``share``, creating the share and every
    directory level as needed (as exporters did).

    ``check_consistency`` compares each file's size and the MD5 of its content, read back (Azure
    Files keeps no MD5 of its own), with what was sent.
    """

    requires = ("azure.storage.fileshare",)
    supported_options = {
        "share": {"type": str, "help": "File share to write to (created when missing)."},
        **azure_options("file", legacy_env=True),
    }
    case_insensitive_names = True  # Azure Files: ``A.jl.gz`` and ``a.jl.gz`` are one file (bypass names)

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.azure = FileShareConnection(self.options, "AzureFileWriter", WriterError)
        self._share_ready = False
        self._directories: set[str] = set()

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return [*super().check_values(values), *azure_problems(values, "share")]

    def ensure_share(self) -> None:
        """Create the share unless it exists (once per job)."""
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        if self._share_ready:
            return

        def create() -> None:
            try:
                self.azure.share_client.create_share(**NO_SDK_RETRIES)
                self.log.info("AzureFileWriter: created share %s", self.azure.place_name)
            except ResourceExistsError:
                pass
            except HttpResponseError as error:
                raw_code = getattr(error, "error_code", None) or ""
                code = str(getattr(raw_code, "value", raw_code))
                if error.status_code != 403 or code == "AuthenticationFailed":
                    raise
                # a token for one share may not create shares: the uploads tell whether it exists
                self.log.info(
                    "AzureFileWriter: not allowed to create share %s; using it as it is",
                    self.azure.place_name,
                )

        self.azure.run(create)
        self._share_ready = True

    def ensure_directory(self, directory: str) -> None:
        """Create ``directory`` and every level above it unless they exist."""
        from azure.core.exceptions import ResourceExistsError

        parts = [part for part in directory.split("/") if part]
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            if path in self._directories:
                continue

            def create(path: str = path) -> None:
                try:
                    self.azure.share_client.get_directory_client(path).create_directory(**NO_SDK_RETRIES)
                except ResourceExistsError:
                    pass

            self.azure.run(create, path + "/")
            self._directories.add(path)

    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        from azure.storage.fileshare import ContentSettings

        self.ensure_share()
        self.ensure_directory(posixpath.dirname(destination))
        size = os.path.getsize(local_path)
        md5 = bytearray(bytes.fromhex(finished.md5)) if finished.md5 else None
        partial = partial_name(destination)

        def upload() -> None:
            client = self.azure.file_client(partial)
            with open(local_path, "rb") as data:
                client.upload_file(
                    data,
                    length=size,
                    content_settings=ContentSettings(content_md5=md5),
                    validate_content=True,
                    max_concurrency=PARALLEL_UPLOADS,
                    **NO_SDK_RETRIES,
                )
            client.rename_file(destination, overwrite=True, **NO_SDK_RETRIES)

        self.azure.run(upload, destination)
        self.log.debug("AzureFileWriter: wrote %s/%s", self.azure.place_name, destination)

    def check_file(self, written: WrittenFile) -> list[str]:
        where = f"{self.azure.place_name}/{written.name.lstrip('/')}"
        return stored_differences(where, self.azure.properties(written.name), written.size, written.md5)
