"""Ozzy's exceptions under their public name (``from airflow_provider_ozzy.errors import OzzyError``);
they live in ``core/errors.py``, the ground every layer stands on."""

from airflow_provider_ozzy.core.errors import (
    ConfigurationError,
    InconsistentWriteError,
    ItemsLimitReached,
    OzzyError,
    PersistenceError,
    ReaderError,
    WriterError,
    is_permanent,
    permanent,
)

__all__ = [
    "OzzyError",
    "ConfigurationError",
    "ReaderError",
    "WriterError",
    "InconsistentWriteError",
    "PersistenceError",
    "ItemsLimitReached",
    "permanent",
    "is_permanent",
]
