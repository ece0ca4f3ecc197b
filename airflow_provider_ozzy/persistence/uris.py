"""``ozzy resume URI``: find the persistence class for a URI and load the job's configuration."""

from __future__ import annotations

from typing import Any

from airflow_provider_ozzy.core.errors import PersistenceError
from airflow_provider_ozzy.core.redaction import mask
from airflow_provider_ozzy.engine.secret_options import restore_secrets
from airflow_provider_ozzy.persistence.base_persistence import BasePersistence
from airflow_provider_ozzy.persistence.pickle_persistence import PicklePersistence

PERSISTENCE_CLASSES: list[type[BasePersistence]] = [PicklePersistence]
# Database URIs (AlchemyPersistence): the class is imported only for its own scheme, since
# importing SQLAlchemy alone takes about half a second.
DATABASE_SCHEMES: dict[str, str] = {
    "postgresql": "PostgresqlPersistence",
    "mysql": "MysqlPersistence",
    "sqlite": "SqlitePersistence",
}


def persistence_for_uri(uri: str) -> tuple[BasePersistence, str, dict[str, Any]]:
    """(persistence, job id, configuration) for a URI such as ``pickle:state/job1``.

    Database URIs (``postgresql://``, ``mysql://``, ``sqlite://``): see ``AlchemyPersistence``.
    """
    scheme = uri.split(":", 1)[0] if ":" in uri else ""
    classes = list(PERSISTENCE_CLASSES)
    if scheme in DATABASE_SCHEMES:
        from airflow_provider_ozzy.engine.registry import resolve

        classes.append(resolve(DATABASE_SCHEMES[scheme], "persistence"))
    for cls in classes:
        if cls.uri_scheme == scheme:
            persistence, job_id = cls.from_uri(uri)
            configuration = persistence.load_configuration(job_id)
            configuration = restore_secrets(
                configuration, persistence.config_source, persistence.secret_paths
            )
            # the job id the job started with (a state file name may be a cleaned form of it)
            return persistence, persistence.job_id or job_id, configuration
    known = ", ".join(
        [f"{cls.uri_scheme}:" for cls in PERSISTENCE_CLASSES] + [f"{s}:" for s in DATABASE_SCHEMES]
    )
    raise PersistenceError(f"unknown persistence URI '{mask(uri)}' (known schemes: {known})")
