"""``FileServerWriter``: what the SFTP and FTP writers share around their file-server session.

Both check the server options with their service's rule, build one session (``services/sftp.py``,
``services/ftp.py``) named after the writer, connect when they open (a wrong password or host fails
the job before any input is read) and close the session with the writer; only the upload differs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.services.file_servers import RemoteSession
from airflow_provider_ozzy.writers.filebase_base_writer import FilebaseBaseWriter


class FileServerWriter(FilebaseBaseWriter):
    """A filebase writer whose files go to a file server through a ``session_class`` session.

    Each writer names its session class (``owner, error_class, options``) and annotates ``session``
    with it; final failures of the session become ``WriterError``.
    """

    session_class: ClassVar[type[RemoteSession[Any]]]
    session: RemoteSession[Any]

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        make: Any = self.session_class  # every file-server session takes the options too
        self.session = make(type(self).__name__, WriterError, self.options)

    @classmethod
    def server_problems(cls, values: dict[str, Any]) -> list[tuple[str, str]]:
        """``(option, message)`` for each unusable server option (host, port, credentials)."""
        raise NotImplementedError

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        problems.extend(Problem(option, message) for option, message in cls.server_problems(values))
        return problems

    def open(self, formatter: Any, state: dict[str, Any] | None) -> None:
        super().open(formatter, state)
        self.session.connect_for_writing(self.static_directory())

    def close(self) -> None:
        super().close()
        self.session.close()
