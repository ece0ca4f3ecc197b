"""One exception family; every message names its place (section, module, option, file, line)."""

from __future__ import annotations


class OzzyError(Exception):
    """Base of every error Ozzy raises on purpose; its text never holds a secret (wherever shown)."""

    def __str__(self) -> str:
        from airflow_provider_ozzy.secret_options import mask

        return mask(super().__str__())


class ConfigurationError(OzzyError):
    """A configuration that cannot run. ``errors`` holds every problem found, one line each."""

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
