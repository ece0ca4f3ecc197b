"""Job state in a local file (the CLI default): ``<file_path>/<job file name>``, replaced atomically.

The name ``PicklePersistence`` and the ``pickle:`` URI scheme are exporters'; the file itself is
JSON, so a state file from a shared folder is data and can run nothing. Old Ozzy state files
(pickles, format ``ozzy-pickle-1``) are read only when ``OZZY_ALLOW_PICKLE_STATE=1`` is set, and
then only plain data (dicts, lists, text, numbers): any other object in the pickle is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import re
import tempfile
import time
from typing import Any

from airflow_provider_ozzy.core.errors import ConfigurationError, PersistenceError
from airflow_provider_ozzy.core.path_safety import safe_segment
from airflow_provider_ozzy.engine.secret_options import strip_secrets
from airflow_provider_ozzy.persistence.base_persistence import (
    BasePersistence,
    LockedPersistence,
    parse_stored,
    state_json,
)
from airflow_provider_ozzy.persistence.job_lock import FileJobLock

_FORMAT = "ozzy-json-1"
_LEGACY_FORMAT = "ozzy-pickle-1"
ALLOW_PICKLE_ENV = "OZZY_ALLOW_PICKLE_STATE"
LOCK_FILE = ".ozzy-locks"  # hidden: never a state file name, never a temporary of one
_HASHED = re.compile(r"-[0-9a-f]{10}$")


def state_file_name(job_id: str) -> str:
    """The file name of job ``job_id``: the id itself when it is a safe file name, else a cleaned
    form suffixed with a hash of the id (``path_safety``). A safe id that ends like a hash suffix is
    hashed too, so two job ids never share a file; the file also stores its job id, checked on open."""
    name = safe_segment(job_id)
    if name == job_id and _HASHED.search(name):
        digest = hashlib.sha1(job_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        name = f"{name[:60]}-{digest}"
    return name


class _PlainDataUnpickler(pickle.Unpickler):
    """Reads only what pickle builds without importing: dicts, lists, tuples, sets, text, numbers."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: a job state holds only plain data")


class PicklePersistence(LockedPersistence):
    """One JSON file per job holding the configuration and the last committed state.

    ``open`` takes a per-job lock (``job_lock``): a second runner of the same job is refused.
    """

    uri_scheme = "pickle"
    supported_options = {
        "file_path": {
            "type": str,
            "default": ".ozzy-state",
            "env_fallback": "OZZY_STATE_DIR",
            "help": "Folder of the job state files (created when missing).",
        },
    }

    _stored_configuration: dict[str, Any] | None = None
    _file: str | None = None  # the state file named by an ``ozzy resume`` URI
    _lock: FileJobLock | None = None

    def _prepare(self) -> None:
        """The state folder, created when missing; one that cannot hold state is a configuration error."""
        self._stored_configuration = None
        folder = self.options["file_path"]
        source = (
            "environment variable OZZY_STATE_DIR"
            if os.environ.get("OZZY_STATE_DIR") == folder
            else "option 'file_path'"
        )
        if not folder:
            raise ConfigurationError(f"PicklePersistence: the state folder ({source}) must not be empty")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise ConfigurationError(
                f"PicklePersistence: cannot use {folder!r} ({source}) as the state folder: "
                f"{error.strerror or error}; point it at a writable folder"
            ) from None
        if not os.access(folder, os.W_OK | os.X_OK):
            probe = os.statvfs(folder).f_flag & os.ST_RDONLY
            why = "a read-only file system" if probe else "not writable by this user"
            raise ConfigurationError(
                f"PicklePersistence: cannot use {folder!r} ({source}) as the state folder: {why}; "
                "point it at a writable folder"
            )

    def _take_lock(self) -> None:
        self._release_lock()
        lock = FileJobLock(os.path.join(self.options["file_path"], LOCK_FILE), self.job_id)
        if not lock.acquire():
            raise PersistenceError(
                f"PicklePersistence: job '{self.job_id}' is already running (another process holds its "
                f"lock in {self.options['file_path']}); wait for it to end or stop it, then resume"
            )
        self._lock = lock

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def close(self) -> None:
        self._release_lock()

    def _open(self, resume: bool | None) -> dict[str, Any] | None:
        self._remove_stale_temporaries()  # under the lock: never another runner's temporary
        if os.path.exists(self.path):
            if resume is False:
                raise PersistenceError(
                    f"PicklePersistence: job '{self.job_id}' already has a state file {self.path}; "
                    f"resume it with `ozzy resume {self.uri}` or remove the file"
                )
            record = self.read(self.path)
            stored_id = record.get("persistence_state_id")
            if stored_id is not None and stored_id != self.job_id:
                raise PersistenceError(
                    f"PicklePersistence: {self.path} is the state of job '{stored_id}', not of job "
                    f"'{self.job_id}'; use another job id or folder"
                )
            return self.check_resume(record.get("state"))
        if resume:
            raise PersistenceError(f"PicklePersistence: nothing to resume: {self.path} does not exist")
        self._write(None)
        self.log.info("Created job with id: %s (resume with: ozzy resume %s)", self.job_id, self.uri)
        return None

    @property
    def path(self) -> str:
        if self._file is not None:
            return self._file
        return os.path.join(self.options["file_path"], state_file_name(self.job_id))

    def _remove_stale_temporaries(self) -> None:
        """State files half-written when a process was killed (``.<file name>.<random>``)."""
        prefix = f".{os.path.basename(self.path)}."
        for name in os.listdir(self.options["file_path"]):
            if name.startswith(prefix):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(self.options["file_path"], name))

    @property
    def uri(self) -> str:
        return f"pickle:{self.path}"

    def commit(self, state: dict[str, Any]) -> None:
        self._write(self.stamped(state))

    def _write(self, state: dict[str, Any] | None) -> None:
        if self._stored_configuration is None:  # once per job: the configuration does not change
            self._stored_configuration, self.secret_paths = strip_secrets(self.configuration)
        record = {
            "format": _FORMAT,
            "persistence_state_id": self.job_id,
            "configuration": self._stored_configuration,  # never a secret: see secret_options
            "secret_paths": self.secret_paths,
            "config_source": self.config_source,
            "state": state,
            "committed_at": time.time(),
        }
        folder = self.options["file_path"]
        data = state_json(record)
        handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(self.path)}.", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException as error:
            if os.path.exists(temporary):
                os.remove(temporary)
            if isinstance(error, OSError):  # disk full, quota: name the folder, keep the last state
                raise PersistenceError(
                    f"PicklePersistence: cannot save the job state in {folder}: {error.strerror or error}; "
                    "the last saved state is kept: fix the cause, then resume the job"
                ) from None
            raise
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def delete(self) -> None:
        if os.path.exists(self.path):
            os.remove(self.path)

    @staticmethod
    def read(path: str) -> dict[str, Any]:
        """The record of a state file: JSON, or an old Ozzy pickle when ``OZZY_ALLOW_PICKLE_STATE=1``."""
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise PersistenceError(f"PicklePersistence: no job state at {path}") from None
        if data[:3] == b"(dp":  # a protocol 0 pickle of a dict: what exporters (Python 2) wrote
            raise PersistenceError(
                f"PicklePersistence: {path} is a job state of exporters (Python 2); Ozzy cannot resume it "
                "(its positions mean other things): run the job again with its config (ozzy run CONFIG)"
            )
        if data[:1] == b"\x80":  # pickle protocol 2 or later: Ozzy state files before JSON
            record = PicklePersistence._read_legacy(path, data)
            expected = _LEGACY_FORMAT
        else:
            record = parse_stored(data, f"PicklePersistence: {path} is not an Ozzy job state file")
            expected = _FORMAT
        if not isinstance(record, dict) or record.get("format") != expected:
            raise PersistenceError(f"PicklePersistence: {path} is not an Ozzy job state file")
        return record

    @staticmethod
    def _read_legacy(path: str, data: bytes) -> Any:
        if os.environ.get(ALLOW_PICKLE_ENV) != "1":
            raise PersistenceError(
                f"PicklePersistence: {path} is a pickle (an Ozzy state file from before JSON); a pickle "
                f"can run code, so Ozzy reads one only with {ALLOW_PICKLE_ENV}=1 set (plain data only)"
            )
        try:
            return _PlainDataUnpickler(io.BytesIO(data)).load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as error:
            raise PersistenceError(
                f"PicklePersistence: {path} is not an Ozzy job state file ({error})"
            ) from None

    def load_configuration(self, job_id: str) -> dict[str, Any]:
        """The stored configuration; the job id becomes the one stored (the file name may be a
        cleaned form of it)."""
        self.job_id = job_id
        record = self.read(self.path)
        configuration = record.get("configuration")
        if not isinstance(configuration, dict):
            raise PersistenceError(f"PicklePersistence: {self.path} holds no configuration")
        stored_id = record.get("persistence_state_id")
        if isinstance(stored_id, str) and stored_id:
            self.job_id = stored_id
        self.config_source = record.get("config_source")
        self.secret_paths = list(record.get("secret_paths") or [])
        return configuration

    @classmethod
    def from_uri(cls, uri: str) -> tuple[BasePersistence, str]:
        path = uri.split(":", 1)[1]
        if path.startswith("//"):
            path = path[2:]
        folder, name = os.path.split(path)
        persistence = cls({"file_path": folder or "."})
        persistence._file = os.path.join(folder or ".", name)
        return persistence, name
