"""SFTP files (JSON lines, compressed or not), streamed through the SFTP provider's ``SFTPHook``.

Which files: the object readers' ``prefix`` / ``prefix_pointer`` / ``pattern`` /
``prefix_format_using_date`` (see ``prefix_listing``), where a prefix is the start of a path
(``exports/2024-01-01/part_``, relative to the login directory, or absolute). Files are read in
path order; hidden names (``.…``, such as the partial uploads of the SFTP writer) are skipped. The
file list is fixed when the job starts, and a file whose size or modification time changed since
then is refused, so a resume continues with exactly the next item.
"""

from __future__ import annotations

import posixpath
import stat
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.readers.base_stream_reader import StreamBasedReader
from airflow_provider_ozzy.services.prefix_listing import LISTING_OPTIONS, PrefixListing, listing_problems
from airflow_provider_ozzy.services.sftp import SFTP_OPTIONS, SFTPSession, sftp_problems

if TYPE_CHECKING:
    from paramiko import SFTPClient

Listed = tuple[str, int | None, Any]


class SFTPReader(StreamBasedReader):
    """Reads the files of an SFTP server selected by ``prefix`` (or ``prefix_pointer``) and ``pattern``.

    Give the server as an Airflow connection (``sftp_conn_id``) or with the legacy options
    ``host``, ``port``, ``sftp_user``, ``sftp_password`` (``EXPORTERS_SFTP_USER`` and
    ``EXPORTERS_SFTP_PASSWORD``), as for ``SFTPWriter``.
    """

    requires = ("paramiko",)
    requires_when_set = {"sftp_conn_id": ("airflow.providers.sftp",)}  # the old options connect without it
    supported_options = {**SFTP_OPTIONS, **LISTING_OPTIONS}

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.session = SFTPSession(type(self).__name__, ReaderError, self.options)

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = [Problem(option, message) for option, message in sftp_problems(values)]
        return problems + listing_problems(values)

    def get_read_streams(self) -> list[Stream]:
        streams = PrefixListing(self.options).streams(self._list_prefix, self._read_pointer)
        self.log.info("SFTPReader: %d file(s) to read on %s", len(streams), self.session.endpoint())
        return streams

    def _list_prefix(self, prefix: str) -> list[Listed]:
        return self.session.run("list", prefix or ".", lambda client: _files_under(client, prefix))

    def _read_pointer(self, path: str) -> bytes:
        def read(client: SFTPClient) -> bytes:
            with client.open(path, "rb") as handle:
                return bytes(handle.read())

        return self.session.run("read", path, read)

    def open_stream(self, stream: Stream) -> BinaryIO:
        def open_checked(client: SFTPClient) -> Any:
            handle = client.open(stream.name, "rb")
            attributes = handle.stat()
            if (attributes.st_size, attributes.st_mtime) != (stream.size, stream.meta):
                handle.close()
                raise ReaderError(
                    f"SFTPReader: {stream.name} on {self.session.endpoint()} changed since the job started "
                    f"(size {stream.size} -> {attributes.st_size}): cannot resume inside it"
                )
            handle.prefetch(attributes.st_size)  # pipelined reads: throughput without a local copy
            return handle

        handle = self.session.run("open", stream.name, open_checked)
        return cast(BinaryIO, _SessionStream(self.session, stream.name, handle))

    def close(self) -> None:
        super().close()
        self.session.close()


class _SessionStream:
    """A remote file whose transient read failures drop the session (the base reader reopens the file)."""

    def __init__(self, session: SFTPSession, name: str, handle: Any) -> None:
        self._session = session
        self._name = name
        self._handle = handle

    def read(self, size: int = -1) -> bytes:
        try:
            return bytes(self._handle.read(size))
        except Exception as error:
            if self._session.is_transient(error):
                self._session.reset()
                raise ConnectionError(f"reading {self._name}: {self._session.describe(error)}") from error
            raise ReaderError(self._session.failure("read", self._name, error)) from None

    def close(self) -> None:
        try:
            self._handle.close()
        except Exception:  # the connection may be gone already
            pass


def _files_under(client: SFTPClient, prefix: str) -> list[Listed]:
    """(path, size, mtime) of every visible regular file whose path starts with ``prefix``, sorted."""
    base = prefix if prefix.endswith("/") else posixpath.dirname(prefix)
    base = base.rstrip("/") or ("/" if prefix.startswith("/") else "")
    found: list[Listed] = []

    def visit(directory: str) -> None:
        try:
            entries = client.listdir_attr(directory or ".")
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.filename.startswith("."):
                continue
            path = posixpath.join(directory, entry.filename) if directory else entry.filename
            mode = entry.st_mode or 0
            if stat.S_ISDIR(mode):
                if (path + "/").startswith(prefix) or prefix.startswith(path + "/"):
                    visit(path)
            elif stat.S_ISREG(mode) and path.startswith(prefix):
                found.append((path, entry.st_size, entry.st_mtime))

    visit(base)
    return sorted(found)
