"""SPEC §3 across the catalogue: the same seeded ``kill -9``/resume scenario for every storage module.

One scenario (3,000 items in 6 gzip JSON-lines inputs, grouped by country, 120 items per file,
batches of 50) runs through each writer (FS, S3, GCS, Azure Blob, SFTP, FTP; read with FSReader)
and each reader (S3, GCS, Azure Blob, SFTP; written with FSWriter). The harness
(``tests/crash_harness.py``) kills the real ``ozzy`` process from outside, resumes it, and the
destination is then downloaded over the wire and compared with the input: every item exactly once,
in order, cut into files exactly as an uninterrupted run cuts them, no partial file left.

The default run kills each module's job once at a seeded point (10 interruption points). The stress
variant (``-m slow`` or ``OZZY_STRESS=1``/``OZZY_SLOW_TESTS=1``) runs seeded random plans until
at least ``OZZY_CRASH_POINTS`` (20) kills have landed per module and prints one summary line per
module (interruption points, items lost, duplicates) for ``docs/reliability.md``.
"""

from __future__ import annotations

import collections
import json
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.crash_harness import CountWritten, CrashHarness, CrashReport, Trigger, check_exact_output
from tests.helpers import json_lines_gz_objects, legacy_remote_options, legacy_s3_env, write_json_lines_gz
from tests.integration.test_crash_resume import Scenario, make_item

INPUT_FILES = 6
ITEMS_PER_INPUT = 500
ITEMS = [make_item(number) for number in range(INPUT_FILES * ITEMS_PER_INPUT)]
SCENARIO = Scenario("matrix", group_key="country")  # gz JSON lines, 120 items per file, batches of 50
BATCHES = len(ITEMS) // SCENARIO.batch_size
WRITERS = ["fs", "s3", "gcs", "azure_blob", "sftp", "ftp"]
READERS = ["s3", "gcs", "azure_blob", "sftp"]
MODULES = [f"{name}-writer" for name in WRITERS] + [f"{name}-reader" for name in READERS]
PENDING = {
    "sql-writer": "OdoWriter/SQL writer: not in the catalogue yet",
    "kafka-reader": "KafkaReader: not in the catalogue yet",
}

STRESS_POINTS = int(os.environ.get("OZZY_CRASH_POINTS", "20"))
STRESS_SEED = int(os.environ.get("OZZY_CRASH_SEED", "20261126"))
STRESS_MAX_JOBS = 20


def input_objects() -> dict[str, bytes]:
    """The input files, named as every store holds them (``src/part-N.jl.gz``)."""
    return json_lines_gz_objects(ITEMS, INPUT_FILES, "src/part-{}.jl.gz")


def visible(name: str) -> bool:
    return not any(part.startswith(".") for part in name.split("/"))


def counting_since(list_names: Callable[[], list[str]]) -> CountWritten:
    """``count_written`` for a remote store whose listing has no fine timestamps: visible names now,
    minus those there at the attempt's first poll (made right after the process starts, long
    before it can write anything)."""
    baseline: dict[int, int] = {}

    def count(since_ns: int) -> int:
        now = sum(1 for name in list_names() if visible(name))
        return now - baseline.setdefault(since_ns, now)

    return count


@dataclass
class Place:
    """One module of the matrix: how a job reaches it, counts its output and downloads it."""

    module: str
    reader: dict[str, Any] | None = None  # None: FSReader over the local input folder
    writer: dict[str, Any] | None = None  # None: FSWriter into the harness's ``out``
    env: dict[str, str] = field(default_factory=dict)
    count_written: CountWritten | None = None
    fetch: Callable[[Path], None] | None = None  # download the destination into a folder
    output_dir: str = "out"


# -- one Place per module -------------------------------------------------------------------------------
def _writer_options(filebase: str) -> dict[str, Any]:
    return {"filebase": filebase, "items_per_buffer_write": SCENARIO.items_per_file, "compression": "gz"}


def s3_place(request: pytest.FixtureRequest, kind: str, tag: str) -> Place:
    moto = request.getfixturevalue("moto_server")
    client = moto.client("s3")
    bucket = moto.create_bucket()
    env = legacy_s3_env()

    def names(prefix: str) -> list[str]:
        found = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.extend(entry["Key"] for entry in page.get("Contents", []))
        return found

    if kind == "reader":
        for key, data in input_objects().items():
            client.put_object(Bucket=bucket, Key=key, Body=data)
        reader = {
            "name": "S3Reader",
            "options": {"bucket": bucket, "prefix": "src/", "host": moto.endpoint_url},
        }
        return Place("s3-reader", reader=reader, env=env)

    def fetch(folder: Path) -> None:
        for key in names(f"{tag}/"):
            path = folder / key.removeprefix(f"{tag}/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())

    options = _writer_options(f"{tag}/{{groups[0]}}/part_")
    writer = {"name": "S3Writer", "options": {**options, "bucket": bucket, "host": moto.endpoint_url}}
    return Place(
        "s3-writer",
        writer=writer,
        env=env,
        count_written=counting_since(lambda: names(f"{tag}/")),
        fetch=fetch,
    )


def gcs_place(request: pytest.FixtureRequest, kind: str, tag: str) -> Place:
    gcs = request.getfixturevalue("gcs_server")
    client = gcs.client()
    bucket = f"ozzy-{uuid.uuid4().hex[:12]}"
    client.create_bucket(bucket)
    # legacy credentials: the ozzy processes import no Airflow module
    env = {**gcs.env(), "EXPORTERS_GSTORAGE_CREDS_RESOURCE": json.dumps(gcs.service_account())}
    if kind == "reader":
        for name, data in input_objects().items():
            client.bucket(bucket).blob(name).upload_from_string(data)
        return Place(
            "gcs-reader",
            reader={"name": "GStorageReader", "options": {"bucket": bucket, "prefix": "src/"}},
            env=env,
        )

    def names() -> list[str]:
        return [blob.name for blob in client.list_blobs(bucket, prefix=f"{tag}/")]

    def fetch(folder: Path) -> None:
        for name in names():
            path = folder / name.removeprefix(f"{tag}/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.bucket(bucket).blob(name).download_as_bytes())

    writer = {
        "name": "GStorageWriter",
        "options": {**_writer_options(f"{tag}/{{groups[0]}}/part_"), "bucket": bucket},
    }
    return Place("gcs-writer", writer=writer, env=env, count_written=counting_since(names), fetch=fetch)


def azure_blob_place(request: pytest.FixtureRequest, kind: str, tag: str) -> Place:
    from tests.servers.azure_files_server import ACCOUNT, KEY

    azurite = request.getfixturevalue("azurite_server")
    service = azurite.client()
    container = f"ozzy-{uuid.uuid4().hex[:12]}"
    service.create_container(container)
    client = service.get_container_client(container)
    account = {"account_name": ACCOUNT, "account_key": KEY, "account_url": azurite.endpoint}
    if kind == "reader":
        for name, data in input_objects().items():
            client.upload_blob(name, data, overwrite=True)
        reader = {"name": "AzureBlobReader", "options": {"container": container, "prefix": "src/", **account}}
        return Place("azure_blob-reader", reader=reader)

    def names() -> list[str]:
        return [blob.name for blob in client.list_blobs(name_starts_with=f"{tag}/")]

    def fetch(folder: Path) -> None:
        for name in names():
            path = folder / name.removeprefix(f"{tag}/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.get_blob_client(name).download_blob().readall())

    options = {**_writer_options(f"{tag}/{{groups[0]}}/part_"), "container": container, **account}
    writer = {"name": "AzureBlobWriter", "options": options}
    return Place("azure_blob-writer", writer=writer, count_written=counting_since(names), fetch=fetch)


def remote_place(request: pytest.FixtureRequest, protocol: str, kind: str, tag: str) -> Place:
    """SFTP or FTP: legacy host/user/password options, so the ozzy processes import no Airflow module."""
    server = request.getfixturevalue(f"{protocol}_server")
    options = legacy_remote_options(protocol, server, server.host, server.port)
    if kind == "reader":
        source = server.root / tag / "src"
        source.mkdir(parents=True)
        for name, data in input_objects().items():
            (source / name.removeprefix("src/")).write_bytes(data)
        reader = {"name": "SFTPReader", "options": {**options, "prefix": f"{tag}/src/"}}
        return Place(f"{protocol}-reader", reader=reader)
    name = "SFTPWriter" if protocol == "sftp" else "FTPWriter"
    writer = {"name": name, "options": {**options, **_writer_options(f"{tag}/{{groups[0]}}/part_")}}
    # the servers keep their files in a local folder: the harness counts them there (mtimes), the
    # check downloads them over the wire
    return Place(
        f"{protocol}-writer",
        writer=writer,
        fetch=lambda folder: server.download(tag, folder) and None,
        output_dir=str(server.root / tag),
    )


def make_place(request: pytest.FixtureRequest, module: str) -> Place:
    name, kind = module.rsplit("-", 1)
    tag = f"job-{uuid.uuid4().hex[:10]}"
    if name == "fs":
        return Place(module)
    if name == "s3":
        return s3_place(request, kind, tag)
    if name == "gcs":
        return gcs_place(request, kind, tag)
    if name == "azure_blob":
        return azure_blob_place(request, kind, tag)
    return remote_place(request, name, kind, tag)


# -- running and checking -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def matrix_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("matrix-input")
    for index in range(INPUT_FILES):
        write_json_lines_gz(
            folder / f"part-{index}.jl.gz", ITEMS[index * ITEMS_PER_INPUT : (index + 1) * ITEMS_PER_INPUT]
        )
    return folder


def job_config(place: Place, input_dir: Path) -> dict[str, Any]:
    config = SCENARIO.config(input_dir)
    if place.reader is not None:
        place.reader["options"]["batch_size"] = SCENARIO.batch_size
        config["reader"] = place.reader
    if place.writer is not None:
        config["writer"] = place.writer
    return config


def harness_for(place: Place, input_dir: Path, workdir: Path) -> CrashHarness:
    return CrashHarness(
        workdir,
        job_config(place, input_dir),
        env=place.env,
        count_written=place.count_written,
        output_dir=place.output_dir,
        timeout=180,
    )


@dataclass
class Tally:
    """Items lost and written twice, counted over the whole destination."""

    lost: int
    duplicates: int


def check_destination(place: Place, harness: CrashHarness, report: CrashReport, download_to: Path) -> Tally:
    context = f"\n{report.describe()}\n{report.log_tails()}"
    folder = harness.output
    if place.fetch is not None:
        place.fetch(download_to)
        folder = download_to
    found: collections.Counter[int] = collections.Counter()
    for path in folder.rglob("*"):
        if path.is_file() and visible(str(path.relative_to(folder))):
            found.update(SCENARIO.parse(path))
    wanted = collections.Counter(item["id"] for item in ITEMS)
    tally = Tally(sum((wanted - found).values()), sum(count - 1 for count in found.values() if count > 1))
    problems = check_exact_output(
        folder, SCENARIO.expected(ITEMS), SCENARIO.parse, layout=SCENARIO.layout(ITEMS)
    )
    assert not problems, (
        "\n  ".join([f"{place.module}: the destination is not exactly the input:", *problems]) + context
    )
    state = harness.committed_state()
    assert state and state.get("finished"), f"{place.module}: the job is not marked finished" + context
    return tally


@pytest.mark.parametrize("module", MODULES)
def test_kill_9_then_resume_gives_exact_output(
    module: str, request: pytest.FixtureRequest, matrix_input: Path, tmp_path: Path
) -> None:
    """One seeded kill per module (a file count for writers, a commit count for readers), resume, check."""
    place = make_place(request, module)
    harness = harness_for(place, matrix_input, tmp_path / "job")
    seeded = random.Random(f"{module}-default")
    if module.endswith("-writer"):
        trigger = Trigger("files", seeded.randint(2, SCENARIO.total_files(ITEMS) // 2))
    else:
        trigger = Trigger("commits", seeded.randint(2, BATCHES // 4))
    report = harness.run([trigger], label=module)
    assert report.interruptions == 1, "the kill did not land inside the run\n" + report.describe()
    tally = check_destination(place, harness, report, tmp_path / "download")
    assert (tally.lost, tally.duplicates) == (0, 0)
    print(report.describe())


def _slow_requested(config: pytest.Config) -> bool:
    return "slow" in (config.getoption("markexpr", "") or "") or "1" in (
        os.environ.get("OZZY_SLOW_TESTS"),
        os.environ.get("OZZY_STRESS"),
    )


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("module", MODULES)
def test_crash_stress_20_points_per_module(
    module: str, request: pytest.FixtureRequest, matrix_input: Path, tmp_path: Path
) -> None:
    """Seeded random plans (files written, commits, delays; up to 3 kills per job, resumes killed
    too) until ``OZZY_CRASH_POINTS`` kills have landed; every job must end exact."""
    if not _slow_requested(request.config):
        pytest.skip("slow: run with -m slow (or OZZY_STRESS=1)")
    master = random.Random(f"{STRESS_SEED}-{module}")
    total_files = SCENARIO.total_files(ITEMS)
    landed = jobs = lost = duplicates = 0
    failures = []
    while landed < STRESS_POINTS and jobs < STRESS_MAX_JOBS:
        seed = master.randrange(1_000_000)
        place = make_place(request, module)
        harness = harness_for(place, matrix_input, tmp_path / f"job-{jobs}")
        plan = harness.random_plan(random.Random(seed), total_files, BATCHES, 3)
        jobs += 1
        try:
            report = harness.run(plan, seed=seed, label=f"{module}-{jobs}")
            tally = check_destination(place, harness, report, tmp_path / f"download-{jobs}")
        except AssertionError as error:
            failures.append(f"job {jobs} (seed {seed}): {error}")
            continue
        landed += report.interruptions
        lost += tally.lost
        duplicates += tally.duplicates
    line = {
        "module": module,
        "seed": STRESS_SEED,
        "jobs": jobs,
        "interruption_points": landed,
        "items_lost": lost,
        "duplicates": duplicates,
        "failed_jobs": len(failures),
    }
    print("CRASH-MATRIX " + json.dumps(line))
    results = os.environ.get("OZZY_CRASH_RESULTS")
    if results:
        with open(results, "a") as handle:
            handle.write(json.dumps(line) + "\n")
    assert not failures, "\n\n".join(failures)
    assert landed >= STRESS_POINTS, f"only {landed} kills landed in {jobs} jobs"
