"""Job state in a local file (the CLI default): ``<file_path>/<job id>``, replaced atomically."""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import time
import uuid
from typing import Any

from airflow_provider_ozzy.errors import ConfigurationError, PersistenceError
from airflow_provider_ozzy.path_safety import safe_segment
from airflow_provider_ozzy.persistence.base_persistence import BasePersistence
from airflow_provider_ozzy.secret_options import strip_secrets

_FORMAT = "ozzy-pickle-1"


class PicklePersistence(BasePersistence):
    """One pickle file per job holding the configuration and the last committed state."""

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

    def _make_folder(self) -> None:
        """The state folder, created when missing; one that cannot hold state is a configuration error."""
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

    def open(self, job_id: str, configuration: dict[str, Any], resume: bool | None) -> dict[str, Any] | None:
        self.job_id = job_id or uuid.uuid4().hex
        self.configuration = configuration
        self._stored_configuration = None
        self._make_folder()
        self._remove_stale_temporaries()
        if os.path.exists(self.path):
            if resume is False:
                raise PersistenceError(
                    f"PicklePersistence: job '{self.job_id}' already has a state file {self.path}; "
                    f"resume it with `ozzy resume {self.uri}` or remove the file"
                )
            return self.read(self.path).get("state")
        if resume:
            raise PersistenceError(f"PicklePersistence: nothing to resume: {self.path} does not exist")
        self._write(None)
        self.log.info("Created job with id: %s (resume with: ozzy resume %s)", self.job_id, self.uri)
        return None

    @property
    def path(self) -> str:
        return os.path.join(self.options["file_path"], safe_segment(self.job_id))

    def _remove_stale_temporaries(self) -> None:
        """State files half-written when a process was killed (``.<job>.<random>``)."""
        prefix = f".{safe_segment(self.job_id)}."
        for name in os.listdir(self.options["file_path"]):
            if name.startswith(prefix):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(self.options["file_path"], name))

    @property
    def uri(self) -> str:
        return f"pickle:{self.path}"

    def commit(self, state: dict[str, Any]) -> None:
        self._write(state)

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
        handle, temporary = tempfile.mkstemp(prefix=f".{safe_segment(self.job_id)}.", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump(record, out, protocol=pickle.HIGHEST_PROTOCOL)
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
        try:
            with open(path, "rb") as handle:
                record = pickle.load(handle)
        except FileNotFoundError:
            raise PersistenceError(f"PicklePersistence: no job state at {path}") from None
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as error:
            raise PersistenceError(
                f"PicklePersistence: {path} is not an Ozzy job state file ({error})"
            ) from None
        if not isinstance(record, dict) or record.get("format") != _FORMAT:
            raise PersistenceError(f"PicklePersistence: {path} is not an Ozzy job state file")
        return record

    def load_configuration(self, job_id: str) -> dict[str, Any]:
        self.job_id = job_id
        record = self.read(self.path)
        configuration = record.get("configuration")
        if not isinstance(configuration, dict):
            raise PersistenceError(f"PicklePersistence: {self.path} holds no configuration")
        self.config_source = record.get("config_source")
        self.secret_paths = list(record.get("secret_paths") or [])
        return configuration

    @classmethod
    def from_uri(cls, uri: str) -> tuple[BasePersistence, str]:
        path = uri.split(":", 1)[1]
        if path.startswith("//"):
            path = path[2:]
        folder, job_id = os.path.split(path)
        return cls({"file_path": folder or "."}), job_id
