"""Ozzy's readers and writers against the plain client loop a user would write, on the test servers.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_modules.py [--n 50000] [--n-small 20000]
        [--per-file 1000] [--repeat 3] [--warmup 1] [--only s3,gcs,...]

One row per reader and per writer that has a server here, each the same transfer done twice in
this process: by Ozzy (``BasicExporter``, ``PicklePersistence`` committing every batch) and by the
plain loop with the service's own client. The servers are the test suite's, started with its
launchers (``tests/servers/``): moto (S3), fake-gcs-server (GCS), Azurite (Azure Blob), asyncssh
(SFTP), pyftpdlib (FTP), noida-db (Kafka), the Scrapy Cloud collections fake and aiosmtpd (SMTP);
PostgreSQL, MariaDB and SQLite rows call ``bench_odo_writer.run_case`` (OdoWriter against the
fastest loop of that benchmark: COPY for PostgreSQL, ``executemany`` for MariaDB and SQLite).

Data: ``--n`` items (10 fields, one nested object) in files of ``--per-file`` gzip JSON lines for
the file and object stores; ``--n-small`` items for Kafka, Scrapy Cloud, SMTP and the databases.

- **write** rows: the input files on the local disk -> the service. Ozzy: ``FSReader`` -> the
  writer (``items_per_buffer_write`` = ``--per-file``, gzip). Loop: for each input file, gunzip,
  ``orjson.loads`` every line, ``orjson.dumps`` them again into a gzip file (level 6) in memory,
  one upload call (``put_object``, ``upload_from_string``, ``upload_blob``, ``putfo``,
  ``storbinary``, collection ``set``, ``send_message``).
- **read** rows: the same files uploaded once under ``src/`` (not timed) -> the local disk. Ozzy:
  the reader -> ``FSWriter`` (gzip, files of ``--per-file``). Loop: list, download, gunzip, parse
  each line, dump it into a local gzip file per object (Kafka: per ``--per-file`` messages).

Cases run in interleaved rounds (``--repeat``; the order of the two flips every row and round),
median shown, after ``--warmup`` untimed rounds (the first use of an Airflow hook imports for
seconds). After every case the output is checked: number of objects/files/mails/rows and the
items in them. Ratio = loop s / ozzy s (1.0: Ozzy is as fast as the loop). CPU s: this process,
all threads (``time.process_time``). The in-thread servers (SFTP, FTP, Scrapy Cloud, SMTP) run
in this process: their work shares the GIL with both cases and counts in both CPU figures; the
others (moto, fake-gcs-server, Azurite, noida-db, the databases) are processes of their own.
"""

from __future__ import annotations

import argparse
import ftplib
import gzip
import io
import os
import platform
import random
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(HERE))
if sys.dont_write_bytecode:  # as run.py's children: bytecode cached in benchmarks/work/pycache
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(HERE / "work" / "pycache")

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter  # noqa: E402
from tests.helpers import json_lines_gz_objects, legacy_remote_options, legacy_s3_env  # noqa: E402

ROWS = (
    "s3",
    "gcs",
    "azure",
    "sftp",
    "ftp",
    "kafka",
    "scrapycloud",
    "smtp",
    "postgresql",
    "mariadb",
    "sqlite",
)
COUNTRIES = ["US", "ES", "DE", "FR", "GB", "IT", "BR", "JP", "IN", "MX"]
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


# -- data ---------------------------------------------------------------------------------------------
def make_items(n: int, seed: int = 20) -> list[dict[str, Any]]:
    """``n`` items of 10 fields (one nested object, one list), about 250 bytes of JSON each."""
    rng = random.Random(seed)
    return [
        {
            "id": number,
            "user_id": rng.randrange(1_000_000),
            "score": round(rng.random(), 6),
            "price": round(rng.uniform(1, 500), 2),
            "name": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {number}",
            "country": rng.choice(COUNTRIES),
            "active": rng.random() < 0.5,
            "tags": rng.sample(WORDS, 3),
            "address": {"city": f"city-{rng.randrange(1000)}", "zip": f"{rng.randrange(100000):05d}"},
            "ts": f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T12:00:00Z",
        }
        for number in range(n)
    ]


class Dataset:
    """``n`` items cut into files of ``per_file``: as gzip bytes (``objects``) and in ``folder``."""

    def __init__(self, n: int, per_file: int, folder: Path) -> None:
        if n % per_file:
            raise SystemExit(f"bench_modules: {n} items do not make whole files of {per_file}")
        self.n, self.per_file, self.files = n, per_file, n // per_file
        self.objects = json_lines_gz_objects(make_items(n), self.files, "part-{:04d}.jl.gz")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.objects.items():
            (folder / name).write_bytes(data)

    def input_files(self) -> list[Path]:
        return sorted(self.folder.glob("*.jl.gz"))


def parse_gz(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in gzip.decompress(data).splitlines()]


def gz_lines(items: list[dict[str, Any]]) -> bytes:
    return gzip.compress(b"".join(orjson.dumps(item) + b"\n" for item in items), compresslevel=6, mtime=0)


def read_inputs(dataset: Dataset) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """What every write loop starts with: each input file's items."""
    for index, path in enumerate(dataset.input_files()):
        yield index, parse_gz(path.read_bytes())


def count_lines(data: bytes) -> int:
    return gzip.decompress(data).count(b"\n")


def check(what: str, files: int, items: int, dataset_files: int, dataset_n: int) -> None:
    if files != dataset_files or items != dataset_n:
        raise SystemExit(
            f"bench_modules: {what}: {files} files with {items} items, "
            f"{dataset_files} files with {dataset_n} expected"
        )


def check_local(what: str, folder: Path, dataset: Dataset) -> None:
    paths = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    check(what, len(paths), sum(count_lines(p.read_bytes()) for p in paths), dataset.files, dataset.n)


def write_local(out: Path, items: Iterable[dict[str, Any]], per_file: int) -> None:
    """What a read loop does with the items it reads: gzip JSON lines files of ``per_file`` items
    in the new folder ``out``, as FSWriter writes them for Ozzy (see ``fs_writer``)."""
    out.mkdir()
    batch: list[dict[str, Any]] = []
    files = 0
    for item in items:
        batch.append(item)
        if len(batch) == per_file:
            (out / f"part_{files:04d}.jl.gz").write_bytes(gz_lines(batch))
            files, batch = files + 1, []


# -- Ozzy ---------------------------------------------------------------------------------------------
def ozzy_export(work: Path, reader: dict[str, Any], writer: dict[str, Any], n: int) -> None:
    config = {
        "reader": reader,
        "writer": writer,
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(work / "state")}},
        "exporter_options": {"formatter": {"name": "JsonExportFormatter"}, "log_level": "WARNING"},
    }
    stats = BasicExporter(config).export()
    if not stats.get("finished") or stats.get("items_written") != n:
        raise SystemExit(f"bench_modules: ozzy {reader['name']} -> {writer['name']}: {stats}")


def fs_reader(dataset: Dataset) -> dict[str, Any]:
    return {"name": "FSReader", "options": {"input": {"dir": str(dataset.folder)}}}


def fs_writer(work: Path, dataset: Dataset) -> dict[str, Any]:
    return {
        "name": "FSWriter",
        "options": {"filebase": f"{work}/out/part_", "items_per_buffer_write": dataset.per_file},
    }


# -- rows ---------------------------------------------------------------------------------------------
@dataclass
class Row:
    """One module in one direction; ``ozzy``/``loop`` do the transfer in ``work`` (and may return
    their own seconds), ``check(case, work)`` fails unless the output is complete."""

    module: str
    direction: str
    loop_name: str
    items: int
    ozzy: Callable[[Path], float | None]
    loop: Callable[[Path], float | None]
    check: Callable[[str, Path], None] = lambda case, work: None
    times: dict[str, list[float]] = field(default_factory=lambda: {"ozzy": [], "loop": []})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {"ozzy": [], "loop": []})
    retries: int = 0  # Ozzy's retried requests over the measured rounds


def read_row(
    module: str,
    loop: str,
    dataset: Dataset,
    ozzy_read: Callable[[Path], None],
    loop_read: Callable[[Path], None],
    what: str,
) -> Row:
    """The read row of ``module``: both cases leave what they read under ``work/out``, checked alike."""
    return Row(
        module,
        "read",
        loop,
        dataset.n,
        ozzy_read,
        loop_read,
        lambda case, work: check_local(f"{what} read, {case}", work / "out", dataset),
    )


class Context:
    """Servers started for the chosen rows (stopped by ``close``) and the temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stops: list[Callable[[], None]] = []

    def started(self, server: Any) -> Any:
        server.start()
        self.stops.append(server.stop)
        return server

    def close(self) -> None:
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception as error:  # a server that does not stop cleanly must not hide the table
                print(f"# stopping a server failed: {error}", file=sys.stderr)


def fresh_prefix() -> str:
    return f"run-{uuid.uuid4().hex[:10]}/"


def object_rows(
    module: str,
    loop_write: str,
    loop_read: str,
    dataset: Dataset,
    writer: Callable[[str], dict[str, Any]],
    reader: Callable[[str], dict[str, Any]],
    upload: Callable[[Any, str, bytes], None],
    listing: Callable[[Any, str], list[str]],
    download: Callable[[Any, str], bytes],
    client: Callable[[], Any],
) -> list[Row]:
    """The write and read rows of an object store; ``client()`` is made inside each timed loop."""
    prefixes: dict[tuple[str, str], str] = {}

    def ozzy_write(work: Path) -> None:
        prefixes["ozzy", str(work)] = prefix = fresh_prefix()
        ozzy_export(work, fs_reader(dataset), writer(prefix), dataset.n)

    def loop_write_case(work: Path) -> None:
        prefixes["loop", str(work)] = prefix = fresh_prefix()
        connection = client()
        for index, items in read_inputs(dataset):
            upload(connection, f"{prefix}part_{index:04d}.jl.gz", gz_lines(items))

    def check_write(case: str, work: Path) -> None:
        connection = client()
        names = [
            n
            for n in listing(connection, prefixes[case, str(work)])
            if not n.rsplit("/", 1)[-1].startswith(".")
        ]
        items = sum(count_lines(download(connection, name)) for name in names)
        check(f"{module} write, {case}", len(names), items, dataset.files, dataset.n)

    setup_connection = client()
    for name, data in dataset.objects.items():
        upload(setup_connection, f"src/{name}", data)

    def ozzy_read(work: Path) -> None:
        ozzy_export(work, reader("src/"), fs_writer(work, dataset), dataset.n)

    def loop_read_case(work: Path) -> None:
        connection = client()
        out = work / "out"
        out.mkdir()
        for index, name in enumerate(listing(connection, "src/")):
            (out / f"part_{index:04d}.jl.gz").write_bytes(gz_lines(parse_gz(download(connection, name))))

    return [
        Row(module, "write", loop_write, dataset.n, ozzy_write, loop_write_case, check_write),
        read_row(module, loop_read, dataset, ozzy_read, loop_read_case, module),
    ]


def s3_rows(context: Context, dataset: Dataset) -> list[Row]:
    from tests.servers.moto_server import MotoServer

    workdir = context.folder / "moto"
    workdir.mkdir()
    moto = context.started(MotoServer(str(workdir)))
    os.environ.update(legacy_s3_env())
    bucket = moto.create_bucket("bench")

    def listing(client: Any, prefix: str) -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [entry["Key"] for page in pages for entry in page.get("Contents", [])]

    return object_rows(
        "S3 (moto)",
        "boto3 put_object",
        "boto3 list + get_object",
        dataset,
        writer=lambda prefix: {
            "name": "S3Writer",
            "options": {
                "bucket": bucket,
                "filebase": f"{prefix}part_",
                "host": moto.endpoint_url,
                "items_per_buffer_write": dataset.per_file,
            },
        },
        reader=lambda prefix: {
            "name": "S3Reader",
            "options": {"bucket": bucket, "prefix": prefix, "host": moto.endpoint_url},
        },
        upload=lambda client, key, data: client.put_object(Bucket=bucket, Key=key, Body=data),
        listing=listing,
        download=lambda client, key: client.get_object(Bucket=bucket, Key=key)["Body"].read(),
        client=lambda: moto.client("s3"),
    )


def gcs_rows(context: Context, dataset: Dataset) -> list[Row]:
    from tests.servers.gcs_server import GCSServer

    workdir = context.folder / "gcs"
    workdir.mkdir()
    gcs = context.started(GCSServer(str(workdir)))
    os.environ.update(gcs.env())
    os.environ["AIRFLOW_CONN_OZZY_BENCH_GCS"] = gcs.connection_json()
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    gcs.client().create_bucket(bucket)
    return object_rows(
        "GCS (fake-gcs-server)",
        "google-cloud-storage upload_from_string",
        "google-cloud-storage list_blobs + download_as_bytes",
        dataset,
        writer=lambda prefix: {
            "name": "GStorageWriter",
            "options": {
                "bucket": bucket,
                "gcp_conn_id": "ozzy_bench_gcs",
                "filebase": f"{prefix}part_",
                "items_per_buffer_write": dataset.per_file,
            },
        },
        reader=lambda prefix: {
            "name": "GStorageReader",
            "options": {"bucket": bucket, "gcp_conn_id": "ozzy_bench_gcs", "prefix": prefix},
        },
        upload=lambda client, name, data: client.bucket(bucket).blob(name).upload_from_string(data),
        listing=lambda client, prefix: [blob.name for blob in client.list_blobs(bucket, prefix=prefix)],
        download=lambda client, name: client.bucket(bucket).blob(name).download_as_bytes(),
        client=gcs.client,
    )


def _azurite_binary() -> None:
    """Use the main checkout's Azurite (``.servers/`` is per checkout) when this worktree has none."""
    from tests.servers import azurite_server

    if azurite_server.BINARY.exists():
        return
    common = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if common:
        candidate = Path(common).parent / ".servers" / "node_modules" / ".bin" / "azurite-blob"
        if candidate.exists():
            azurite_server.BINARY = candidate


def azure_rows(context: Context, dataset: Dataset) -> list[Row]:
    from tests.servers.azure_files_server import ACCOUNT, KEY
    from tests.servers.azurite_server import AzuriteServer

    _azurite_binary()
    workdir = context.folder / "azurite"
    workdir.mkdir()
    azurite = context.started(AzuriteServer(str(workdir)))
    container = f"bench-{uuid.uuid4().hex[:10]}"
    azurite.client().get_container_client(container).create_container()
    account = {"account_name": ACCOUNT, "account_key": KEY, "account_url": azurite.endpoint}
    return object_rows(
        "Azure Blob (Azurite)",
        "azure-storage-blob upload_blob",
        "azure-storage-blob list_blobs + download_blob",
        dataset,
        writer=lambda prefix: {
            "name": "AzureBlobWriter",
            "options": {
                "container": container,
                "filebase": f"{prefix}part_",
                "items_per_buffer_write": dataset.per_file,
                **account,
            },
        },
        reader=lambda prefix: {
            "name": "AzureBlobReader",
            "options": {"container": container, "prefix": prefix, **account},
        },
        upload=lambda client, name, data: client.upload_blob(name, data, overwrite=True),
        listing=lambda client, prefix: [blob.name for blob in client.list_blobs(name_starts_with=prefix)],
        download=lambda client, name: client.get_blob_client(name).download_blob().readall(),
        client=lambda: azurite.client().get_container_client(container),
    )


def file_server_rows(context: Context, dataset: Dataset, protocol: str) -> list[Row]:
    """SFTP (write and read) or FTP (write: Ozzy has no FTP reader)."""
    if protocol == "sftp":
        from tests.servers.sftp_server import SFTPTestServer as ServerClass
    else:
        from tests.servers.ftp_server import FTPTestServer as ServerClass  # type: ignore[assignment]
    workdir = context.folder / protocol
    workdir.mkdir()
    server = context.started(ServerClass(workdir))
    options = legacy_remote_options(protocol, server, server.host, server.port)
    label = "SFTP (asyncssh)" if protocol == "sftp" else "FTP (pyftpdlib)"
    prefixes: dict[tuple[str, str], str] = {}

    def ozzy_write(work: Path) -> None:
        prefixes["ozzy", str(work)] = prefix = fresh_prefix()
        writer = {
            "name": "SFTPWriter" if protocol == "sftp" else "FTPWriter",
            "options": {**options, "filebase": f"{prefix}part_", "items_per_buffer_write": dataset.per_file},
        }
        ozzy_export(work, fs_reader(dataset), writer, dataset.n)

    def loop_write(work: Path) -> None:
        prefixes["loop", str(work)] = prefix = fresh_prefix()
        if protocol == "sftp":
            import paramiko

            transport = paramiko.Transport((server.host, server.port))
            transport.connect(username=server.user, password=server.password)
            sftp = paramiko.SFTPClient.from_transport(transport)
            assert sftp is not None
            sftp.mkdir(prefix.rstrip("/"))
            for index, items in read_inputs(dataset):
                sftp.putfo(io.BytesIO(gz_lines(items)), f"{prefix}part_{index:04d}.jl.gz")
            sftp.close()
            transport.close()
        else:
            ftp = ftplib.FTP()
            ftp.connect(server.host, server.port, timeout=30)
            ftp.login(server.user, server.password)
            ftp.mkd(prefix.rstrip("/"))
            for index, items in read_inputs(dataset):
                ftp.storbinary(f"STOR {prefix}part_{index:04d}.jl.gz", io.BytesIO(gz_lines(items)))
            ftp.quit()

    def check_write(case: str, work: Path) -> None:
        check_local(f"{protocol} write, {case}", server.root / prefixes[case, str(work)], dataset)

    rows = [
        Row(
            label,
            "write",
            "paramiko putfo" if protocol == "sftp" else "ftplib storbinary",
            dataset.n,
            ozzy_write,
            loop_write,
            check_write,
        )
    ]
    if protocol == "sftp":
        source = server.root / "src"
        source.mkdir()
        for name, data in dataset.objects.items():
            (source / name).write_bytes(data)

        def ozzy_read(work: Path) -> None:
            reader = {"name": "SFTPReader", "options": {**options, "prefix": "src/"}}
            ozzy_export(work, reader, fs_writer(work, dataset), dataset.n)

        def loop_read(work: Path) -> None:
            import paramiko

            out = work / "out"
            out.mkdir()
            transport = paramiko.Transport((server.host, server.port))
            transport.connect(username=server.user, password=server.password)
            sftp = paramiko.SFTPClient.from_transport(transport)
            assert sftp is not None
            for index, name in enumerate(sorted(sftp.listdir("src"))):
                buffer = io.BytesIO()
                sftp.getfo(f"src/{name}", buffer)
                (out / f"part_{index:04d}.jl.gz").write_bytes(gz_lines(parse_gz(buffer.getvalue())))
            sftp.close()
            transport.close()

        rows.append(read_row(label, "paramiko listdir + getfo", dataset, ozzy_read, loop_read, "sftp"))
    return rows


def kafka_rows(context: Context, dataset: Dataset, partitions: int = 2) -> list[Row]:
    from tests.servers.kafka_server import KafkaBroker

    workdir = context.folder / "kafka"
    workdir.mkdir()
    broker = context.started(KafkaBroker(str(workdir)))
    topic = broker.create_topic(partitions, prefix="bench")
    broker.produce(
        topic,
        (
            (index % partitions, str(item["id"]).encode(), orjson.dumps(item))
            for index, (_, items) in enumerate(read_inputs(dataset))
            for item in items
        ),
    )

    def ozzy_read(work: Path) -> None:
        reader = {
            "name": "KafkaScannerReader",
            "options": {"brokers": [broker.bootstrap], "topic": topic, "batch_size": 10000},
        }
        ozzy_export(work, reader, fs_writer(work, dataset), dataset.n)

    def loop_read(work: Path) -> None:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)

        def polled() -> Iterator[dict[str, Any]]:
            seen = 0
            while seen < dataset.n:
                for records in consumer.poll(timeout_ms=500, max_records=10000).values():
                    for record in records:
                        item = orjson.loads(record.value)
                        item["_key"] = record.key.decode()
                        yield item
                    seen += len(records)

        write_local(work / "out", polled(), dataset.per_file)
        consumer.close()

    loop = f"kafka-python poll ({partitions} partitions)"
    return [read_row("Kafka (noida-db)", loop, dataset, ozzy_read, loop_read, "kafka")]


def scrapycloud_rows(context: Context, dataset: Dataset) -> list[Row]:
    from scrapinghub import ScrapinghubClient

    from tests.servers.scrapycloud_server import APIKEY, PROJECT, ScrapyCloudServer

    server = context.started(ScrapyCloudServer())
    names: dict[tuple[str, str], str] = {}
    connection = {"apikey": APIKEY, "endpoint": server.url, "project_id": PROJECT}

    def store(name: str) -> Any:
        return (
            ScrapinghubClient(APIKEY, dash_endpoint=None, endpoint=server.url)
            .get_project(PROJECT)
            .collections.get_store(name)
        )

    def ozzy_write(work: Path) -> None:
        names["ozzy", str(work)] = name = f"ozzy_{uuid.uuid4().hex[:10]}"
        writer = {
            "name": "HubstorageWriter",
            "options": {**connection, "collection_name": name, "key_field": "id"},
        }
        ozzy_export(work, fs_reader(dataset), writer, dataset.n)

    def loop_write(work: Path) -> None:
        names["loop", str(work)] = name = f"loop_{uuid.uuid4().hex[:10]}"
        collection = store(name)
        for _, items in read_inputs(dataset):
            collection.set([dict(item, _key=str(item["id"])) for item in items])

    def check_write(case: str, work: Path) -> None:
        stored = len(server.items(names[case, str(work)]))
        check(f"scrapycloud write, {case}", dataset.files, stored, dataset.files, dataset.n)

    for _, items in read_inputs(dataset):
        server.seed("source", [dict(item, _key=f"{item['id']:08d}") for item in items])

    def ozzy_read(work: Path) -> None:
        reader = {"name": "HubstorageReader", "options": {**connection, "collection_name": "source"}}
        ozzy_export(work, reader, fs_writer(work, dataset), dataset.n)

    def loop_read(work: Path) -> None:
        write_local(work / "out", store("source").iter(meta=["_key"]), dataset.per_file)

    label = "Scrapy Cloud collections (fake)"
    return [
        Row(
            label, "write", "scrapinghub store.set per 1,000", dataset.n, ozzy_write, loop_write, check_write
        ),
        read_row(label, "scrapinghub store.iter", dataset, ozzy_read, loop_read, "scrapycloud"),
    ]


def smtp_rows(context: Context, dataset: Dataset) -> list[Row]:
    from tests.servers.smtp_server import PASSWORD, USER, SMTPServer

    server = context.started(SMTPServer())
    os.environ["AIRFLOW_CONN_OZZY_BENCH_SMTP"] = server.connection_json()
    recipient, sender, subject = "ana@example.com", "exports@example.com", "Your items"

    def ozzy_write(work: Path) -> None:
        server.reset()
        writer = {
            "name": "MailWriter",
            "options": {
                "emails": [recipient],
                "subject": subject,
                "from": sender,
                "smtp_conn_id": "ozzy_bench_smtp",
                "file_name": "items_",
                "items_per_buffer_write": dataset.per_file,
                "max_mails_sent": dataset.files,
            },
        }
        ozzy_export(work, fs_reader(dataset), writer, dataset.n)

    def loop_write(work: Path) -> None:
        server.reset()
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as smtp:
            smtp.login(USER, PASSWORD)
            for index, items in read_inputs(dataset):
                message = EmailMessage()
                message["Subject"], message["From"], message["To"] = subject, sender, recipient
                message.set_content("Attached: the exported items.")
                message.add_attachment(
                    gz_lines(items), maintype="application", subtype="gzip", filename=f"items_{index}.jl.gz"
                )
                smtp.send_message(message)

    def check_mails(case: str, work: Path) -> None:
        mails = server.mails()
        items = sum(count_lines(data) for mail in mails for data in mail.attachments().values())
        check(f"smtp write, {case}", len(mails), items, dataset.files, dataset.n)

    return [
        Row(
            "SMTP (aiosmtpd), MailWriter",
            "write",
            "smtplib send_message",
            dataset.n,
            ozzy_write,
            loop_write,
            check_mails,
        )
    ]


def database_rows(database: str, n: int) -> list[Row]:
    import bench_odo_writer

    if database != "sqlite":  # started when down, as the test fixtures do
        from tests.servers import databases

        if database == "postgresql":
            server = databases.DatabaseServer(
                "PostgreSQL", "127.0.0.1", 5432, "postgres", "test", "postgresql+psycopg2"
            )
            databases.ensure_running(server, databases._postgresql_start_command, databases._postgresql_login)
        else:
            server = databases.DatabaseServer("MariaDB", "127.0.0.1", 3306, "root", "test", "mysql+pymysql")
            databases.ensure_running(server, databases._mariadb_start_command, databases._mariadb_login)
    loop_case = {"postgresql": "copy", "mariadb": "executemany", "sqlite": "executemany"}[database]
    loop_label = {
        "postgresql": "psycopg2 COPY per 10,000",
        "mariadb": "PyMySQL executemany per 10,000",
        "sqlite": "sqlite3 executemany per 10,000",
    }[database]
    label = {"postgresql": "PostgreSQL", "mariadb": "MariaDB", "sqlite": "SQLite"}[database]
    # run_case checks the row count itself and returns the seconds of the load alone
    return [
        Row(
            f"{label}, OdoWriter (RandomReader)",
            "write",
            loop_label,
            n,
            lambda work: bench_odo_writer.run_case(database, "ozzy", n, work),
            lambda work: bench_odo_writer.run_case(database, loop_case, n, work),
        )
    ]


# -- running ------------------------------------------------------------------------------------------
NOISY_LOGGERS = (
    "mail.log",
    "aiosmtpd",
    "pyftpdlib",
    "kafka",
    "asyncssh",
    "paramiko",
    "azure",
    "botocore",
    "airflow.providers",
    "airflow.task.hooks",
)


class RetryCounter:
    """Counts Ozzy's retry lines (``airflow_provider_ozzy.retries``): waits a case spent on errors."""

    def __init__(self) -> None:
        import logging

        self.count = 0
        counter = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                counter.count += 1

        logging.getLogger("airflow_provider_ozzy.retries").addHandler(Handler(logging.WARNING))


def quiet_logs() -> None:
    """The servers' and clients' INFO lines off (Airflow's logging set-up, on its first import, turns
    them on); they would cost both cases alike and hide the table."""
    import logging
    import warnings

    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # a deprecation warning at every login
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")


def load() -> float:
    return os.getloadavg()[0]


def build_rows(chosen: list[str], context: Context, args: argparse.Namespace) -> list[Row]:
    """Start the servers of the ``chosen`` rows and put their inputs in place (not timed)."""
    datasets: dict[str, Dataset] = {}

    def dataset(size: str) -> Dataset:
        if size not in datasets:
            n = args.n if size == "big" else args.n_small
            datasets[size] = Dataset(n, args.per_file, context.folder / f"input-{size}")
        return datasets[size]

    builders: dict[str, Callable[[], list[Row]]] = {
        "s3": lambda: s3_rows(context, dataset("big")),
        "gcs": lambda: gcs_rows(context, dataset("big")),
        "azure": lambda: azure_rows(context, dataset("big")),
        "sftp": lambda: file_server_rows(context, dataset("big"), "sftp"),
        "ftp": lambda: file_server_rows(context, dataset("big"), "ftp"),
        "kafka": lambda: kafka_rows(context, dataset("small")),
        "scrapycloud": lambda: scrapycloud_rows(context, dataset("small")),
        "smtp": lambda: smtp_rows(context, dataset("small")),
        "postgresql": lambda: database_rows("postgresql", args.n_small),
        "mariadb": lambda: database_rows("mariadb", args.n_small),
        "sqlite": lambda: database_rows("sqlite", args.n_small),
    }
    rows: list[Row] = []
    for name in chosen:
        started = time.perf_counter()
        rows += builders[name]()
        print(f"#   {name}: ready in {time.perf_counter() - started:.1f} s", flush=True)
    return rows


def run_rounds(rows: list[Row], repeat: int, warmup: int, folder: Path) -> list[float]:
    """``warmup`` untimed rounds first (imports: Airflow's hooks take seconds on their first use)."""
    loads = [load()]
    retries = RetryCounter()
    for round_number in range(-warmup, repeat):
        quiet_logs()
        for index, row in enumerate(rows):
            order = ["ozzy", "loop"] if (round_number + index) % 2 == 0 else ["loop", "ozzy"]
            for case in order:
                work = folder / f"case-{uuid.uuid4().hex[:8]}"
                work.mkdir()
                run = row.ozzy if case == "ozzy" else row.loop
                started, cpu_started = time.perf_counter(), time.process_time()
                retried = retries.count
                own = run(work)
                seconds = own if own is not None else time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                row.check(case, work)
                if round_number >= 0:
                    row.times[case].append(seconds)
                    row.cpu[case].append(cpu)
                    row.retries += retries.count - retried
                shutil.rmtree(work, ignore_errors=True)
        loads.append(load())
        name = "warm-up round" if round_number < 0 else f"round {round_number + 1}/{repeat}"
        print(f"#   {name} done (load {loads[-1]:.2f})", flush=True)
    return loads


def print_table(rows: list[Row], repeat: int, loads: list[float]) -> None:
    print(
        f"\n## Modules against plain client loops: median of {repeat}; 1-minute load average "
        f"{loads[0]:.2f} at the start, {min(loads):.2f} to {max(loads):.2f} between rounds\n"
    )
    print(
        "| module | direction | items | plain loop | ozzy s | loop s | ratio (loop s / ozzy s) "
        "| ozzy CPU s | loop CPU s | CPU ratio | ozzy retries |"
    )
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        ozzy, loop = statistics.median(row.times["ozzy"]), statistics.median(row.times["loop"])
        ozzy_cpu, loop_cpu = statistics.median(row.cpu["ozzy"]), statistics.median(row.cpu["loop"])
        print(
            f"| {row.module} | {row.direction} | {row.items:,} | {row.loop_name} | {ozzy:.2f} | "
            f"{loop:.2f} | **{loop / ozzy:.2f}x** | {ozzy_cpu:.2f} | {loop_cpu:.2f} | "
            f"{loop_cpu / max(ozzy_cpu, 1e-9):.2f}x | {row.retries} |"
        )
    print(
        "\nozzy retries: requests Ozzy retried after an error, over all measured rounds (each waits "
        "before the next attempt); the loops use their clients' own retries, not counted."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="items for S3, GCS, Azure, SFTP, FTP")
    parser.add_argument(
        "--n-small", type=int, default=20_000, help="items for Kafka, Scrapy Cloud, SMTP and the databases"
    )
    parser.add_argument("--per-file", type=int, default=1000, help="items per file (input and output)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds before the measured ones")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(ROWS)}")
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name] or list(ROWS)
    unknown = set(chosen) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)}; choose from {', '.join(ROWS)}")
    print(
        f"# modules benchmark: Python {platform.python_version()}, {os.cpu_count()} cores; "
        f"load average at start {load():.2f}; rows: {', '.join(chosen)}",
        flush=True,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ozzy-bench-modules-") as folder:
        context = Context(Path(folder))
        quiet_logs()
        try:
            rows = build_rows(chosen, context, args)
            loads = run_rounds(rows, args.repeat, args.warmup, Path(folder))
        finally:
            context.close()
    print_table(rows, args.repeat, loads)
    print(f"\n# done in {time.perf_counter() - started:.0f} s; load average at the end {load():.2f}")


if __name__ == "__main__":
    main()
