"""Test helpers: run the real ``ozzy`` command, write configs, read back what exports produced."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import os
import random
import subprocess
import sys
import urllib.parse
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest
import zstandard

if TYPE_CHECKING:
    from tests.crash_harness import CrashReport
    from tests.servers.databases import DatabaseServer
    from tests.servers.moto_server import MotoServer

OZZY = [sys.executable, "-m", "airflow_provider_ozzy.cli"]

# crash stress tests: how many jobs, and the master seed their seeds are drawn from
STRESS_POINTS = int(os.environ.get("OZZY_CRASH_POINTS", "20"))
STRESS_SEED = int(os.environ.get("OZZY_CRASH_SEED", "20260000"))


def run_ozzy(
    *args: str, cwd: str | os.PathLike[str], timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``ozzy ARGS`` in a child process, as a user would."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [*OZZY, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )


def run_ozzy_listing_imports(
    cwd: str | os.PathLike[str],
    roots: tuple[str, ...] = ("airflow",),
    hidden: tuple[str, ...] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``ozzy run config.json --quiet`` in a child process that prints ``EXIT <code> IMPORTED [...]``
    at the end: the modules under ``roots`` the run imported (``IMPORTED []`` for none; importing
    Airflow costs seconds). ``hidden`` modules cannot be imported there, as if not installed."""
    script = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({list(hidden)!r}))\n"
        "from airflow_provider_ozzy.cli import main\n"
        "code = main(['run', 'config.json', '--quiet'])\n"
        f"roots = {list(roots)!r}\n"
        "found = [m for m, module in sys.modules.items() if module is not None and m.split('.')[0] in roots]\n"
        "print('EXIT', code, 'IMPORTED', sorted(found))\n"
        "sys.exit(code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def resumable_job(
    tmp_path: Path, reader: dict[str, Any], *, file_name: str, state_id: str = "job", **writer_options: Any
) -> dict[str, Any]:
    """An export job from ``reader`` to FSWriter files ``tmp_path/out/<file_name>0000``... (with
    ``writer_options``) whose state PicklePersistence keeps under ``tmp_path/state`` as ``state_id``."""
    return {
        "reader": reader,
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": str(tmp_path / "out" / file_name), **writer_options},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
        "exporter_options": {"persistence_state_id": state_id},
    }


def write_config(path: str | os.PathLike[str], config: dict[str, Any]) -> Path:
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(config, sort_keys=False))
    else:
        path.write_text(json.dumps(config, indent=2))
    return path


def decompress(path: str | os.PathLike[str]) -> bytes:
    """The uncompressed bytes of an output file, by its suffix."""
    data = Path(path).read_bytes()
    name = str(path)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".bz2"):
        return bz2.decompress(data)
    if name.endswith(".zstd") or name.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"".join(archive.read(member) for member in archive.namelist())
    return data


def read_json_lines(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in decompress(path).decode("utf-8").splitlines() if line.strip()]


def output_files(folder: str | os.PathLike[str]) -> list[str]:
    """Every visible file under ``folder``, as sorted paths relative to it."""
    found = []
    for root, _, files in os.walk(folder):
        for name in files:
            if not name.startswith("."):
                found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def write_json_lines_gz(path: str | os.PathLike[str], items: list[dict[str, Any]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # level 1: inputs only need to be gzip, and level 9 costs seconds of CPU for megabytes of items
    with gzip.open(path, "wb", compresslevel=1) as handle:
        for item in items:
            handle.write(json.dumps(item).encode() + b"\n")
    return path


def postgres_connection(server: DatabaseServer, password: str) -> dict[str, Any]:
    """The Airflow connection (``AIRFLOW_CONN_*`` JSON) to the test PostgreSQL server.

    The server trusts local logins, so ``password`` travels to it unchecked: secret-leak tests
    give it a distinctive one.
    """
    return {
        "conn_type": "postgres",
        "host": server.host,
        "port": server.port,
        "login": server.user,
        "password": password,
        "schema": server.database,
    }


def secret_hits(text: str, secret: str) -> list[str]:
    """Where ``secret`` (raw, base64 or URL-quoted) appears in ``text``, each with its surroundings."""
    forms = {secret, base64.b64encode(secret.encode()).decode(), urllib.parse.quote(secret, safe="")}
    found = []
    for form in forms:
        at = text.find(form)
        if at >= 0:
            found.append("..." + text[max(0, at - 200) : at + len(form) + 60] + "...")
    return found


def secret_leaks(
    folder: Path, texts: dict[str, str], secret: str, skip: tuple[str, ...] = ("job.json",)
) -> list[str]:
    """Every place ``secret`` shows: in ``texts`` (where -> text) and in the files under ``folder``.

    The files named in ``skip`` are passed over (the config file holds legacy secrets on purpose).
    """
    problems = [f"{where}: {hit}" for where, text in texts.items() for hit in secret_hits(text, secret)]
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name not in skip:
            text = path.read_bytes().decode("latin-1")
            problems.extend(f"{path}: {hit}" for hit in secret_hits(text, secret))
    return problems


def s3_objects(client: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object of ``bucket`` under ``prefix``, by key, with its bytes (read with boto3)."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            found[entry["Key"]] = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
    return found


class Destination:
    """Where the writer puts files, and an independent way to list and read them back."""

    def writer(self, filebase: str, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def files(self) -> dict[str, bytes]:
        """Every file by its path relative to the destination root, with its (compressed) bytes."""
        raise NotImplementedError


class FSDestination(Destination):
    """FSWriter into the local folder ``root``; read back by walking it (visible files only)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def writer(self, filebase: str, **options: Any) -> dict[str, Any]:
        return {"name": "FSWriter", "options": {"filebase": f"{self.root}/{filebase}", **options}}

    def files(self) -> dict[str, bytes]:
        return {name: (self.root / name).read_bytes() for name in output_files(self.root)}


class S3Destination(Destination):
    """S3Writer into a fresh moto bucket through connection ``conn_id``; read back with boto3.

    ``visible_only`` leaves out objects whose last path segment starts with a dot.
    """

    def __init__(self, moto: MotoServer, bucket: str, conn_id: str, visible_only: bool = False) -> None:
        self.client = moto.client("s3")
        self.bucket = moto.create_bucket(bucket)
        self.conn_id = conn_id
        self.visible_only = visible_only

    def writer(self, filebase: str, **options: Any) -> dict[str, Any]:
        return {
            "name": "S3Writer",
            "options": {"bucket": self.bucket, "filebase": filebase, "aws_conn_id": self.conn_id, **options},
        }

    def files(self) -> dict[str, bytes]:
        found = s3_objects(self.client, self.bucket)
        if self.visible_only:
            return {key: data for key, data in found.items() if not key.rsplit("/", 1)[-1].startswith(".")}
        return found


def legacy_s3_env(reader: bool = True, writer: bool = True) -> dict[str, str]:
    """The legacy ``EXPORTERS_S3*`` credential variables (and region) for the moto server."""
    from tests.servers.moto_server import ACCESS_KEY, REGION, SECRET_KEY

    env = {"AWS_DEFAULT_REGION": REGION}
    if writer:
        env.update(EXPORTERS_S3WRITER_AWS_LOGIN=ACCESS_KEY, EXPORTERS_S3WRITER_AWS_SECRET=SECRET_KEY)
    if reader:
        env.update(EXPORTERS_S3READER_AWS_KEY=ACCESS_KEY, EXPORTERS_S3READER_AWS_SECRET=SECRET_KEY)
    return env


def json_lines_gz_objects(items: list[dict[str, Any]], files: int, name: str) -> dict[str, bytes]:
    """``items`` cut into ``files`` gzip JSON-lines inputs of equal size, named ``name.format(index)``.

    ``mtime=0`` keeps the bytes the same from run to run (stores compare them).
    """
    per_file = len(items) // files
    objects = {}
    for index in range(files):
        lines = b"".join(
            json.dumps(item).encode() + b"\n" for item in items[index * per_file : (index + 1) * per_file]
        )
        objects[name.format(index)] = gzip.compress(lines, mtime=0)
    return objects


def write_input_files(
    folder: Path, items: list[dict[str, Any]], files: int, name: str = "part-{}.jl.gz"
) -> Path:
    """``items`` cut into ``files`` gzip JSON-lines inputs of equal size in ``folder``, named ``name.format(index)``."""
    per_file = len(items) // files
    for index in range(files):
        write_json_lines_gz(folder / name.format(index), items[index * per_file : (index + 1) * per_file])
    return folder


def legacy_remote_options(protocol: str, server: Any, host: str, port: int) -> dict[str, Any]:
    """SFTP or FTP (``protocol``) legacy host/user/password options for the test ``server`` at ``host:port``.

    Legacy options keep the ``ozzy`` process free of Airflow connection lookups.
    """
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        f"{protocol}_user": server.user,
        f"{protocol}_password": server.password,
    }
    if protocol == "sftp":
        options["no_host_key_check"] = True
    return options


def last_json_line(text: str) -> dict[str, Any]:
    """The last line of ``text`` that is a JSON object: the stats ``ozzy run`` prints when a run ends."""
    found: dict[str, Any] = json.loads(
        next(line for line in reversed(text.splitlines()) if line.startswith("{"))
    )
    return found


def final_stats(report: CrashReport) -> dict[str, Any]:
    """The stats line ``ozzy`` printed when the last attempt of a crash-harness run ended."""
    return last_json_line(report.attempts[-1].log.read_text())


def exporters_options(**formatter_options: Any) -> dict[str, Any]:
    """The ``exporter_options`` section of exporters' own sample configs (its docs and tutorials)."""
    return {
        "log_level": "DEBUG",
        "logger_name": "export-pipeline",
        "formatter": {
            "name": "exporters.export_formatter.json_export_formatter.JsonExportFormatter",
            "options": formatter_options,
        },
        "notifications": [],
    }


def seeded_item(
    number: int, countries: list[str], more: Callable[[int, random.Random], dict[str, Any]]
) -> dict[str, Any]:
    """Input item ``number``, the same on every call: crash tests rebuild the input from the numbers alone.

    ``id`` and ``country`` come first; ``more(number, rng)`` adds the test's own fields, drawn from
    the same ``random.Random(number)`` after the country.
    """
    rng = random.Random(number)
    return {"id": number, "country": rng.choice(countries), **more(number, rng)}


class ModuleCase(NamedTuple):
    """An exporters filter or transform test as data: ``module`` turns ``items`` into ``expected``."""

    test: str  # the exporters test it ports: the pytest id
    module: str
    options: dict[str, Any]
    items: list[dict[str, Any]]
    expected: list[dict[str, Any]]


def parametrize_module_cases(cases: list[ModuleCase]) -> pytest.MarkDecorator:
    """Run a test once per case (argument ``case``), named after the exporters test the case ports."""
    return pytest.mark.parametrize("case", cases, ids=[case.test for case in cases])


def skip_unless_slow_requested(config: pytest.Config) -> None:
    """Skip a ``slow`` stress test unless ``-m slow``, ``OZZY_SLOW_TESTS=1`` or ``OZZY_STRESS=1``
    (``scripts/test.sh`` then drops its ``-m``) asked for it.

    The marker alone does not keep it out of a plain run (no ``-m``), and it takes many minutes.
    """
    asked = "slow" in (config.getoption("markexpr", "") or "")
    if not asked and "1" not in (os.environ.get("OZZY_SLOW_TESTS"), os.environ.get("OZZY_STRESS")):
        pytest.skip("slow: run with -m slow (or OZZY_SLOW_TESTS=1, OZZY_STRESS=1)")


def run_stress_points(
    run_point: Callable[[int, int], CrashReport], name: Callable[[int], str] | None = None
) -> tuple[list[str], int]:
    """``run_point(point, seed)`` for ``STRESS_POINTS`` points, seeds drawn from ``STRESS_SEED``; the
    failures (each with its point, ``name(point)`` and seed, to replay it) and the interruptions landed.

    Every point runs even after one fails: a stress run reports all the points that fail at once.
    """
    master = random.Random(STRESS_SEED)
    failures: list[str] = []
    landed = 0
    for point in range(STRESS_POINTS):
        seed = master.randrange(1_000_000)
        try:
            report = run_point(point, seed)
        except AssertionError as error:
            named = f"{name(point)}, " if name else ""
            failures.append(f"point {point} ({named}seed {seed}): {error}")
        else:
            landed += report.interruptions
    return failures, landed


def key_coverage_report(items: int, keys: dict[str, tuple[int, float]]) -> dict[str, Any]:
    """AggregationWriter's report (exporters' AggregationStatsWriter): ``keys`` maps each key to the
    (count, percentage) it must show; the values stay literal in the tests, the shape lives here."""
    return {
        "items": items,
        "keys": {
            key: {"count": count, "percentage": percentage} for key, (count, percentage) in keys.items()
        },
    }


def grouped_file_names(files_per_group: dict[str, int], name: str = "file") -> list[str]:
    """The files FSWriter writes for groups, in the order given: ``files_per_group[folder]`` files
    ``{folder}/{name}0000.jl.gz``, ``{name}0001.jl.gz``... in each group folder."""
    return [
        f"{folder}/{name}{n:04d}.jl.gz" for folder, count in files_per_group.items() for n in range(count)
    ]
