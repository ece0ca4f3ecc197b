"""One exception family; every message names its place (section, module, option, file, line)."""

from __future__ import annotations

import errno
from typing import TypeVar

E = TypeVar("E", bound=BaseException)


class OzzyError(Exception):
    """Base of every error Ozzy raises on purpose; its text never holds a secret (wherever shown).

    ``permanent``: a retry cannot fix it (a broken config, a missing connection, bucket or table,
    refused credentials, an expression the sandbox refuses), so an Airflow task fails at once
    instead of spending its retries. A class sets it for all its errors; ``permanent(error)`` marks
    one error where a service translates what it was told.
    """

    permanent: bool = False

    def __str__(self) -> str:
        from airflow_provider_ozzy.core.redaction import mask

        return mask(super().__str__())


class ConfigurationError(OzzyError):
    """A configuration that cannot run. ``errors`` holds every problem found, one line each."""

    permanent = True

    def __init__(self, message: str | None = None, errors: list[str] | None = None) -> None:
        self.errors = list(errors or ([message] if message else []))
        if message is None:
            count = len(self.errors)
            header = f"invalid configuration: {count} error{'s' if count != 1 else ''}"
            message = header + "".join(f"\n  - {error}" for error in self.errors)
        super().__init__(message)


class ReaderError(OzzyError):
    """Input that cannot be read: names the reader, the file or key and, for data, the line."""


class WriterError(OzzyError):
    """Output that cannot be written or does not match what was sent."""


class InconsistentWriteError(WriterError):
    """``check_consistency`` found a destination file that differs from what Ozzy wrote."""


class PersistenceError(OzzyError):
    """Job state that cannot be loaded or saved."""


class ItemsLimitReached(OzzyError):
    """Internal signal: the writer accepted exactly ``items_limit`` items."""


def permanent(error: E) -> E:
    """``error``, marked as one a retry cannot fix (see ``OzzyError.permanent``)."""
    error.permanent = True  # type: ignore[attr-defined]
    return error


def is_permanent(error: BaseException) -> bool:
    """Whether ``error`` (or the error it was raised from) is marked permanent; a connection
    Airflow does not know (``AirflowNotFoundException`` from a hook) is one too."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "permanent", False) is True:
            return True
        if type(current).__name__ in _MISSING_CONNECTION_ERRORS:
            return True
        current = current.__cause__
    return False


# what Airflow raises for a connection id it does not know (core and Task SDK names)
_MISSING_CONNECTION_ERRORS = ("AirflowNotFoundException", "ConnectionNotFoundError")


_OS_ERROR_ADVICE = {
    errno.ENOSPC: "free space there (or write elsewhere), then resume the job",
    errno.EDQUOT: "raise the disk quota or free space there, then resume the job",
    errno.EFBIG: "the file is larger than this file system or process allows; write smaller files "
    "(items_per_buffer_write, size_per_buffer_write) or raise the limit, then resume the job",
    errno.EROFS: "the file system is read-only: make it writable or write elsewhere, then resume the job",
    errno.EACCES: "give this user write access there or write elsewhere, then resume the job",
    errno.EPERM: "give this user write access there or write elsewhere, then resume the job",
    errno.ENOTDIR: "a file stands where a folder must be: move it away, then resume the job",
    errno.EEXIST: "a file stands where a folder must be: move it away, then resume the job",
    errno.EISDIR: "a folder stands where a file must be: move it away, then resume the job",
    errno.ENOENT: "the folder does not exist and cannot be created there: fix the path (e.g. the "
    "writer's filebase), then run the export again",
}


def describe_os_error(error: OSError) -> str:
    """``<reason> at <path>: <what to do>`` for an operating-system error (one line, no traceback)."""
    reason = error.strerror or str(error) or type(error).__name__
    path = error.filename2 if error.filename2 is not None else error.filename
    where = f" at {path}" if path is not None else ""
    advice = _OS_ERROR_ADVICE.get(error.errno or 0, "fix the cause, then resume the job")
    return f"{reason}{where}: {advice}"
