"""The persistence contract: one job's configuration and its last committed position."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import orjson

from airflow_provider_ozzy.core.errors import PersistenceError
from airflow_provider_ozzy.core.pipeline_item import PipelineItem
from airflow_provider_ozzy.persistence.deciding_config import STATE_KEY, check_unchanged, deciding_config


def state_json(record: Any) -> bytes:
    """What a store keeps of a state: JSON, with group keys that are not text (numbers, tuples) and
    values JSON has no type for (dates) written as text."""
    return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS, default=str)


def parse_stored(data: str | bytes, damaged: str) -> Any:
    """JSON a store gave back; text that is not JSON fails as ``PersistenceError``: ``damaged`` and why."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise PersistenceError(f"{damaged} ({error})") from None


class BasePersistence(PipelineItem):
    """Stores the committed state of a job so an interrupted export resumes where it stopped.

    ``commit`` must be atomic and durable: after it returns, a crash still finds the new state.
    Every committed state carries the job's deciding configuration (``stamped``), and ``open``
    refuses to resume a job whose deciding configuration changed (``check_resume``).
    """

    kind = "persistence"
    uri_scheme: ClassVar[str | None] = None

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.job_id = ""
        self.configuration: dict[str, Any] = {}
        # the config file the job started from: ``ozzy resume`` re-reads secret options from it,
        # since stored configurations never hold them (see ``secret_options``)
        self.config_source: str | None = None
        self.secret_paths: list[list[Any]] = []
        self._deciding: dict[str, Any] | None = None

    def stamped(self, state: dict[str, Any]) -> dict[str, Any]:
        """``state`` with the deciding configuration of the job (see ``deciding_config``)."""
        if self._deciding is None:
            self._deciding = deciding_config(self.configuration)
        return dict(state, **{STATE_KEY: self._deciding})

    def check_resume(self, state: dict[str, Any] | None) -> dict[str, Any] | None:
        """``state``, once sure the configuration decides as when the job started.

        Raises ``ConfigurationError`` naming what changed. A state written before Ozzy stored
        the deciding configuration cannot be checked: it resumes with a warning.
        """
        if not state or state.get("finished"):
            return state
        stored = state.get(STATE_KEY)
        if not isinstance(stored, dict):
            self.log.warning(
                "Job %s: its state holds no deciding configuration (written by an older Ozzy); "
                "the configuration is not checked against the first run",
                self.job_id,
            )
            return state
        check_unchanged(stored, self.configuration, self.job_id)
        return state

    def open(self, job_id: str, configuration: dict[str, Any], resume: bool | None) -> dict[str, Any] | None:
        """Start or resume job ``job_id``; returns its committed state (``None`` for a fresh job).

        ``resume``: True requires existing state, False requires none, None takes whichever is there.
        """
        raise NotImplementedError

    def commit(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def delete(self) -> None:
        """Forget the job."""

    def load_configuration(self, job_id: str) -> dict[str, Any]:
        """The configuration stored with job ``job_id``."""
        raise NotImplementedError

    @property
    def uri(self) -> str:
        """What ``ozzy resume`` takes to continue this job."""
        return ""

    @classmethod
    def from_uri(cls, uri: str) -> tuple[BasePersistence, str]:
        """A persistence for ``uri`` and the job id it names."""
        raise NotImplementedError


class LockedPersistence(BasePersistence):
    """A persistence keeping its own state, with one runner per job: ``open`` takes the job's lock
    before it reads the state, and gives the lock back when opening fails (a refused resume, a
    changed configuration), so the next try is not locked out by a job that never ran."""

    def open(self, job_id: str, configuration: dict[str, Any], resume: bool | None) -> dict[str, Any] | None:
        self.job_id = job_id or uuid.uuid4().hex
        self.configuration = configuration
        self._prepare()
        self._take_lock()
        try:
            return self._open(resume)
        except BaseException:
            self._release_lock()
            raise

    def _prepare(self) -> None:
        """What must be checked or created before the lock is taken (the state folder, the table)."""

    def _take_lock(self) -> None:
        raise NotImplementedError

    def _release_lock(self) -> None:
        raise NotImplementedError

    def _open(self, resume: bool | None) -> dict[str, Any] | None:
        """The committed state of the job, under its lock; see ``open`` for ``resume``."""
        raise NotImplementedError
