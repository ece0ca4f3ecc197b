"""Network faults in front of every server: transient ones are retried to exact output, permanent
ones fail clearly with nothing published as complete.

HTTP services (S3 on moto, GCS on fake-gcs-server, Azure Blob on Azurite) sit behind the HTTP
``FaultProxy`` (``tests/servers/fault_proxy.py``: 5xx answers, TCP resets, slow responses, bodies
cut short); SFTP, the FTP control channel and SMTP behind the ``TcpFaultProxy``
(``tests/servers/tcp_fault_proxy.py``: resets mid-stream, slow links, refused connections). FTP
data connections go straight to the server: the passive reply names the server's own port, so the
proxy sees only the control channel. Schedules are deterministic (every Nth matching request, or
the next N connections), and each test asserts that exactly the scheduled faults were injected.

Transient: the export (in process, retry waits capped by ``OZZY_RETRY_MAX_WAIT``) finishes and the
destination, read back directly, holds every item once in order. Permanent: ``ozzy run`` exits
non-zero naming the module and the bucket/container/host, the job is not marked finished, and the
destination holds no file under a final name. ``FAULTS`` collects the counts per server for
``docs/reliability.md`` (printed with ``-s``).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.crash_harness import check_exact_output
from tests.helpers import OZZY, json_lines_gz_objects, legacy_remote_options, legacy_s3_env
from tests.integration.test_crash_resume import Scenario, make_item
from tests.servers.fault_proxy import FaultProxy, Request
from tests.servers.tcp_fault_proxy import TcpFaultProxy

INPUT_FILES = 12
ITEMS_PER_INPUT = 100
ITEMS = [make_item(number) for number in range(INPUT_FILES * ITEMS_PER_INPUT)]
SCENARIO = Scenario("net", items_per_file=100)  # gz JSON lines, one sequence part_NNNN, batches of 50
RETRY_WAIT = "0.05"  # OZZY_RETRY_MAX_WAIT: same attempts, short waits
FAULTS: dict[str, dict[str, int]] = {}


def input_objects() -> dict[str, bytes]:
    return json_lines_gz_objects(ITEMS, INPUT_FILES, "src/part-{:02d}.jl.gz")


@pytest.fixture(scope="module")
def input_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("net-input")
    for name, data in input_objects().items():
        (folder / name.removeprefix("src/")).write_bytes(data)
    return folder


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OZZY_RETRY_MAX_WAIT", RETRY_WAIT)
    return tmp_path


def record(server: str, injected: dict[str, int]) -> None:
    totals = FAULTS.setdefault(server, {})
    for kind, count in injected.items():
        totals[kind] = totals.get(kind, 0) + count


@pytest.fixture(scope="module", autouse=True)
def print_fault_counts() -> Iterator[None]:
    yield
    print("\nNETWORK-FAULTS " + json.dumps(FAULTS, sort_keys=True))


# -- one place per server: how a job reaches it through the proxy, and a direct view of it --------------
@dataclass
class Place:
    server: str
    writer: Callable[[str], dict[str, Any]]  # prefix -> writer section (through the proxy)
    reader: Callable[[str], dict[str, Any]]  # prefix -> reader section (through the proxy)
    upload: Callable[[str, dict[str, bytes]], None]  # prefix, name -> data (direct)
    names: Callable[[str], list[str]]  # names under a prefix, relative to it (direct)
    fetch: Callable[[str, str], bytes]  # prefix, relative name -> data (direct)
    where: str  # the bucket/container/host an error must name
    env: dict[str, str] = field(default_factory=dict)
    is_download: Callable[[Request], bool] = lambda request: False
    proxy: Any = None  # the HTTP FaultProxy in front of the server

    def download(self, prefix: str, folder: Path) -> Path:
        for name in self.names(prefix):
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.fetch(prefix, name))
        return folder


def _writer_options(prefix: str) -> dict[str, Any]:
    return {"filebase": f"{prefix}part_", "items_per_buffer_write": SCENARIO.items_per_file}


def s3_place(request: pytest.FixtureRequest, proxy: FaultProxy) -> Place:
    moto = request.getfixturevalue("moto_server")
    client = moto.client("s3")
    bucket = moto.create_bucket()

    def names(prefix: str) -> list[str]:
        listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return [entry["Key"].removeprefix(prefix) for entry in listing.get("Contents", [])]

    return Place(
        "s3 (moto)",
        writer=lambda prefix: {
            "name": "S3Writer",
            "options": {**_writer_options(prefix), "bucket": bucket, "host": proxy.url},
        },
        reader=lambda prefix: {
            "name": "S3Reader",
            "options": {"bucket": bucket, "prefix": prefix, "host": proxy.url, "batch_size": 50},
        },
        upload=lambda prefix, objects: (
            [client.put_object(Bucket=bucket, Key=prefix + name, Body=data) for name, data in objects.items()]
            and None
        ),
        names=names,
        fetch=lambda prefix, name: client.get_object(Bucket=bucket, Key=prefix + name)["Body"].read(),
        where=bucket,
        env=legacy_s3_env(),
        is_download=lambda r: r.method == "GET" and "list-type" not in r.query and r.path.count("/") > 1,
    )


def gcs_place(request: pytest.FixtureRequest, proxy: FaultProxy) -> Place:
    gcs = request.getfixturevalue("gcs_server")
    client = gcs.client()
    bucket = f"ozzy-{uuid.uuid4().hex[:12]}"
    client.create_bucket(bucket)

    def upload(prefix: str, objects: dict[str, bytes]) -> None:
        for name, data in objects.items():
            client.bucket(bucket).blob(prefix + name).upload_from_string(data)

    return Place(
        "gcs (fake-gcs-server)",
        writer=lambda prefix: {
            "name": "GStorageWriter",
            "options": {**_writer_options(prefix), "bucket": bucket},
        },
        reader=lambda prefix: {
            "name": "GStorageReader",
            "options": {"bucket": bucket, "prefix": prefix, "batch_size": 50},
        },
        upload=upload,
        names=lambda prefix: [b.name.removeprefix(prefix) for b in client.list_blobs(bucket, prefix=prefix)],
        fetch=lambda prefix, name: client.bucket(bucket).blob(prefix + name).download_as_bytes(),
        where=bucket,
        env={
            **gcs.env(proxy.url),
            "EXPORTERS_GSTORAGE_CREDS_RESOURCE": json.dumps(gcs.service_account()),
        },
        is_download=lambda r: r.method == "GET" and "alt=media" in r.query,
    )


def azure_place(request: pytest.FixtureRequest, proxy: FaultProxy) -> Place:
    from tests.servers.azure_files_server import ACCOUNT, KEY

    azurite = request.getfixturevalue("azurite_server")
    container = f"ozzy-{uuid.uuid4().hex[:12]}"
    client = azurite.client().get_container_client(container)
    client.create_container()
    account = {"account_name": ACCOUNT, "account_key": KEY, "account_url": f"{proxy.url}/{ACCOUNT}"}

    def upload(prefix: str, objects: dict[str, bytes]) -> None:
        for name, data in objects.items():
            client.upload_blob(prefix + name, data, overwrite=True)

    return Place(
        "azure blob (Azurite)",
        writer=lambda prefix: {
            "name": "AzureBlobWriter",
            "options": {**_writer_options(prefix), "container": container, **account},
        },
        reader=lambda prefix: {
            "name": "AzureBlobReader",
            "options": {"container": container, "prefix": prefix, "batch_size": 50, **account},
        },
        upload=upload,
        names=lambda prefix: [
            b.name.removeprefix(prefix) for b in client.list_blobs(name_starts_with=prefix)
        ],
        fetch=lambda prefix, name: client.get_blob_client(prefix + name).download_blob().readall(),
        where=container,
        is_download=lambda r: r.method == "GET" and "comp=" not in r.query and "restype=" not in r.query,
    )


def remote_place(request: pytest.FixtureRequest, protocol: str, proxy: TcpFaultProxy) -> Place:
    server = request.getfixturevalue(f"{protocol}_server")
    options = legacy_remote_options(protocol, server, proxy.host, proxy.port)
    name = "SFTP" if protocol == "sftp" else "FTP"

    def upload(prefix: str, objects: dict[str, bytes]) -> None:
        for relative, data in objects.items():
            path = server.root / prefix / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def names(prefix: str) -> list[str]:
        folder = server.root / prefix
        return (
            sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
            if folder.exists()
            else []
        )

    return Place(
        f"{protocol} ({'asyncssh' if protocol == 'sftp' else 'pyftpdlib'})",
        writer=lambda prefix: {"name": f"{name}Writer", "options": {**options, **_writer_options(prefix)}},
        reader=lambda prefix: {
            "name": "SFTPReader",
            "options": {**options, "prefix": prefix, "batch_size": 50},
        },
        upload=upload,
        names=names,
        fetch=lambda prefix, relative: (server.root / prefix / relative).read_bytes(),
        where=f"{proxy.host}:{proxy.port}",
    )


HTTP_SERVERS = {
    "s3": ("moto_server", "endpoint_url", s3_place),
    "gcs": ("gcs_server", "url", gcs_place),
    "azure_blob": ("azurite_server", None, azure_place),
}


def http_place(
    request: pytest.FixtureRequest, server: str, fault_proxy: Callable[[str], FaultProxy]
) -> Place:
    fixture, attribute, build = HTTP_SERVERS[server]
    running = request.getfixturevalue(fixture)
    target = getattr(running, attribute) if attribute else f"http://127.0.0.1:{running.port}"
    proxy = fault_proxy(target)
    place = build(request, proxy)
    place.proxy = proxy
    return place


# -- running and checking ------------------------------------------------------------------------------------
def config_for(place: Place, kind: str, input_dir: Path, prefix: str) -> dict[str, Any]:
    config = SCENARIO.config(input_dir)
    if kind == "writer":
        config["writer"] = place.writer(prefix)
    else:
        config["reader"] = place.reader(prefix)
    return config


def run_in_process(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> dict[str, Any]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = {**config, "persistence": {"name": "PicklePersistence", "options": {"file_path": ".state"}}}
    stats = BasicExporter(config).export()
    assert stats["finished"] is True
    return stats


def check_exact(place: Place, kind: str, prefix: str, work: Path) -> None:
    folder = place.download(prefix, work / "download") if kind == "writer" else work / "out"
    problems = check_exact_output(
        folder, SCENARIO.expected(ITEMS), SCENARIO.parse, layout=SCENARIO.layout(ITEMS)
    )
    assert not problems, f"{place.server} {kind}: not exactly the input:\n  " + "\n  ".join(problems)


def run_failing(config: dict[str, Any], work: Path, env: dict[str, str]) -> tuple[int, str, Path]:
    """``ozzy run`` in a child process; returns the exit status, the output and the state folder."""
    import os

    config = {**config, "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}}}
    config.setdefault("exporter_options", {})["persistence_state_id"] = "job1"
    (work / "config.json").write_text(json.dumps(config))
    result = subprocess.run(
        [*OZZY, "run", "config.json"],
        cwd=work,
        env=dict(os.environ, **env, OZZY_RETRY_MAX_WAIT=RETRY_WAIT),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.returncode, result.stdout + result.stderr, work / "state" / "job1"


def assert_clear_failure(output: str, module: str, where: str) -> None:
    """The last line is Ozzy's one-line failure naming the module and the place (no traceback)."""
    last = output.strip().splitlines()[-1]
    assert last.startswith("ozzy: export failed:"), output[-3000:]
    assert module in last and where in last, last


def fresh_prefix(place: Place, kind: str) -> str:
    """A prefix of its own for one case; for a reader, the input is uploaded under it first."""
    prefix = f"net-{uuid.uuid4().hex[:8]}/"
    if kind == "reader":
        place.upload(prefix, {name.removeprefix("src/"): data for name, data in input_objects().items()})
    return prefix


def check_retried_to_exact_output(
    place: Place,
    proxy: Any,
    kind: str,
    prefix: str,
    work: Path,
    stats: dict[str, Any],
    expected: dict[str, int],
) -> None:
    """Every item written exactly once, after every scheduled fault (``expected``, by kind) struck."""
    assert stats["items_written"] == len(ITEMS)
    check_exact(place, kind, prefix, work)
    assert proxy.pending_faults() == 0, (
        f"the run ended before every scheduled fault: {proxy.faults_injected()}"
    )
    assert proxy.faults_injected() == expected
    record(place.server, proxy.faults_injected())


def check_nothing_complete(place: Place, kind: str, prefix: str, work: Path, state: Path) -> None:
    if state.exists():
        with open(state, "rb") as handle:
            saved = json.load(handle).get("state") or {}
        assert not saved.get("finished"), "a failed job is marked finished"
    if kind == "writer":
        published = [name for name in place.names(prefix) if not name.split("/")[-1].startswith(".")]
    else:
        out = work / "out"
        published = (
            [str(p) for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
            if out.exists()
            else []
        )
    assert published == [], f"{place.server}: files published by a failed job: {published[:5]}"


def check_fails_clearly_with_nothing_complete(
    place: Place, kind: str, prefix: str, input_dir: Path, work: Path
) -> None:
    """``ozzy run`` against a place that keeps failing: it gives up with one clear line naming the
    module and the place, and leaves no finished job and no published file."""
    returncode, output, state = run_failing(config_for(place, kind, input_dir, prefix), work, place.env)
    module = place.writer(prefix)["name"] if kind == "writer" else place.reader(prefix)["name"]
    assert returncode != 0, output[-3000:]
    assert_clear_failure(output, module, place.where)
    check_nothing_complete(place, kind, prefix, work, state)


# -- HTTP services -------------------------------------------------------------------------------------------
SLOW = pytest.mark.slow  # in the stress run (OZZY_STRESS=1 / -m slow): each case costs 10-60 s here


@pytest.mark.parametrize(
    ("server", "kind"),
    [
        ("s3", "reader"),
        ("gcs", "reader"),
        ("azure_blob", "reader"),
        ("gcs", "writer"),
        pytest.param("s3", "writer", marks=SLOW),
        pytest.param("azure_blob", "writer", marks=SLOW),
    ],
)
def test_transient_http_faults_are_retried_to_exact_output(
    server: str,
    kind: str,
    request: pytest.FixtureRequest,
    fault_proxy: Callable[[str], FaultProxy],
    input_dir: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    place = http_place(request, server, fault_proxy)
    proxy: FaultProxy = place.proxy
    prefix = fresh_prefix(place, kind)
    if kind == "reader":
        # object bodies cut short mid-download: the reader must resume or re-read, never keep half
        proxy.truncate(times=2, after_bytes=300, match=place.is_download, every=3)
    proxy.fail(times=2, status=503, every=4, body=b"injected", content_type="text/plain")
    proxy.reset(times=2, every=5)
    proxy.fail(times=1, status=500, every=6, body=b"injected", content_type="text/plain")
    proxy.slow(times=2, delay=0.3, every=2)
    stats = run_in_process(config_for(place, kind, input_dir, prefix), monkeypatch, place.env)
    expected = {"fail": 3, "reset": 2, "slow": 2, **({"truncate": 2} if kind == "reader" else {})}
    check_retried_to_exact_output(place, proxy, kind, prefix, work, stats, expected)


@pytest.mark.parametrize("server", ["s3", "gcs", "azure_blob"])
def test_a_download_whose_connection_drops_is_retried_at_once_on_a_new_one(
    server: str,
    request: pytest.FixtureRequest,
    fault_proxy: Callable[[str], FaultProxy],
    input_dir: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that closes the connection under a GET (a pooled keep-alive connection it had timed
    out, seen with read ahead against fake-gcs-server): the first retry goes out at once, not after
    the backoff's second or more, and the output is exact."""
    place = http_place(request, server, fault_proxy)
    proxy: FaultProxy = place.proxy
    prefix = fresh_prefix(place, "reader")
    proxy.reset(times=1, match=place.is_download, every=3)
    with caplog.at_level("WARNING", logger="airflow_provider_ozzy.retries"):
        stats = run_in_process(config_for(place, "reader", input_dir, prefix), monkeypatch, place.env)
    check_retried_to_exact_output(place, proxy, "reader", prefix, work, stats, {"reset": 1})
    retries = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_ozzy.retries"]
    assert len(retries) == 1 and "attempt 2 of 5 in 0.0 s" in retries[0], retries


@pytest.mark.parametrize(
    ("server", "kind", "fault"),
    [
        ("s3", "writer", "503"),
        pytest.param("s3", "reader", "reset", marks=SLOW),
        pytest.param("gcs", "writer", "reset", marks=SLOW),
        pytest.param("gcs", "reader", "503", marks=SLOW),
        pytest.param("azure_blob", "writer", "503", marks=SLOW),
        pytest.param("azure_blob", "reader", "reset", marks=SLOW),
    ],
)
def test_permanent_http_faults_fail_clearly_with_nothing_complete(
    server: str,
    kind: str,
    fault: str,
    request: pytest.FixtureRequest,
    fault_proxy: Callable[[str], FaultProxy],
    input_dir: Path,
    work: Path,
) -> None:
    place = http_place(request, server, fault_proxy)
    proxy: FaultProxy = place.proxy
    prefix = fresh_prefix(place, kind)
    if fault == "503":
        proxy.fail(times=1_000_000, status=503, body=b"down for good", content_type="text/plain")
    else:
        proxy.reset(times=1_000_000)
    check_fails_clearly_with_nothing_complete(place, kind, prefix, input_dir, work)
    injected = proxy.faults_injected()
    assert sum(injected.values()) > 1, "the error was not retried before giving up"
    record(place.server, injected)


# -- TCP services: SFTP, FTP control channel, SMTP -----------------------------------------------------------
class TcpCase(NamedTuple):
    proxy: TcpFaultProxy
    place: Place
    prefix: str


@pytest.fixture
def tcp_case(
    protocol: str,
    kind: str,
    request: pytest.FixtureRequest,
    tcp_fault_proxy: Callable[[str, int], TcpFaultProxy],
) -> TcpCase:
    """The ``protocol`` server behind a TCP fault proxy, and a fresh prefix for the ``kind`` under test:
    where every TCP fault test starts (the test is parametrized with ``protocol`` and ``kind``)."""
    server = request.getfixturevalue(f"{protocol}_server")
    proxy = tcp_fault_proxy(server.host, server.port)
    place = remote_place(request, protocol, proxy)
    return TcpCase(proxy, place, fresh_prefix(place, kind))


@pytest.mark.parametrize(
    ("protocol", "kind"), [pytest.param("sftp", "writer", marks=SLOW), ("sftp", "reader"), ("ftp", "writer")]
)
def test_transient_tcp_faults_are_retried_to_exact_output(
    protocol: str, kind: str, tcp_case: TcpCase, input_dir: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, place, prefix = tcp_case
    # SFTP: resets mid-transfer (the SSH handshake alone is a few KB); FTP: mid-session on the
    # control channel, then a connection reset at once
    proxy.reset(times=2, after_bytes=15_000 if protocol == "sftp" else 700)
    proxy.reset(times=1)
    proxy.slow(times=1, delay=0.002)
    stats = run_in_process(config_for(place, kind, input_dir, prefix), monkeypatch, place.env)
    check_retried_to_exact_output(place, proxy, kind, prefix, work, stats, {"reset": 3, "slow": 1})


@pytest.mark.parametrize(
    ("protocol", "kind"),
    [
        pytest.param("sftp", "writer", marks=SLOW),
        pytest.param("sftp", "reader", marks=SLOW),
        ("ftp", "writer"),
    ],
)
def test_permanent_tcp_faults_fail_clearly_with_nothing_complete(
    kind: str, tcp_case: TcpCase, input_dir: Path, work: Path
) -> None:
    proxy, place, prefix = tcp_case
    proxy.refuse()
    check_fails_clearly_with_nothing_complete(place, kind, prefix, input_dir, work)
    assert proxy.faults_injected().get("refuse", 0) > 1, "the error was not retried before giving up"
    record(place.server, proxy.faults_injected())


# -- SMTP (MailWriter) ---------------------------------------------------------------------------------------
TO = ["ana@example.com", "bob@example.org"]


def mail_config(input_dir: Path) -> dict[str, Any]:
    config = SCENARIO.config(input_dir)
    config["writer"] = {
        "name": "MailWriter",
        "options": {
            "emails": TO,
            "subject": "Your items",
            "from": "exports@example.com",
            "smtp_conn_id": "ozzy_net_smtp",
            "file_name": "items_",
            "items_per_buffer_write": 400,
            "max_mails_sent": 10,
        },
    }
    return config


def test_transient_smtp_faults_deliver_every_file_once(
    request: pytest.FixtureRequest,
    tcp_fault_proxy: Callable[[str, int], TcpFaultProxy],
    input_dir: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Resets before a message is handed over (at connect, mid-handshake) are retried; no mail twice."""
    smtp = request.getfixturevalue("smtp_server")
    smtp.reset()
    proxy = tcp_fault_proxy("127.0.0.1", smtp.port)
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_NET_SMTP", smtp.connection_json(port=proxy.port))
    proxy.reset(times=1)
    proxy.reset(times=1, after_bytes=150)
    proxy.slow(times=1, delay=0.05)
    stats = run_in_process(mail_config(input_dir), monkeypatch, {})
    assert stats["files_written"] == 3
    received: dict[str, dict[str, bytes]] = {}
    for mail in smtp.mails():
        ((name, content),) = mail.attachments().items()
        assert name not in received.setdefault(mail.envelope_to[0], {}), f"{name} delivered twice"
        received[mail.envelope_to[0]][name] = content
    assert sorted(received) == sorted(TO)
    for recipient, attachments in received.items():
        ids = [
            json.loads(line)["id"]
            for name in sorted(attachments)
            for line in gzip.decompress(attachments[name]).splitlines()
        ]
        assert ids == [item["id"] for item in ITEMS], f"{recipient}: items lost, reordered or doubled"
    assert proxy.pending_faults() == 0 and proxy.faults_injected() == {"reset": 2, "slow": 1}
    record("smtp (aiosmtpd)", proxy.faults_injected())


@SLOW
def test_permanent_smtp_outage_fails_clearly_with_no_mail_sent(
    request: pytest.FixtureRequest,
    tcp_fault_proxy: Callable[[str, int], TcpFaultProxy],
    input_dir: Path,
    work: Path,
) -> None:
    smtp = request.getfixturevalue("smtp_server")
    smtp.reset()
    proxy = tcp_fault_proxy("127.0.0.1", smtp.port)
    proxy.refuse()
    env = {"AIRFLOW_CONN_OZZY_NET_SMTP": smtp.connection_json(port=proxy.port)}
    returncode, output, state = run_failing(mail_config(input_dir), work, env)
    assert returncode != 0, output[-3000:]
    assert_clear_failure(output, "MailWriter", str(proxy.port))
    assert smtp.mails() == []
    with open(state, "rb") as handle:
        assert not (json.load(handle).get("state") or {}).get("finished")
    assert proxy.faults_injected().get("refuse", 0) > 1, "the error was not retried before giving up"
    record("smtp (aiosmtpd)", proxy.faults_injected())
