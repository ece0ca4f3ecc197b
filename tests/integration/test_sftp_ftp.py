"""SFTPWriter and FTPWriter against real servers on 127.0.0.1 (asyncssh, pyftpdlib).

Exports run for real (in-process with ``BasicExporter``, or as the ``ozzy`` command), then the
destination is read back over the wire and compared item by item. The crash tests ``kill -9`` the
``ozzy`` process while a file is being uploaded (its hidden partial name exists on the server),
check that no file under a final name is partial, resume, and check the destination holds the
input exactly once. Refused connections, refused logins and full disks must give errors that name
the server and the path and never show the password.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.errors import ConfigurationError, ReaderError, WriterError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.readers.sftp_reader import SFTPReader
from airflow_provider_ozzy.services.file_servers import PARTIAL_SUFFIX
from airflow_provider_ozzy.writers.base_writer import WrittenFile
from airflow_provider_ozzy.writers.ftp_writer import FTPWriter
from airflow_provider_ozzy.writers.sftp_writer import SFTPWriter
from tests.crash_harness import CrashHarness, CrashReport, Trigger, check_exact_output, file_sequences
from tests.helpers import (
    STRESS_POINTS,
    read_json_lines,
    run_ozzy_listing_imports,
    run_stress_points,
    seeded_item,
    skip_unless_slow_requested,
    write_input_files,
    write_json_lines_gz,
)
from tests.servers.ftp_server import FTPTestServer
from tests.servers.process_server import free_port
from tests.servers.sftp_server import SFTPTestServer

# the hooks import Airflow in this process and in the ``ozzy`` children: keep it out of ~/airflow
AIRFLOW_HOME = os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="ozzy-airflow-home-"))

COUNTRIES = ["es", "uk", "us", "fr"]
INPUT_FILES = 4
ITEMS = 8000
WRONG_PASSWORD = "not-the-Password-0815"


def make_item(number: int) -> dict[str, Any]:
    # random hex compresses to about half: files of a few hundred items take a while to upload
    return seeded_item(number, COUNTRIES, lambda n, rng: {"payload": rng.randbytes(120).hex(), "n": n / 7})


@pytest.fixture(scope="module")
def input_items(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("remote-input")
    items = [make_item(number) for number in range(ITEMS)]
    return write_input_files(folder, items, INPUT_FILES), items


@pytest.fixture(scope="module")
def small_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("remote-small-input")
    items = [make_item(number) for number in range(900)]
    write_json_lines_gz(folder / "part-0.jl.gz", items[:450])
    write_json_lines_gz(folder / "part-1.jl.gz", items[450:])
    return folder, items


# -- the two servers behind one interface --------------------------------------------------------------
@dataclass
class Target:
    """A server and how a writer reaches it."""

    kind: str  # sftp or ftp
    server: SFTPTestServer | FTPTestServer
    conn_id: str

    @property
    def writer(self) -> str:
        return "SFTPWriter" if self.kind == "sftp" else "FTPWriter"

    @property
    def writer_class(self) -> type[SFTPWriter] | type[FTPWriter]:
        return SFTPWriter if self.kind == "sftp" else FTPWriter

    def connection_options(self) -> dict[str, Any]:
        return {f"{self.kind}_conn_id": self.conn_id}

    def legacy_options(self, password: str | None = None) -> dict[str, Any]:
        options: dict[str, Any] = {"host": self.server.host, "port": self.server.port}
        options[f"{self.kind}_user"] = self.server.user
        options[f"{self.kind}_password"] = password or self.server.password
        if self.kind == "sftp":
            options["no_host_key_check"] = True
        return options

    def connection_env(self, connection: str | None = None) -> dict[str, str]:
        return {
            f"AIRFLOW_CONN_{self.conn_id.upper()}": connection or self.server.connection_json(),
            "AIRFLOW_HOME": AIRFLOW_HOME,
        }


@pytest.fixture(params=["sftp", "ftp"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    server = request.getfixturevalue(f"{request.param}_server")
    found = Target(request.param, server, f"ozzy_test_{request.param}")
    for name, value in found.connection_env().items():
        monkeypatch.setenv(name, value)
    # failures are reported at once: no test here wants a retry
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    yield found


def fresh_folder(kind: str) -> str:
    return f"exports/{kind}-{uuid.uuid4().hex[:8]}"


def grouped_by_country(target: Target, items_per_file: int | None = None) -> tuple[str, dict[str, Any]]:
    """A fresh folder on the server, and writer options putting each country in a folder of its own
    there, through the target's Airflow connection: the export most tests here run."""
    folder = fresh_folder(target.kind)
    options: dict[str, Any] = {"filebase": f"{folder}/{{groups[0]}}/part_", **target.connection_options()}
    if items_per_file is not None:
        options["items_per_buffer_write"] = items_per_file
    return folder, options


def export_config(
    input_dir: Path,
    state_dir: Path,
    writer: str,
    writer_options: dict[str, Any],
    *,
    batch_size: int = 100,
) -> dict[str, Any]:
    return {
        "reader": {
            "name": "FSReader",
            "options": {"input": {"dir": str(input_dir)}, "batch_size": batch_size},
        },
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        "writer": {"name": writer, "options": writer_options},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(state_dir)}},
        "exporter_options": {"formatter": {"name": "JsonExportFormatter"}},
    }


def expected_sequences(items: list[dict[str, Any]]) -> dict[str, list[int]]:
    sequences: dict[str, list[int]] = {}
    for item in items:
        sequences.setdefault(f"{item['country']}/part_.jl.gz", []).append(item["id"])
    return sequences


def layout(items: list[dict[str, Any]], per_file: int) -> dict[str, list[int]]:
    found = {}
    for sequence, ids in expected_sequences(items).items():
        counts = [per_file] * (len(ids) // per_file)
        found[sequence] = counts + ([len(ids) % per_file] if len(ids) % per_file else [])
    return found


def parse_ids(path: Path) -> list[int]:
    return [item["id"] for item in read_json_lines(path)]


def check_download(
    target: Target, folder: str, local: Path, items: list[dict[str, Any]], per_file: int, md5: bool = False
) -> list[str]:
    """Download ``folder`` over the wire; every way it differs from ``items`` (exactly once, in order)."""
    target.server.download(folder, local)
    problems = check_exact_output(
        local,
        expected_sequences(items),
        parse_ids,
        layout=layout(items, per_file),
        extra_files=["md5checksum.md5"] if md5 else [],
    )
    by_id = {item["id"]: item for item in items}
    sequences, _ = file_sequences(local)
    for files in sequences.values():
        for _, relative in files:
            if not relative.endswith(".jl.gz"):
                continue
            for item in read_json_lines(local / relative):
                if item != by_id.get(item["id"]):
                    problems.append(f"{relative}: item {item['id']} differs from the input: {item}")
                    break
    return problems


@dataclass
class CapturedLogs:
    """Ozzy's log lines, wherever they go: once Airflow configured logging in this process, to stdout too."""

    caplog: pytest.LogCaptureFixture
    capfd: pytest.CaptureFixture[str]

    def text(self) -> str:
        """Every log line so far."""
        captured = self.capfd.readouterr()
        return self.caplog.text + captured.out + captured.err


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> CapturedLogs:
    return CapturedLogs(caplog, capfd)


def run_export(config: dict[str, Any]) -> dict[str, Any]:
    stats = BasicExporter(config).export()
    assert stats["finished"] is True
    return stats


# -- full exports ----------------------------------------------------------------------------------------
AUTHS = [
    ("sftp", "connection-password"),
    ("sftp", "connection-key-file"),
    ("sftp", "connection-private-key"),
    ("sftp", "legacy-env"),
    ("sftp", "legacy-key-file"),
    ("ftp", "connection-password"),
    ("ftp", "legacy-env"),
]


@pytest.mark.parametrize(("target", "auth"), AUTHS, indirect=["target"], ids=[f"{k}-{a}" for k, a in AUTHS])
def test_full_grouped_export_reads_back_item_by_item(
    target: Target,
    auth: str,
    small_input: tuple[Path, list[dict[str, Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Grouped into folders, several files per group, md5 list, consistency check; read back over the wire."""
    input_dir, items = small_input
    folder = fresh_folder(target.kind)
    options: dict[str, Any] = {
        "filebase": f"{folder}/{{groups[0]}}/part_",
        "items_per_buffer_write": 100,
        "check_consistency": True,
        "generate_md5": True,
    }
    if auth == "legacy-env":
        legacy = target.legacy_options()
        monkeypatch.setenv(f"EXPORTERS_{target.kind.upper()}_USER", legacy.pop(f"{target.kind}_user"))
        monkeypatch.setenv(f"EXPORTERS_{target.kind.upper()}_PASSWORD", legacy.pop(f"{target.kind}_password"))
        options.update(legacy)
    elif auth == "legacy-key-file":
        assert isinstance(target.server, SFTPTestServer)
        legacy = target.legacy_options()
        del legacy["sftp_password"]
        options.update(legacy, sftp_key_file=str(target.server.client_key_path))
    else:
        if auth != "connection-password":
            assert isinstance(target.server, SFTPTestServer)
            kind = "key_file" if auth == "connection-key-file" else "private_key"
            monkeypatch.setenv(f"AIRFLOW_CONN_{target.conn_id.upper()}", target.server.connection_json(kind))
        options.update(target.connection_options())
    stats = run_export(export_config(input_dir, tmp_path / "state", target.writer, options))

    problems = check_download(target, folder, tmp_path / "back", items, 100, md5=True)
    assert not problems, "\n".join(problems)
    assert stats["items_written"] == len(items)
    listed = (tmp_path / "back" / "md5checksum.md5").read_text().splitlines()
    assert len(listed) == stats["files_written"]
    assert all(line.split("  ", 1)[1].startswith(f"{folder}/") for line in listed)


def test_a_rewrite_replaces_files_even_where_rename_does_not_replace(
    target: Target,
    small_input: tuple[Path, list[dict[str, Any]]],
    tmp_path: Path,
    logs: CapturedLogs,
) -> None:
    """A resume rewrites files under their names: servers whose rename keeps the old file must still end exact.

    The first export writes every file; the second writes other items under the same names while
    the server refuses to replace files by renaming (SFTP without posix-rename, FTP RNTO onto an
    existing file), so the writer must remove the old copy first.
    """
    input_dir, items = small_input
    folder, options = grouped_by_country(target, items_per_file=100)
    run_export(export_config(input_dir, tmp_path / "state1", target.writer, options))

    changed_dir = tmp_path / "changed"
    changed = [dict(item, payload="changed") for item in items]
    write_json_lines_gz(changed_dir / "all.jl.gz", changed)
    server = target.server
    refusing = (
        server.without_posix_rename()
        if isinstance(server, SFTPTestServer)
        else server.rename_refuses_existing()
    )
    with refusing, logs.caplog.at_level(logging.WARNING, "airflow_provider_ozzy"):
        run_export(export_config(changed_dir, tmp_path / "state2", target.writer, options))

    problems = check_download(target, folder, tmp_path / "back", changed, 100)
    assert not problems, "\n".join(problems)
    if target.kind == "sftp":
        assert "refused posix-rename" in logs.text()


def test_a_dropped_connection_is_retried_on_a_new_connection(
    target: Target,
    small_input: tuple[Path, list[dict[str, Any]]],
    tmp_path: Path,
    logs: CapturedLogs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server drops the connection during the first two uploads: each is retried, after a
    backoff, on a new connection, and the export ends exact."""
    monkeypatch.delenv("OZZY_DISABLE_RETRIES")
    input_dir, items = small_input
    folder, options = grouped_by_country(target, items_per_file=100)
    with target.server.dropping_connections(2):
        run_export(export_config(input_dir, tmp_path / "state", target.writer, options))
        assert target.server.drops_left == 0, "the server dropped no connection"
    problems = check_download(target, folder, tmp_path / "back", items, 100)
    assert not problems, "\n".join(problems)
    retries = set(re.findall(r": attempt (\d) of \d+ in [\d.]+ s: (.*)", logs.text()))
    assert {attempt for attempt, _ in retries} == {"2", "3"}, retries
    assert all(target.server.password not in reason for _, reason in retries)


def test_check_consistency_reports_a_file_that_differs(target: Target) -> None:
    folder = fresh_folder(target.kind)
    name = f"{folder}/x/part_0000.jl.gz"
    local = target.server.root / name
    local.parent.mkdir(parents=True)
    local.write_bytes(gzip.compress(b'{"id": 1}\n'))
    writer = target.writer_class({"filebase": f"{folder}/x/part_", **target.connection_options()})
    try:
        size = local.stat().st_size
        assert writer.check_file(WrittenFile(name, size, "", 1)) == []
        [problem] = writer.check_file(WrittenFile(name, size + 5, "", 1))
        assert problem == (
            f"{name} on {target.kind}://{target.server.user}@127.0.0.1:{target.server.port} "
            f"has {size} bytes, expected {size + 5}"
        )
        [problem] = writer.check_file(WrittenFile(f"{folder}/x/missing.jl.gz", 10, "", 1))
        assert problem.startswith(f"{folder}/x/missing.jl.gz is not present on {target.kind}://")
    finally:
        writer.close()


# -- failures: clear errors naming the server and the path, never the password -----------------------------
FailingExport = Callable[..., str]


@pytest.fixture
def failing_export(
    target: Target, small_input: tuple[Path, list[dict[str, Any]]], tmp_path: Path, logs: CapturedLogs
) -> FailingExport:
    """``failing_export(options, input_dir=small input)``: run an export to ``target`` that must fail at
    once (retries off), return its error after checking no password shows in it or in the logs."""

    def run(options: dict[str, Any], input_dir: Path | None = None) -> str:
        config = export_config(input_dir or small_input[0], tmp_path / "state", target.writer, options)
        with logs.caplog.at_level(logging.DEBUG), pytest.raises(WriterError) as failure:
            BasicExporter(config).export()
        message = str(failure.value)
        logged = logs.text()
        assert "Created job" in logged, "the export's log lines were not captured"
        for secret in (target.server.password, WRONG_PASSWORD):
            assert secret not in message
            assert secret not in logged, "a log line shows the password"
        return message

    return run


def test_connection_refused_names_the_server_and_the_path(
    target: Target, failing_export: FailingExport
) -> None:
    port = free_port()
    options = {"filebase": "refused/{groups[0]}/part_", **target.legacy_options(), "port": port}
    message = failing_export(options)
    assert message.startswith(
        f"{target.writer}: cannot write to refused on {target.kind}://ozzy@127.0.0.1:{port}: "
    )
    assert "Connection refused" in message


def test_a_wrong_password_names_the_server_and_the_user(
    target: Target, failing_export: FailingExport
) -> None:
    options = {"filebase": "denied/{groups[0]}/part_", **target.legacy_options(password=WRONG_PASSWORD)}
    message = failing_export(options)
    where = f"{target.kind}://ozzy@127.0.0.1:{target.server.port}"
    assert message.startswith(
        f"{target.writer}: cannot write to denied on {where}: authentication failed for user 'ozzy'"
    )


def test_legacy_options_export_through_the_ozzy_command_without_airflow_or_its_provider(
    target: Target, small_input: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """Host, user and password as options: the ``ozzy`` process connects with paramiko or ftplib
    alone (importing the provider's hook imports Airflow, 3 s of CPU in every run and resume), so
    it runs where the SFTP or FTP provider is not installed (hidden here)."""
    input_dir, items = small_input
    folder = fresh_folder(target.kind)
    options = {"filebase": f"{folder}/{{groups[0]}}/part_", **target.legacy_options()}
    config = export_config(input_dir, tmp_path / "state", target.writer, options)
    (tmp_path / "config.json").write_text(json.dumps(config))
    result = run_ozzy_listing_imports(tmp_path, hidden=(f"airflow.providers.{target.kind}",))
    assert "EXIT 0 IMPORTED []" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]
    assert not check_download(target, folder, tmp_path / "download", items, 10**6)


def test_legacy_sftp_options_refuse_a_host_key_not_in_known_hosts(
    small_input: tuple[Path, list[dict[str, Any]]],
    sftp_server: SFTPTestServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without ``no_host_key_check`` an unknown server is refused, as ``SFTPHook`` refuses it, and
    nothing is added to ``known_hosts``."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    known_hosts = tmp_path / "home" / ".ssh" / "known_hosts"
    known_hosts.write_text("")
    options = {
        "filebase": "unknown-key/part_",
        "host": sftp_server.host,
        "port": sftp_server.port,
        "sftp_user": sftp_server.user,
        "sftp_password": sftp_server.password,
        "timeout": 10,
    }
    config = export_config(small_input[0], tmp_path / "state", "SFTPWriter", options)
    with pytest.raises(WriterError) as failure:
        BasicExporter(config).export()
    message = str(failure.value)
    assert f"sftp://{sftp_server.user}@{sftp_server.host}:{sftp_server.port}" in message
    assert "known_hosts" in message and "no_host_key_check" in message, message
    assert sftp_server.password not in message
    assert known_hosts.read_text() == ""


def test_a_wrong_password_in_the_connection_is_never_shown(
    target: Target, failing_export: FailingExport, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = dict(target.server.connection(), password=WRONG_PASSWORD)
    monkeypatch.setenv(f"AIRFLOW_CONN_{target.conn_id.upper()}", json.dumps(connection))
    options = {"filebase": "denied2/part_", **target.connection_options()}
    message = failing_export(options)
    assert message.startswith(
        f"{target.writer}: cannot write to denied2 on {target.kind}://ozzy@127.0.0.1:{target.server.port}: "
        "authentication failed for user 'ozzy'"
    )


@pytest.mark.parametrize("size", ["small-files", "large-files"])
def test_a_full_disk_names_the_server_the_file_and_the_reason(
    target: Target,
    size: str,
    small_input: tuple[Path, list[dict[str, Any]]],
    tmp_path: Path,
    failing_export: FailingExport,
) -> None:
    """Small files: the refusal comes as the reply to the upload. A large file (18 MB, uncompressed):
    the server refuses while data still flows, so the client first sees a broken connection (FTP) or
    has many writes in flight (SFTP); the error must still give the server's reason, not be retried."""
    folder, options = grouped_by_country(target)
    if size == "small-files":
        input_dir, free = small_input[0], 50_000  # the first files fit, a later one does not
        options["items_per_buffer_write"] = 100
    else:
        input_dir, free = tmp_path / "large", 50_000
        large = [dict(make_item(n), country="es", payload="x" * 3000) for n in range(6000)]
        write_json_lines_gz(input_dir / "large.jl.gz", large)
        options.update(items_per_buffer_write=ITEMS, compression="none")
    with target.server.disk_full_after(free):
        message = failing_export(options, input_dir)
    where = f"{target.kind}://ozzy@127.0.0.1:{target.server.port}"
    assert message.startswith(f"{target.writer}: cannot upload {folder}/"), message
    assert f" on {where}: " in message
    assert "No space left on device" in message, message
    failed = message.split("cannot upload ", 1)[1].split(" on ", 1)[0]
    assert not (target.server.root / failed).exists(), "a partial file is under its final name"


def test_both_a_connection_and_a_host_is_a_configuration_error(target: Target) -> None:
    with pytest.raises(ConfigurationError, match="give either"):
        target.writer_class({"filebase": "x/part_", "host": "example.com", **target.connection_options()})
    with pytest.raises(ConfigurationError, match=f"give '{target.kind}_conn_id'"):
        target.writer_class({"filebase": "x/part_"})
    with pytest.raises(ConfigurationError, match="the port comes from the connection"):
        target.writer_class({"filebase": "x/part_", "port": 2121, **target.connection_options()})


# -- kill -9 during an upload, then resume -----------------------------------------------------------------
CRASH_PER_FILE = 500


def test_kill_9_during_an_upload_then_resume_gives_exact_output(
    target: Target, input_items: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """The kill lands once a hidden partial upload exists: no final name may hold a partial file, and
    after the resume the server holds every item exactly once, cut into files as an uninterrupted run."""
    input_dir, items = input_items
    sequences = expected_sequences(items)
    uploads = [
        f"{sequence.split('/')[0]}/{{}}part_{number:04d}.jl.gz{{}}"
        for sequence, counts in layout(items, CRASH_PER_FILE).items()
        for number in range(len(counts))
    ]
    # kill as soon as an upload starts (its partial name appears) or a file appears under its name
    watched = tuple(name.format(".", PARTIAL_SUFFIX) for name in uploads) + tuple(
        name.format("", "") for name in uploads
    )
    tries = []
    for placement in range(3):
        folder, options = grouped_by_country(target, items_per_file=CRASH_PER_FILE)
        config = export_config(input_dir, Path("state"), target.writer, options, batch_size=250)
        harness = CrashHarness(
            tmp_path / f"job-{placement}",
            config,
            output_dir=str(target.server.root / folder),
            env=target.connection_env(),
            timeout=60,
        )
        killed = harness.attempt(Trigger("exists", paths=watched))
        report = CrashReport(None, f"{target.kind}-kill-during-upload", [killed])
        context = f"\n{report.describe()}\n{report.log_tails()}"
        # right after the kill, read over the wire: every file under a final name is complete
        after_kill = tmp_path / f"after-kill-{placement}"
        left = target.server.download(folder, after_kill)
        for relative in left:
            group, name = relative.split("/")
            if not name.startswith("."):
                try:
                    ids = parse_ids(after_kill / relative)
                except (OSError, EOFError, ValueError) as error:
                    pytest.fail(f"a partial file is under its final name {relative}: {error!r}" + context)
                number = int(name.removeprefix("part_").split(".")[0])
                wanted = sequences[f"{group}/part_.jl.gz"][
                    number * CRASH_PER_FILE : (number + 1) * CRASH_PER_FILE
                ]
                assert ids == wanted, f"{relative} is not file {number} of its group" + context
        caught = [relative for relative in left if relative.endswith(PARTIAL_SUFFIX)]
        tries.append(f"{killed.describe()}; partial uploads left: {caught}")
        if killed.interrupted and caught:
            break
    else:
        pytest.fail("3 kills in a row missed every upload:\n" + "\n".join(tries))

    resumed = harness.attempt(None)
    report.attempts.append(resumed)
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert resumed.returncode == 0, context
    back = tmp_path / "back"
    target.server.download(folder, back)
    problems = check_exact_output(
        back, expected_sequences(items), parse_ids, layout=layout(items, CRASH_PER_FILE)
    )
    assert not problems, "destination is not exactly the input:\n  " + "\n  ".join(problems) + context
    state = harness.committed_state()
    assert state and state.get("finished"), "the job is not marked finished" + context
    print(report.describe())


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_crash_stress_20_random_points(
    target: Target,
    request: pytest.FixtureRequest,
    input_items: tuple[Path, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    """20 seeded random ``kill -9`` points (files written, commits, delays), each its own job; all exact.

    ``OZZY_CRASH_SEED`` and ``OZZY_CRASH_POINTS`` change the master seed and the number of jobs.
    """
    skip_unless_slow_requested(request.config)
    input_dir, items = input_items
    total_files = sum(len(counts) for counts in layout(items, CRASH_PER_FILE).values())

    def run_point(point: int, seed: int) -> CrashReport:
        folder, options = grouped_by_country(target, items_per_file=CRASH_PER_FILE)
        harness = CrashHarness(
            tmp_path / f"job-{point}",
            export_config(input_dir, Path("state"), target.writer, options, batch_size=250),
            output_dir=str(target.server.root / folder),
            env=target.connection_env(),
        )
        plan = harness.random_plan(random.Random(seed), total_files, ITEMS // 250, 2 if point % 4 == 3 else 1)
        report = harness.run(plan, seed=seed, label=f"{target.kind}-{point}")
        back = tmp_path / f"back-{point}"
        target.server.download(folder, back)
        problems = check_exact_output(
            back, expected_sequences(items), parse_ids, layout=layout(items, CRASH_PER_FILE)
        )
        assert not problems, "\n  ".join(problems) + f"\n{report.describe()}"
        return report

    failures, landed = run_stress_points(run_point)
    print(
        f"{target.kind} stress: {STRESS_POINTS - len(failures)}/{STRESS_POINTS} exact, {landed} kills landed"
    )
    assert not failures, "\n\n".join(failures)


# -- SFTPReader ------------------------------------------------------------------------------------------
@pytest.fixture
def sftp_connection(sftp_server: SFTPTestServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_SFTP_READ", sftp_server.connection_json("key_file"))
    monkeypatch.setenv("AIRFLOW_HOME", AIRFLOW_HOME)
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    return "ozzy_test_sftp_read"


def test_sftp_reader_reads_in_path_order_skipping_hidden_and_unmatched_files(
    sftp_server: SFTPTestServer,
    sftp_connection: str,
    small_input: tuple[Path, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    input_dir, items = small_input
    folder = fresh_folder("sftp")
    writer = {
        "sftp_conn_id": sftp_connection,
        "filebase": f"{folder}/{{groups[0]}}/part_",
        "items_per_buffer_write": 100,
    }
    run_export(export_config(input_dir, tmp_path / "state1", "SFTPWriter", writer))
    (sftp_server.root / folder / "es" / f".part_0042.jl.gz{PARTIAL_SUFFIX}").write_bytes(b"not a gzip")
    (sftp_server.root / folder / "notes.txt").write_text("not data either")

    out = tmp_path / "out"
    reader = {
        "sftp_conn_id": sftp_connection,
        "prefix": f"{folder}/",
        "pattern": r"\.jl\.gz$",
        "batch_size": 70,
    }
    config = {
        "reader": {"name": "SFTPReader", "options": reader},
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": f"{out}/all_", "items_per_buffer_write": 10_000},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state2")}},
    }
    stats = run_export(config)

    expected = [item for country in sorted(COUNTRIES) for item in items if item["country"] == country]
    assert read_json_lines(out / "all_0000.jl.gz") == expected
    assert stats["items_read"] == len(items)


def test_sftp_reader_refuses_a_file_changed_since_the_job_started(
    sftp_server: SFTPTestServer, sftp_connection: str, tmp_path: Path
) -> None:
    folder = fresh_folder("sftp")
    path = sftp_server.root / folder / "data.jl"
    path.parent.mkdir(parents=True)
    path.write_text('{"id": 1}\n{"id": 2}\n')
    reader = SFTPReader({"sftp_conn_id": sftp_connection, "prefix": f"{folder}/data"})
    try:
        reader.open(None)
        path.write_text('{"id": 1}\n{"id": 2}\n{"id": 3}\n')
        with pytest.raises(
            ReaderError, match=f"{folder}/data.jl on sftp://ozzy@127.0.0.1:\\d+ changed since"
        ):
            reader.get_next_batch()
    finally:
        reader.close()


def test_sftp_reader_wrong_password_names_the_server(
    sftp_server: SFTPTestServer, sftp_connection: str
) -> None:
    reader = SFTPReader(
        {
            "host": "127.0.0.1",
            "port": sftp_server.port,
            "sftp_user": "ozzy",
            "sftp_password": WRONG_PASSWORD,
            "no_host_key_check": True,
            "prefix": "x/",
        }
    )
    with pytest.raises(ReaderError) as failure:
        reader.open(None)
    reader.close()
    message = str(failure.value)
    assert message.startswith(
        f"SFTPReader: cannot list x/ on sftp://ozzy@127.0.0.1:{sftp_server.port}: authentication"
    )
    assert WRONG_PASSWORD not in message
