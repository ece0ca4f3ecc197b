"""SFTP servers, through the SFTP provider's ``SFTPHook``. Each file appears atomically under its name.

A finished buffer file is streamed from its local path to a hidden name beside its destination
(``.part_0000.jl.gz.ozzy-partial``), its size is checked, and it is renamed over the destination:
with the ``posix-rename@openssh.com`` extension (OpenSSH, asyncssh) when the server has it, which
replaces an existing file in one step; otherwise by removing the old file, then renaming. A file
under its final name is therefore always complete. A crash between that removal and the rename
leaves no file under the name; the file was not committed yet, so the resume writes it again.
"""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING, Any

from airflow_provider_ozzy.services.file_servers import ShortWriteError, partial_name
from airflow_provider_ozzy.services.sftp import SFTP_OPTIONS, SFTPSession, sftp_problems
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.file_server_writer import FileServerWriter

if TYPE_CHECKING:
    from paramiko import SFTPClient

PROBE_BYTES = 32768


class SFTPWriter(FileServerWriter):
    """Writes files under ``filebase`` on an SFTP server, creating directories as needed.

    Give the server as an Airflow connection (``sftp_conn_id``; password or key authentication),
    or with the old options ``host``, ``port``, ``sftp_user``, ``sftp_password`` (environment
    variables ``EXPORTERS_SFTP_USER`` and ``EXPORTERS_SFTP_PASSWORD``). A relative ``filebase`` is
    relative to the login directory. ``check_consistency`` compares every file's size on the server.
    """

    requires = ("paramiko",)
    requires_when_set = {"sftp_conn_id": ("airflow.providers.sftp",)}  # the old options connect without it
    supported_options = dict(SFTP_OPTIONS)

    session_class = SFTPSession
    session: SFTPSession

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._posix_rename = True

    @classmethod
    def server_problems(cls, values: dict[str, Any]) -> list[tuple[str, str]]:
        return sftp_problems(values)

    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        size = os.path.getsize(local_path)
        self.session.run(
            "upload", destination, lambda client: self._upload(client, local_path, destination, size)
        )
        self.log.info("SFTPWriter: %s (%d bytes) written to %s", destination, size, self.session.endpoint())

    def _upload(self, client: SFTPClient, local_path: str, destination: str, size: int) -> None:
        directory = posixpath.dirname(destination)
        if directory:
            self.session.hook().create_directory(directory)
        partial = partial_name(destination)
        client.put(local_path, partial, confirm=False)  # streamed from the buffer file, no copy
        kept = client.stat(partial).st_size or 0
        if kept != size:
            raise ShortWriteError(
                f"the server kept {kept} of {size} bytes of the upload{_why_short(client, partial, local_path, kept)}"
            )
        self._publish(client, partial, destination)

    def _publish(self, client: SFTPClient, partial: str, destination: str) -> None:
        if self._posix_rename:
            try:
                client.posix_rename(partial, destination)
                return
            except OSError as error:
                refused = error
        try:
            client.rename(partial, destination)
        except OSError:
            if not _exists(client, destination):
                raise
            # SFTPv3 rename never replaces a file: remove the old copy (a rewrite after a crash) first
            client.remove(destination)
            client.rename(partial, destination)
        if self._posix_rename:
            self._posix_rename = False
            self.log.warning(
                "SFTPWriter: %s refused posix-rename (%s); replacing files by remove, then rename",
                self.session.endpoint(),
                refused,
            )

    def check_file(self, written: WrittenFile) -> list[str]:
        def size_of(client: SFTPClient) -> int | None:
            try:
                return client.stat(written.name).st_size
            except FileNotFoundError:
                return None

        return self.session.size_problems(written.name, written.size, size_of)


def _exists(client: SFTPClient, path: str) -> bool:
    try:
        client.stat(path)
    except FileNotFoundError:
        return False
    return True


def _why_short(client: SFTPClient, partial: str, local_path: str, kept: int) -> str:
    """The server's reason for refusing data: pipelined writes lose it, so write once more, unpipelined."""
    try:
        with open(local_path, "rb") as source, client.open(partial, "r+", bufsize=0) as target:
            source.seek(kept)
            target.seek(kept)
            target.write(source.read(PROBE_BYTES))
    except OSError as error:
        return f": {error}"
    return ""
