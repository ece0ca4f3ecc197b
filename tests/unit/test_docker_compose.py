"""``docker-compose.yaml`` (the playground) and its ``Dockerfile`` are consistent with the repository.

Docker does not run here, so the files are checked statically: the image built once from the
Dockerfile, Airflow's init pattern, the celery profile, the services, what they depend on, what they
mount, the preset connections, pinned images and the published ports, read the way Compose reads
them (YAML merge keys, ``${VAR:-default}`` interpolation, ``$$`` escapes, profiles).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
MOUNTED_AT = "/opt/ozzy"  # where the Dockerfile installs Ozzy from and compose mounts the repository
CELERY = {"redis", "airflow-worker", "flower"}  # started only with a profile

AIRFLOW_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
SERVERS = {  # service: what it stands in for
    "postgres": "Airflow metadata DB",
    "ozzy-state-db": "AlchemyPersistence database",
    "moto": "S3 and SES",
    "azurite": "Azure Blob",
    "fake-gcs": "Google Cloud Storage",
    "sftp": "SFTP",
    "ftp": "FTP",
    "mailpit": "SMTP",
    "kafka": "Kafka",
}
CONNECTION_KEYS = {"conn_type", "description", "host", "login", "password", "schema", "port", "extra"}
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")


def _interpolate(value: Any, variables: dict[str, str] | None = None) -> Any:
    """Compose's interpolation with ``variables`` set (none by default): ``${VAR:-default}`` gives
    the variable's value, or the default when it is unset."""
    variables = variables or {}
    if isinstance(value, dict):
        return {key: _interpolate(each, variables) for key, each in value.items()}
    if isinstance(value, list):
        return [_interpolate(each, variables) for each in value]
    if not isinstance(value, str):
        return value
    text = value.replace("$$", "\0")

    def default(match: re.Match[str]) -> str:
        rest = match.group("rest")
        assert rest.startswith((":-", "-")), f"${{{match.group('name')}}} has no default: {value!r}"
        return variables.get(match.group("name")) or rest.split("-", 1)[1]

    text = _VARIABLE.sub(default, text)
    assert "$" not in text, f"a bare '$' is interpolated by Compose (write '$$'): {value!r}"
    return text.replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _interpolate(yaml.safe_load(COMPOSE.read_text()))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(entry.split("=", 1) for entry in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def _airflow_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services running the image built from the Dockerfile (every Airflow component)."""
    return {name: service for name, service in services.items() if "build" in service}


def _dockerfile() -> tuple[str, str]:
    """The Dockerfile's base image and its ``RUN`` instructions, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(bases) == 1, f"one FROM expected: {bases}"
    return bases[0], "\n".join(line for line in lines if line.startswith("RUN "))


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in depends.items()}


def _bind_mounts(service: dict[str, Any]) -> dict[PurePosixPath, Path]:
    """Container path -> host path of every bind mount (short syntax, relative to the compose file)."""
    mounts = {}
    for volume in service.get("volumes") or []:
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts[PurePosixPath(target)] = (COMPOSE.parent / source).resolve()
    return mounts


def _host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """Where a container path lives on the host, through the service's bind mounts."""
    path = PurePosixPath(container_path)
    for target, source in sorted(_bind_mounts(service).items(), key=lambda item: -len(item[0].parts)):
        if path == target or target in path.parents:
            return source.joinpath(*path.parts[len(target.parts) :])
    return None


def _connections(service: dict[str, Any]) -> dict[str, str]:
    return {
        key[len("AIRFLOW_CONN_") :].lower(): value
        for key, value in _environment(service).items()
        if key.startswith("AIRFLOW_CONN_")
    }


def _parse_connection(conn_id: str, value: str) -> dict[str, Any]:
    """A connection the way Airflow reads ``AIRFLOW_CONN_*``: JSON when it starts with '{', else a URI."""
    if value.lstrip().startswith("{"):
        data = json.loads(value)
        assert isinstance(data, dict), conn_id
        assert set(data) <= CONNECTION_KEYS, f"{conn_id}: unknown keys {set(data) - CONNECTION_KEYS}"
        assert isinstance(data.get("conn_type"), str) and data["conn_type"], f"{conn_id}: conn_type"
        assert isinstance(data.get("port", 0), int), f"{conn_id}: port must be a number"
        assert isinstance(data.get("extra", {}), dict), f"{conn_id}: extra must be an object"
        return data
    parts = urlsplit(value)
    assert parts.scheme and parts.hostname, f"{conn_id}: neither JSON nor a URI: {value!r}"
    return {"conn_type": parts.scheme, "host": parts.hostname, "port": parts.port, "login": parts.username}


def _locked_version(package: str) -> str:
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{package} is not in requirements.lock")


def test_the_playground_has_airflow_and_every_server(services: dict[str, dict[str, Any]]) -> None:
    missing = ({"airflow-init", *AIRFLOW_COMMANDS} | set(SERVERS) | CELERY) - set(services)
    assert not missing, f"services missing: {sorted(missing)}"
    for name, service in services.items():
        assert service.get("image") or service.get("build"), f"{name} has neither image nor build"


def test_airflow_components_run_the_locked_airflow_on_postgres(services: dict[str, dict[str, Any]]) -> None:
    airflow = _airflow_services(services)
    assert {"airflow-init", *AIRFLOW_COMMANDS, "airflow-worker", "flower"} <= set(airflow)
    assert {(service["build"], service["image"]) for service in airflow.values()} == {
        (".", "ozzy-playground-airflow:3.3.2-python3.11")
    }, "every Airflow service runs the one image built from the repository's Dockerfile"
    base, _ = _dockerfile()
    assert base == f"apache/airflow:{_locked_version('apache-airflow')}-python3.11"
    for name, command in AIRFLOW_COMMANDS.items():
        assert services[name]["command"] == command
    for name, service in airflow.items():
        environment = _environment(service)
        database = urlsplit(environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert database.scheme.startswith("postgresql") and database.hostname == "postgres", name
        assert environment["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false", name
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert environment["AIRFLOW__API_AUTH__JWT_SECRET"], f"{name}: components must share a JWT secret"
        api = urlsplit(environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert api.hostname == "airflow-apiserver" and api.path == "/execution/", name
    # AlchemyPersistence never uses Airflow's metadata DB
    state_db = _parse_connection(
        "ozzy_state_db", _connections(services["airflow-scheduler"])["ozzy_state_db"]
    )
    assert state_db["host"] == "ozzy-state-db"


def test_depends_on_targets_exist_and_their_conditions_can_be_met(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for target, condition in _depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert condition in ("service_started", "service_healthy", "service_completed_successfully")
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy"
            if condition == "service_completed_successfully":
                assert "restart" not in services[target], f"{target} must exit for {name} to start"
    for name in AIRFLOW_COMMANDS:
        assert _depends_on(services[name]) == {
            "postgres": "service_healthy",
            "airflow-init": "service_completed_successfully",
        }
    assert _depends_on(services["airflow-init"]) == {"postgres": "service_healthy"}

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"depends_on cycle: {' -> '.join((*path, name))}"
        for target in _depends_on(services[name]):
            visit(target, (*path, name))

    for name in services:
        visit(name, ())


def test_mounts_exist_in_the_repository_and_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                host = (COMPOSE.parent / source).resolve()
                assert host.exists() and (host == ROOT or ROOT in host.parents), f"{name}: {volume}"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_every_dag_file_is_in_the_mounted_dags_folder(services: dict[str, dict[str, Any]]) -> None:
    dag_files = sorted(
        path.relative_to(ROOT / "dags") for path in (ROOT / "dags").rglob("*") if path.is_file()
    )
    dag_files = [path for path in dag_files if "__pycache__" not in path.parts]
    assert any(path.suffix == ".py" for path in dag_files)
    for name, service in _airflow_services(services).items():
        folder = _host_path(service, _environment(service)["AIRFLOW__CORE__DAGS_FOLDER"])
        assert folder == ROOT / "dags", f"{name}: the dags folder is not the repository's dags/"
        for path in dag_files:
            assert (folder / path).is_file(), f"{name} cannot see dags/{path}"


def test_ozzy_is_built_into_the_image_once_with_airflows_constraints(
    services: dict[str, dict[str, Any]],
) -> None:
    """The Dockerfile installs Ozzy with its extras at build time, pinning Airflow to the image's
    version and with the image's constraints file; no container installs anything when it starts."""
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    text = DOCKERFILE.read_text()
    _, run = _dockerfile()
    installs = [line for line in run.splitlines() if "pip install" in line]
    assert len(installs) == 1, f"one pip install expected: {installs}"
    install = installs[0]
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install, "pip may change the image's Airflow"
    assert re.search(r'--constraint "\$\{HOME\}/constraints\.txt"', install), "no Airflow constraints"
    target = re.search(r'--editable "(?P<path>/\S+?)\[\$\{OZZY_EXTRAS\}\]"', install)
    assert target and target.group("path") == MOUNTED_AT, install
    assert re.search(rf"^COPY --chown=airflow:0 \. {MOUNTED_AT}$", text, re.MULTILINE)
    default_extras = re.search(r"^ARG OZZY_EXTRAS=(?P<extras>[\w,-]+)$", text, re.MULTILINE)
    assert default_extras, "ARG OZZY_EXTRAS missing"
    chosen = set(default_extras.group("extras").split(","))
    assert chosen <= extras and {"amazon", "azure", "sftp", "ftp", "kafka"} <= chosen
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", ".ozzy-state"} <= ignored
    assert not {"pyproject.toml", "README.md", "airflow_provider_ozzy"} & ignored, "pip needs them"
    for name, service in _airflow_services(services).items():
        assert not _environment(service).get("_PIP_ADDITIONAL_REQUIREMENTS"), f"{name} installs at start"
        # the editable install finds the code where compose mounts the repository
        assert _host_path(service, MOUNTED_AT) == ROOT, f"{name} does not mount the repository"
    # the example DAGs' paths point into the mounted demo/ folder
    scheduler = services["airflow-scheduler"]
    for variable, folder in {
        "OZZY_DEMO_INPUT": "input",
        "OZZY_DEMO_OUTPUT": "airflow-out",
        "OZZY_DEMO_YAML_OUTPUT": "airflow-out-yaml",
    }.items():
        assert _host_path(scheduler, _environment(scheduler)[variable]) == ROOT / "demo" / folder
        assert variable in "".join(path.read_text() for path in (ROOT / "dags").glob("*.py"))
    init_script = " ".join(services["airflow-init"]["command"])
    assert "/opt/ozzy/demo/generate_input.py" in init_script
    assert _host_path(services["airflow-init"], "/opt/ozzy/demo/generate_input.py") == (
        ROOT / "demo" / "generate_input.py"
    )


def test_every_preset_connection_parses_and_points_at_a_service(services: dict[str, dict[str, Any]]) -> None:
    airflow = _airflow_services(services)
    connections = _connections(services["airflow-scheduler"])
    assert connections, "no AIRFLOW_CONN_* preset"
    for name in AIRFLOW_COMMANDS:
        assert _connections(services[name]) == connections, f"{name} sees other connections"
    assert set(_connections(services["airflow-init"])) <= set(connections)
    for conn_id, value in connections.items():
        assert re.fullmatch(r"[a-z0-9_]+", conn_id)
        connection = _parse_connection(conn_id, value)
        host = connection.get("host")
        extra = connection.get("extra") or {}
        urls = [each for each in extra.values() if isinstance(each, str) and re.match(r"[a-z]+://", each)]
        urls += re.findall(r"BlobEndpoint=(http[^;]+)", extra.get("connection_string", ""))
        hosts = {host} if host else set()
        hosts |= {urlsplit(url).hostname for url in urls}
        assert hosts, f"{conn_id} names no host"
        for each in hosts:
            assert each in services and each not in airflow, f"{conn_id} points at {each}, not a server"


def test_every_connection_a_dag_uses_is_preset(services: dict[str, dict[str, Any]]) -> None:
    preset = set(_connections(services["airflow-scheduler"]))
    used = set()
    for path in (ROOT / "dags").rglob("*"):
        if path.suffix in (".py", ".yaml", ".yml", ".json"):
            text = path.read_text()
            used |= set(re.findall(r"_conn_id[\"']?\s*[:=]\s*[\"']([\w.-]+)[\"']", text))
            used |= set(re.findall(r"\bconn\.([\w-]+)\.", text))
    assert used <= preset, f"connections used by dags/ but not preset: {sorted(used - preset)}"


def _published(service: dict[str, Any]) -> list[tuple[str, int]]:
    """(host address, host port) of every published port, ranges expanded."""
    published = []
    for entry in service.get("ports") or []:
        parts = str(entry).split(":")
        assert len(parts) == 3, f"publish on an explicit address (127.0.0.1:HOST:CONTAINER): {entry}"
        address, host = parts[0], parts[1]
        first, _, last = host.partition("-")
        published += [(address, port) for port in range(int(first), int(last or first) + 1)]
    return published


def test_published_ports_are_unique_and_local(services: dict[str, dict[str, Any]]) -> None:
    seen: dict[int, str] = {}
    for name, service in services.items():
        for address, port in _published(service):
            assert address == "127.0.0.1", f"{name} publishes {port} beyond this machine"
            assert port not in seen, f"host port {port} is published by {seen.get(port)} and {name}"
            seen[port] = name
    assert seen[8080] == "airflow-apiserver"


def test_airflow_init_follows_airflows_init_pattern(services: dict[str, dict[str, Any]]) -> None:
    """As in Airflow's docker-compose.yaml: one run as root that migrates the database and creates
    the admin user through the image's entrypoint, warns when AIRFLOW_UID is unset and hands the
    folders Airflow writes to that user; every other Airflow service waits for it to complete."""
    init = services["airflow-init"]
    environment = _environment(init)
    script = " ".join(init["command"])
    assert init["user"] == "0:0" and init["entrypoint"] == "/bin/bash" and "restart" not in init
    assert environment["_AIRFLOW_DB_MIGRATE"] == "true" and environment["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert environment["_AIRFLOW_WWW_USER_USERNAME"] and environment["_AIRFLOW_WWW_USER_PASSWORD"]
    assert "/entrypoint airflow version" in script, "the entrypoint is what migrates and creates the user"
    assert environment["AIRFLOW__CORE__AUTH_MANAGER"].endswith(".FabAuthManager"), "users need FAB"
    assert 'if [[ -z "${AIRFLOW_UID}" ]]' in script and environment["AIRFLOW_UID"] == ""
    chown = re.search(r'chown -R "\$\{AIRFLOW_UID\}:0" (?P<paths>[^\n]+)', script.replace("\\\n", " "))
    assert chown, "the folders Airflow writes are not handed to AIRFLOW_UID"
    owned = set(chown.group("paths").split())
    scheduler = _environment(services["airflow-scheduler"])
    written = {scheduler[name] for name in ("OZZY_DEMO_INPUT", "OZZY_DEMO_OUTPUT", "OZZY_DEMO_YAML_OUTPUT")}
    assert written | {"/opt/airflow/logs"} <= owned, f"not handed over: {written - owned}"
    for name, service in _airflow_services(services).items():
        if name != "airflow-init":
            assert _depends_on(service).get("airflow-init") == "service_completed_successfully", name
            assert service["user"] == "50000:0", f"{name} runs as AIRFLOW_UID (50000 when unset)"


def test_the_celery_profile_adds_a_broker_and_workers_beside_local_executor() -> None:
    """Without a profile the playground runs LocalExecutor and no Celery piece; with
    ``--profile celery`` and ``OZZY_EXECUTOR=CeleryExecutor`` every component runs CeleryExecutor
    against the redis broker, and the workers see what the scheduler sees."""
    raw = yaml.safe_load(COMPOSE.read_text())
    celery = _interpolate(raw, {"OZZY_EXECUTOR": "CeleryExecutor"})["services"]
    local = _interpolate(raw)["services"]
    profiles = {name: set(service.get("profiles") or []) for name, service in celery.items()}
    assert {name for name, found in profiles.items() if found} == CELERY
    assert "celery" in profiles["redis"] and profiles["airflow-worker"] == {"celery"}
    assert profiles["flower"] == {"flower"}, "flower is optional, on its own profile"
    for name, service in celery.items():  # a service that always runs cannot wait for a profiled one
        if not profiles[name]:
            assert not set(_depends_on(service)) & CELERY, f"{name} depends on a profiled service"
    worker = celery["airflow-worker"]
    assert worker["command"] == "celery worker" and celery["flower"]["command"] == "celery flower"
    assert _depends_on(worker)["redis"] == "service_healthy" and "healthcheck" in celery["redis"]
    assert re.fullmatch(r"redis:\d+(\.\d+)+-\w+", celery["redis"]["image"])
    assert _environment(worker)["DUMB_INIT_SETSID"] == "0", "warm shutdown of the worker"
    for name, service in _airflow_services(celery).items():
        environment = _environment(service)
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert _environment(local[name])["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert urlsplit(environment["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis", name
        backend = urlsplit(environment["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+"))
        assert backend.hostname == "postgres", name
    scheduler = celery["airflow-scheduler"]
    assert _connections(worker) == _connections(scheduler), "a worker runs the tasks: same connections"
    assert _bind_mounts(worker) == _bind_mounts(scheduler), "a worker reads the same DAGs and demo files"


def test_side_services_are_pinned_by_version(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service["image"]
        reference, _, digest = image.partition("@")
        tag = reference.rpartition(":")[2] if ":" in reference.rsplit("/", 1)[-1] else ""
        pinned = bool(re.fullmatch(r"sha256:[0-9a-f]{64}", digest)) or bool(re.search(r"\d", tag))
        assert pinned and tag != "latest", f"{name}: {image} is not pinned to a version"
    assert services["moto"]["image"] == f"motoserver/moto:{_locked_version('moto')}", "as in the tests"


def test_kafka_connection_is_ozzys_own_type_and_ozzy_accepts_it(services: dict[str, dict[str, Any]]) -> None:
    from airflow_provider_ozzy.hooks.connection_forms import KAFKA_CONN_TYPE
    from airflow_provider_ozzy.services.kafka import config_from_connection

    connection = _parse_connection("ozzy_kafka", _connections(services["airflow-scheduler"])["ozzy_kafka"])
    assert connection["conn_type"] == KAFKA_CONN_TYPE == "ozzy_kafka"
    config = config_from_connection(
        connection.get("host"),
        connection.get("port"),
        connection.get("login"),
        connection.get("password"),
        connection.get("extra") or {},
    )
    assert config["bootstrap_servers"] == ["kafka:9092"]
