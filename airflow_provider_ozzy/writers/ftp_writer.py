"""FTP servers, through the FTP provider's ``FTPHook``. Each file appears atomically where the server allows it.

A finished buffer file is sent with a binary ``STOR`` (passive mode unless the connection says
otherwise) to a hidden name beside its destination (``.part_0000.jl.gz.ozzy-partial``), its size is
checked with ``SIZE``, and it is renamed over the destination (``RNFR``/``RNTO``). Servers whose
rename does not replace a file get the old copy deleted first: a crash in between leaves no file
under the name, and the resume writes it again (the file was not committed). A server that refuses
to rename at all gets files stored directly under their names, with a warning: an FTP server keeps
whatever arrived before a dropped transfer, so until the resume rewrites it a crash may leave a
partial file there.
"""

from __future__ import annotations

import ftplib
import os
import posixpath
from typing import Any

from airflow_provider_ozzy.services.file_servers import ShortWriteError, partial_name
from airflow_provider_ozzy.services.ftp import FTP_OPTIONS, FTPSession, ftp_problems
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.file_server_writer import FileServerWriter

BLOCK_SIZE = 64 * 1024


class FTPWriter(FileServerWriter):
    """Writes files under ``filebase`` on an FTP server, creating directories level by level.

    Give the server as an Airflow connection (``ftp_conn_id``), or with the old options ``host``,
    ``port``, ``ftp_user``, ``ftp_password`` (environment variables ``EXPORTERS_FTP_USER`` and
    ``EXPORTERS_FTP_PASSWORD``). A relative ``filebase`` is relative to the login directory.
    ``check_consistency`` compares every file's size on the server.
    """

    requires_when_set = {"ftp_conn_id": ("airflow.providers.ftp",)}  # the old options connect without it
    supported_options = dict(FTP_OPTIONS)

    session_class = FTPSession
    session: FTPSession

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._directories: set[str] = set()  # known to exist on the server
        self._rename = True  # False once the server refused to rename a file

    @classmethod
    def server_problems(cls, values: dict[str, Any]) -> list[tuple[str, str]]:
        return ftp_problems(values)

    def put_file(self, local_path: str, destination: str, finished: FinishedFile) -> None:
        size = os.path.getsize(local_path)
        self.session.run("upload", destination, lambda ftp: self._upload(ftp, local_path, destination, size))
        self.log.info("FTPWriter: %s (%d bytes) written to %s", destination, size, self.session.endpoint())

    def _upload(self, ftp: ftplib.FTP, local_path: str, destination: str, size: int) -> None:
        self._make_directories(ftp, posixpath.dirname(destination))
        if self._rename:
            partial = partial_name(destination)
            self._store(ftp, local_path, partial, size)
            if self._publish(ftp, partial, destination):
                return
            self._rename = False
            self.log.warning(
                "FTPWriter: %s refuses to rename %s; storing files directly under their names from now on "
                "(a crash may leave a partial file there until the resume rewrites it)",
                self.session.endpoint(),
                partial,
            )
            _delete_quietly(ftp, partial)
        self._store(ftp, local_path, destination, size)

    def _store(self, ftp: ftplib.FTP, local_path: str, target: str, size: int) -> None:
        with open(local_path, "rb") as handle:  # streamed from the buffer file, no copy
            try:
                self.session.hook().store_file(target, handle, block_size=BLOCK_SIZE)
            except OSError as error:
                # servers refuse data (a full disk) by closing the data connection: the reply says why
                reply = _pending_reply(ftp)
                if reply is not None:
                    raise reply from error
                raise
        kept = _size(ftp, target)
        if kept != size:
            raise ShortWriteError(f"the server kept {kept} of {size} bytes of the upload")

    def _publish(self, ftp: ftplib.FTP, partial: str, destination: str) -> bool:
        """Rename ``partial`` over ``destination``; ``False`` when the server does not rename files."""
        try:
            ftp.rename(partial, destination)
            return True
        except ftplib.error_perm:
            if _size_or_none(ftp, destination) is None:
                return False
        # this server's rename never replaces a file: remove the old copy (a rewrite after a crash)
        ftp.delete(destination)
        ftp.rename(partial, destination)
        return True

    def _make_directories(self, ftp: ftplib.FTP, directory: str) -> None:
        levels = []
        while directory and directory not in ("/", ".") and directory not in self._directories:
            levels.append(directory)
            directory = posixpath.dirname(directory)
        for level in reversed(levels):
            try:
                ftp.mkd(level)
            except ftplib.error_perm:
                if not _is_directory(ftp, level, self.session.home):
                    raise
            self._directories.add(level)

    def check_file(self, written: WrittenFile) -> list[str]:
        return self.session.size_problems(
            written.name, written.size, lambda ftp: _size_or_none(ftp, written.name)
        )


def _size(ftp: ftplib.FTP, path: str) -> int | None:
    ftp.voidcmd("TYPE I")  # servers refuse SIZE in ASCII mode
    return ftp.size(path)


def _size_or_none(ftp: ftplib.FTP, path: str) -> int | None:
    try:
        return _size(ftp, path)
    except ftplib.error_perm:
        return None


def _is_directory(ftp: ftplib.FTP, path: str, home: str) -> bool:
    try:
        ftp.cwd(path)
    except ftplib.error_perm:
        return False
    ftp.cwd(home)
    return True


def _pending_reply(ftp: ftplib.FTP) -> ftplib.Error | None:
    """The error reply the server sent on the control connection, if any."""
    try:
        ftp.getresp()
    except ftplib.Error as reply:
        return reply
    except (OSError, EOFError):
        return None
    return None


def _delete_quietly(ftp: ftplib.FTP, path: str) -> None:
    try:
        ftp.delete(path)
    except ftplib.Error:
        pass
