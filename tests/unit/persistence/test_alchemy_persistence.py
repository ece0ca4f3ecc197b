"""AlchemyPersistence without a server: ``ozzy resume`` URIs both ways, and what it keeps secret."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.engine.registry import resolve
from airflow_provider_ozzy.errors import PersistenceError
from airflow_provider_ozzy.persistence.alchemy_persistence import (
    PASSWORD_ENV,
    AlchemyPersistence,
    MysqlPersistence,
    PostgresqlPersistence,
    SqlitePersistence,
    without_secrets,
)
from airflow_provider_ozzy.persistence.uris import DATABASE_SCHEMES

ROUND_TRIPS = [
    ("postgresql://ozzy@db.example:5432/state/job1", PostgresqlPersistence, "job1", "ozzy_job"),
    (
        "postgresql://ozzy@db.example:5432/state/dag/task/manual__2026-01-01T00:00:00+00:00/-1?table=jobs",
        PostgresqlPersistence,
        "dag/task/manual__2026-01-01T00:00:00+00:00/-1",
        "jobs",
    ),
    ("mysql://root@127.0.0.1:3306/test/a%20job%3Fx", MysqlPersistence, "a job?x", "ozzy_job"),
    ("sqlite:///var/lib/ozzy/state.db:job1", SqlitePersistence, "job1", "ozzy_job"),
    ("sqlite:///tmp/a:b/state.db:dag/run%3A1?table=t2", SqlitePersistence, "dag/run:1", "t2"),
]


@pytest.mark.parametrize(("uri", "cls", "job_id", "table"), ROUND_TRIPS, ids=lambda value: str(value)[:40])
def test_a_resume_uri_names_the_database_table_and_job_and_prints_back_the_same(
    uri: str, cls: type, job_id: str, table: str
) -> None:
    persistence, found_job = cls.from_uri(uri)
    assert type(persistence) is cls
    assert found_job == job_id
    assert persistence.options["table"] == table
    persistence.job_id = found_job
    assert persistence.uri == uri


def test_the_password_of_a_uri_is_used_but_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    persistence, job_id = PostgresqlPersistence.from_uri("postgresql://ozzy:s%40cret@h:5432/db/job1")
    assert isinstance(persistence, AlchemyPersistence)
    persistence.job_id = job_id
    assert persistence.url.password == "s@cret"
    assert persistence.url.drivername == "postgresql+psycopg2"
    assert persistence.uri == "postgresql://ozzy@h:5432/db/job1"
    assert "s@cret" not in persistence._redact(f"failed for s@cret and s%40cret at {persistence.url}")


def test_without_a_password_in_the_uri_it_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    persistence, _ = MysqlPersistence.from_uri("mysql://root@h:3306/db/job1")
    assert isinstance(persistence, AlchemyPersistence)
    assert persistence.url.password == "from-env"
    assert persistence.url.drivername == "mysql+pymysql"


@pytest.mark.parametrize(
    "uri",
    ["postgresql://u:hunter22@h:5432/db", "mysql://u:hunter22@h/", "sqlite:///no-job-here", "sqlite://:job"],
)
def test_a_uri_without_database_or_job_is_refused_without_its_password(uri: str) -> None:
    cls = resolve(DATABASE_SCHEMES[uri.split(":", 1)[0]], "persistence")
    with pytest.raises(PersistenceError) as raised:
        cls.from_uri(uri)
    assert "hunter22" not in str(raised.value)
    assert "JOB_ID" in str(raised.value)


def test_legacy_options_override_the_url_and_build_it_alone() -> None:
    persistence = AlchemyPersistence({"url": "postgresql://a@h1/db1", "host": "h2", "port": "6543"})
    assert persistence.url.render_as_string() == "postgresql+psycopg2://a@h2:6543/db1"
    legacy = PostgresqlPersistence(
        {"user": "u", "password": "p4ss", "host": "h", "port": 5432, "database": "d"}
    )
    legacy.job_id = "j"
    assert legacy.uri == "postgresql://u@h:5432/d/j"
    assert legacy.url.password == "p4ss"
    sqlite = SqlitePersistence({"database": "/tmp/state.db", "user": "", "host": "", "port": ""})
    sqlite.job_id = "j"
    assert sqlite.uri == "sqlite:///tmp/state.db:j"


def test_the_stored_configuration_has_no_persistence_password() -> None:
    config = {
        "reader": {"name": "FSReader", "options": {}},
        "persistence": {
            "name": "AlchemyPersistence",
            "options": {"url": "postgresql://u:pw1234@h/db", "password": "other1234", "table": "t"},
        },
    }
    stored = without_secrets(config)
    assert stored["persistence"]["options"] == {"url": "postgresql://u@h/db", "table": "t"}
    assert config["persistence"]["options"]["password"] == "other1234"  # the original is untouched
