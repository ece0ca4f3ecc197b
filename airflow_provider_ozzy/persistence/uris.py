"""``ozzy resume URI``: find the persistence class for a URI and load the job's configuration."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.errors import PersistenceError
from airflow_provider_ozzy.persistence.base_persistence import BasePersistence
from airflow_provider_ozzy.persistence.pickle_persistence import PicklePersistence

PERSISTENCE_CLASSES: list[type[BasePersistence]] = [PicklePersistence]


def persistence_for_uri(uri: str) -> tuple[BasePersistence, str, dict[str, Any]]:
    """(persistence, job id, configuration) for a URI such as ``pickle:state/job1``."""
    scheme = uri.split(":", 1)[0] if ":" in uri else ""
    for cls in PERSISTENCE_CLASSES:
        if cls.uri_scheme == scheme:
            persistence, job_id = cls.from_uri(uri)
            configuration = persistence.load_configuration(job_id)
            return persistence, job_id, configuration
    known = ", ".join(f"{cls.uri_scheme}:" for cls in PERSISTENCE_CLASSES)
    raise PersistenceError(f"unknown persistence URI '{uri}' (known schemes: {known})")
