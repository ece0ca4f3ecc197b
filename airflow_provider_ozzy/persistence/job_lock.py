"""One runner per job: a lock held from ``open`` to ``close`` of a persistence.

Two ``ozzy resume`` of one job at once would both write its files and commit over each other.
File-based states (PicklePersistence, AlchemyPersistence on SQLite) lock one byte of a lock file
next to the state with ``fcntl`` (POSIX record locks: released by the kernel when the process dies,
even on ``kill -9``, and honoured over NFS). The byte's offset is a 56-bit hash of the job key, so
one lock file serves every job of a folder or database. PostgreSQL and MariaDB use the server's
advisory locks instead (``AlchemyPersistence``). In Airflow the running task instance is the lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading

from airflow_provider_ozzy.core.errors import PersistenceError

# POSIX record locks belong to the process and are all dropped when it closes any descriptor of
# the file, so each lock file is opened once per process while this process holds a byte of it,
# its held offsets are tracked here, and it is closed when the last one is released (a long-lived
# scheduler or test process would otherwise keep one descriptor per folder it ever exported to)
_GUARD = threading.Lock()
_FILES: dict[str, tuple[int, set[int]]] = {}


def lock_key(*parts: str) -> bytes:
    """A stable digest of ``parts`` (e.g. table and job id)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).digest()


class FileJobLock:
    """An exclusive, non-blocking lock of one job, as one byte of ``lock_path``."""

    def __init__(self, lock_path: str, *key: str) -> None:
        self.path = os.path.abspath(lock_path)
        self.offset = int.from_bytes(lock_key(*key)[:7], "big") + 1
        self.held = False

    def acquire(self) -> bool:
        """Take the lock; ``False`` when another runner (process, or job in this process) holds it."""
        with _GUARD:
            if self.path not in _FILES:
                try:
                    descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                except OSError as error:
                    raise PersistenceError(
                        f"cannot open the job lock file {self.path}: {error.strerror or error}"
                    ) from None
                _FILES[self.path] = (descriptor, set())
            descriptor, held = _FILES[self.path]
            if self.offset in held:
                return False
            try:
                fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self.offset, os.SEEK_SET)
            except OSError:  # EAGAIN or EACCES: another process holds it
                _close_when_unused(self.path)
                return False
            held.add(self.offset)
            self.held = True
            return True

    def release(self) -> None:
        with _GUARD:
            if not self.held:
                return
            descriptor, held = _FILES[self.path]
            fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, self.offset, os.SEEK_SET)
            held.discard(self.offset)
            self.held = False
            _close_when_unused(self.path)


def _close_when_unused(path: str) -> None:
    """Close ``path``'s descriptor once this process holds no byte of it (caller holds _GUARD)."""
    descriptor, held = _FILES[path]
    if not held:
        del _FILES[path]
        os.close(descriptor)
