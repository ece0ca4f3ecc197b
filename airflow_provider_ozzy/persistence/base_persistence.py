"""The persistence contract: one job's configuration and its last committed position."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_ozzy.pipeline_item import PipelineItem


class BasePersistence(PipelineItem):
    """Stores the committed state of a job so an interrupted export resumes where it stopped.

    ``commit`` must be atomic and durable: after it returns, a crash still finds the new state.
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
