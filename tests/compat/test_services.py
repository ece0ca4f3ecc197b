"""exporters tests/test_writers_mail.py, test_notifications.py (SESMailNotifier),
test_writers_cloudsearch.py, test_persistence_alchemy.py and test_bypass_stream.py, through ``ozzy``
against real local servers: mails read back from the SMTP server (``smtp_server``) and from moto's
SES recorder (``moto_server``), CloudSearch documents from ``cloudsearch_server``, job rows from
SQLite files, PostgreSQL and MariaDB with plain SQL, copied objects from fake-gcs-server.

exporters' tests mocked ``boto.connect_ses``, ``requests`` and the GCS client, or called the modules'
methods; here each is a config, a run, and what arrived at the server.
"""

from __future__ import annotations

import bz2
import email
import email.policy
import gzip
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import (
    RunOzzy,
    bypass_refusals,
    console,
    fs_input,
    items_of,
    random_reader,
    write_jl_gz,
)
from tests.servers.moto_server import SENDER

PEOPLE = [{"name": "Roberto", "birthday": "12/05/1987"}, {"name": "Claudia", "birthday": "21/12/1985"}]
TO = "ana@example.com"
TEAM = "team@example.com"
CLIENT = "client@example.com"


# -- MailWriter (tests/test_writers_mail.py) ------------------------------------------------------------


@pytest.fixture
def smtp(smtp_server: Any, monkeypatch: pytest.MonkeyPatch, work: Path) -> Any:
    smtp_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_SMTP", smtp_server.connection_json())
    return smtp_server


@pytest.fixture
def ses(moto_server: Any, monkeypatch: pytest.MonkeyPatch, work: Path) -> Iterator[Any]:
    """moto's SES for exporters' ``access_key``/``secret_key`` options (boto3 finds it through
    ``AWS_ENDPOINT_URL_SES``); every mail sent inside the test is recorded."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", moto_server.endpoint_url)
    with moto_server.recording_mails():
        yield moto_server


def mail_writer(transport: str, **options: Any) -> dict[str, Any]:
    """exporters' WRITER_CONFIG with a real recipient and sender, through SES (its keys) or SMTP."""
    base: dict[str, Any] = {"emails": [TO], "subject": "test", "from": SENDER}
    if transport == "ses":
        base.update(access_key="test", secret_key="test")
    else:
        base["smtp_conn_id"] = "ozzy_smtp"
    return {"name": "exporters.writers.mail_writer.MailWriter", "options": {**base, **options}}


def sent_attachments(transport: str, server: Any) -> list[tuple[list[str], str, dict[str, bytes], str]]:
    """(recipients, subject, attachments by name, body text) of every mail the server received."""
    found = []
    if transport == "ses":
        for mail in server.recorded_mails():
            message = email.message_from_bytes(mail.raw, policy=email.policy.default)
            attached = {}
            for part in message.iter_attachments():
                attached[str(part.get_filename())] = part.get_payload(decode=True)
            found.append((mail.to, mail.subject, attached, mail.body))
    else:
        for received in server.mails():
            found.append((received.envelope_to, received.subject, received.attachments(), received.text()))
    return found


@pytest.mark.parametrize("transport", ["ses", "smtp"])
@pytest.mark.parametrize("items", [0, 1])
def test_mail_write_no_items(
    run_ozzy: RunOzzy, request: pytest.FixtureRequest, transport: str, items: int
) -> None:
    """exporters: test_writers_mail.py::MailWriterTest::test_write_no_items: no mail while no
    item was written; one mail (one attachment of one record) once there is one."""
    server = request.getfixturevalue(transport)
    result = run_ozzy({"reader": random_reader(items), "writer": mail_writer(transport)})
    assert result.code == 0, result.err
    mails = sent_attachments(transport, server)
    assert len(mails) == items
    for recipients, subject, attached, body in mails:
        assert (recipients, subject) == ([TO], "test")
        assert list(attached) == ["0.jl.gz"]
        assert len(gzip.decompress(attached["0.jl.gz"]).splitlines()) == 1
        assert "Number of Records: 1" in body


@pytest.mark.parametrize("transport", ["ses", "smtp"])
@pytest.mark.parametrize(
    ("case", "compression", "name"),
    [
        ("test_file_name_none_compression", "none", "some_file_0.jl"),
        ("test_file_name_default_compression", None, "some_file_0.jl.gz"),
        ("test_file_name_bz2_compression", "bz2", "some_file_0.jl.bz2"),
    ],
    ids=["none", "default", "bz2"],
)
def test_mail_file_name(
    run_ozzy: RunOzzy,
    request: pytest.FixtureRequest,
    work: Path,
    transport: str,
    case: str,
    compression: str | None,
    name: str,
) -> None:
    """exporters: test_writers_mail.py::MailWriterTest::test_file_name_*_compression: the attachment
    is ``<file_name><mails sent>.<ext>[.<compression>]``; its bytes are the items, compressed so,
    and the body names it with its size and record count (as HTML: docs/design.md, "Delivery
    writers"; exporters sent plain text)."""
    server = request.getfixturevalue(transport)
    options: dict[str, Any] = {"file_name": "some_file_"}
    if compression is not None:
        options["compression"] = compression
    result = run_ozzy({"reader": fs_input(work, PEOPLE), "writer": mail_writer(transport, **options)})
    assert result.code == 0, result.err
    [(recipients, _, attached, body)] = sent_attachments(transport, server)
    assert recipients == [TO]
    assert list(attached) == [name]
    data = attached[name]
    plain = {"none": bytes, "bz2": bz2.decompress, None: gzip.decompress}[compression](data)
    assert [json.loads(line) for line in plain.splitlines()] == PEOPLE
    for line in (f"File Name: {name}", f"Size: {len(data)}", "Number of Records: 2"):
        assert line in body, body


def test_mail_writer_config_of_the_exporters_test_is_refused(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters: test_writers_mail.py WRITER_CONFIG (``emails: []``, ``from: 'test'``). exporters built
    the writer and, with no recipient, would send nothing; Ozzy refuses the config before anything
    runs (exit 2), naming both options (departure, not in docs/design.md: MailWriter checks its
    addresses at validation)."""
    config = {
        "reader": random_reader(1),
        "writer": {
            "name": "exporters.writers.mail_writer.MailWriter",
            "options": {
                "emails": [],
                "subject": "test",
                "from": "test",
                "access_key": "test",
                "secret_key": "test",
            },
        },
    }
    (work / "mail.json").write_text(json.dumps(config))
    result = run_ozzy("validate", "mail.json")
    assert result.code == 2, result.out + result.err
    assert "option 'emails' must list at least one address" in result.err
    assert "from: 'test' is not an e-mail address" in result.err


# -- SESMailNotifier (tests/test_notifications.py) ------------------------------------------------------


def ses_notifier(**options: Any) -> dict[str, Any]:
    """SESMailNotifierTest.setUp's notifier (its module path is one exporters never had)."""
    defaults = {
        "team_mails": [TEAM],
        "client_mails": [CLIENT],
        "access_key": "somelogin",
        "secret_key": "somekey",
        "mail_from": SENDER,
    }
    return {
        "name": "exporters.notifications.s3_mail_notifier.SESMailNotifier",
        "options": {**defaults, **options},
    }


def notified_config(
    moto_server: Any, work: Path, monkeypatch: pytest.MonkeyPatch, **notifier: Any
) -> dict[str, Any]:
    """SESMailNotifierTest.setUp's job: a writer with a bucket and a filebase (S3Writer on moto)."""
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_S3", moto_server.connection_json())
    bucket = moto_server.create_bucket("notified")
    return {
        "reader": fs_input(work, PEOPLE),
        "writer": {
            "name": "exporters.writers.s3_writer.S3Writer",
            "options": {"bucket": bucket, "filebase": "FILEBASE", "aws_conn_id": "ozzy_s3"},
        },
        "exporter_options": {"notifications": [ses_notifier(**notifier)], "persistence_state_id": "job-1"},
    }


def test_ses_notifier_start_and_complete(
    run_ozzy: RunOzzy, ses: Any, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exporters: test_notifications.py::SESMailNotifierTest::test_start_dump and test_complete_dump:
    exact subjects, receivers (clients, then team) and bodies, sent through SES with exporters' keys.
    Departure (not in docs/design.md): no leading blank line, and a ``Job id:`` line ends each body."""
    config = notified_config(ses, work, monkeypatch)
    result = run_ozzy(config)
    assert result.code == 0, result.err
    bucket = config["writer"]["options"]["bucket"]
    assert [(mail.source, mail.to, mail.subject, mail.body) for mail in ses.recorded_mails()] == [
        (
            SENDER,
            [CLIENT, TEAM],
            "Started Customer export job",
            "Export job started with following parameters:\n\n"
            f"Writer: S3Writer\nBucket: {bucket}\nFilebase: FILEBASE\n\nJob id: job-1\n",
        ),
        (
            SENDER,
            [CLIENT, TEAM],
            "Customer export job finished",
            "Export job finished successfully.\n\nTotal records exported: 2.\n\nJob id: job-1\n",
        ),
    ]


def test_ses_notifier_custom_emails(
    run_ozzy: RunOzzy, ses: Any, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exporters: test_notifications.py::SESMailNotifierTest::test_notify_with_custom_emails. exporters'
    export manager passed the receivers ([CLIENTS, TEAM]); a config gives them as lists: with only
    ``test@test.com`` as team and no client, every mail goes to that address alone."""
    config = notified_config(ses, work, monkeypatch, team_mails=["test@test.com"], client_mails=[])
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert [(mail.subject, mail.to) for mail in ses.recorded_mails()] == [
        ("Started Customer export job", ["test@test.com"]),
        ("Customer export job finished", ["test@test.com"]),
    ]


def test_ses_notifier_complete_dump_no_accurate_count(
    run_ozzy: RunOzzy, ses: Any, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exporters: test_notifications.py::SESMailNotifierTest::test_complete_dump_no_accurate_count: a
    bypass copies objects, not items (``accurate_items_count`` false), so the finished mail has no
    ``Total records exported`` line. The S3-to-S3 copy is exporters' case of an inaccurate count."""
    config = notified_config(ses, work, monkeypatch)
    s3 = ses.client("s3")
    source = ses.create_bucket("source")
    s3.put_object(Bucket=source, Key="some_prefix/part.jl.gz", Body=gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    config["reader"] = {
        "name": "exporters.readers.s3_reader.S3Reader",
        "options": {"bucket": source, "prefix": "some_prefix/", "aws_conn_id": "ozzy_s3"},
    }
    config["writer"]["options"]["filebase"] = "copy/"
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["bypass"] == "S3Bypass"
    finished = ses.recorded_mails()[-1]
    assert finished.subject == "Customer export job finished"
    assert finished.body == "Export job finished successfully.\n\nJob id: job-1\n"


@pytest.mark.parametrize(
    ("case", "jobkey"),
    [("test_failed_dump", None), ("test_failed_dump_in_scrapy_cloud", "10804/1/12")],
    ids=["plain", "scrapy-cloud"],
)
def test_ses_notifier_failed_dump(
    run_ozzy: RunOzzy, ses: Any, work: Path, monkeypatch: pytest.MonkeyPatch, case: str, jobkey: str | None
) -> None:
    """exporters: test_notifications.py::SESMailNotifierTest::test_failed_dump and
    test_failed_dump_in_scrapy_cloud: the failure mail goes to the team only, with the reason, the
    ``Job key`` under Scrapy Cloud (``SHUB_JOBKEY``), the stack trace and the configuration as JSON.
    Departures: the keys are ``***`` in the configuration (docs/design.md, "Smaller departures":
    secrets), which is indented and holds the default sections; not in docs/design.md: no
    ``Job: https://dash.scrapinghub.com/...`` line (that dashboard is gone) and the ``Job id:`` line."""
    if jobkey:
        monkeypatch.setenv("SHUB_JOBKEY", jobkey)
    else:
        monkeypatch.delenv("SHUB_JOBKEY", raising=False)
    config = notified_config(ses, work, monkeypatch)
    (work / "in/data.jl.gz").write_bytes(b"REASON: not gzip")
    result = run_ozzy(config)
    assert result.code == 1, result.err
    reason = next(line for line in result.err.splitlines() if line.startswith("ozzy: export failed: "))
    reason = reason.removeprefix("ozzy: export failed: ")
    started, failed = ses.recorded_mails()
    assert (started.subject, started.to) == ("Started Customer export job", [CLIENT, TEAM])
    assert (failed.source, failed.subject, failed.to) == (SENDER, "Failed export job for Customer", [TEAM])
    head = f"Export job failed with following error:\n\n{reason}\n\n"
    if jobkey:
        head += f"Job key: {jobkey}\n\n"
    head += "Job id: job-1\n\nStacktrace:\nTraceback (most recent call last):\n"
    assert failed.body.startswith(head), failed.body
    trace, _, configuration = failed.body[len(head) :].partition("\n\nConfiguration:\n")
    assert trace.endswith(f"ReaderError: {reason}")
    stored = json.loads(configuration)
    expected = json.loads(json.dumps(config))
    expected["exporter_options"]["notifications"][0]["options"].update(access_key="***", secret_key="***")
    for section in ("reader", "writer", "exporter_options"):
        assert stored[section] == expected[section]
    assert "somekey" not in failed.body and "somelogin" not in failed.body


def test_ses_notifier_invalid_mails(run_ozzy: RunOzzy, work: Path) -> None:
    """exporters: test_notifications.py::SESMailNotifierTest::test_invalid_mails (InvalidMailProvided):
    the config is refused before anything runs (exit 2), naming the option and the address."""
    config = {
        "reader": random_reader(1),
        "writer": console(),
        "exporter_options": {"notifications": [ses_notifier(team_mails=["badmail"], client_mails=[])]},
    }
    (work / "notify.json").write_text(json.dumps(config))
    result = run_ozzy("validate", "notify.json")
    assert result.code == 2, result.out + result.err
    assert "team_mails: 'badmail' is not an e-mail address" in result.err


# -- CloudSearchWriter (tests/test_writers_cloudsearch.py) ----------------------------------------------


@pytest.fixture
def cloudsearch(cloudsearch_server: Any, monkeypatch: pytest.MonkeyPatch, work: Path) -> Any:
    """The document endpoint; exporters' keys from its ``EXPORTERS_CLOUDSEARCH_*`` variables."""
    from tests.servers import cloudsearch_server as keys

    cloudsearch_server.reset()
    monkeypatch.setenv("EXPORTERS_CLOUDSEARCH_ACCESS_KEY", keys.ACCESS_KEY)
    monkeypatch.setenv("EXPORTERS_CLOUDSEARCH_SECRET_KEY", keys.SECRET_KEY)
    return cloudsearch_server


def cloudsearch_writer(endpoint: str, **options: Any) -> dict[str, Any]:
    return {
        "name": "exporters.writers.cloudsearch_writer.CloudSearchWriter",
        "options": {"endpoint_url": endpoint, "id_field": "key", **options},
    }


@pytest.mark.parametrize(
    ("case", "keys", "max_batch_size", "batches"),
    [
        ("test_create_batch_simple", [1, 3, 5], None, [3]),
        ("test_create_batch_with_size_limit", ["1", "3", "5"], 150, [2, 1]),
    ],
    ids=["simple", "size-limit"],
)
def test_cloudsearch_document_batches(
    run_ozzy: RunOzzy,
    cloudsearch: Any,
    work: Path,
    case: str,
    keys: list[Any],
    max_batch_size: int | None,
    batches: list[int],
) -> None:
    """exporters: test_writers_cloudsearch.py::CreateDocumentBatches::test_create_batch_simple and
    test_create_batch_with_size_limit: every item becomes ``{"type": "add", "id": item[id_field],
    "fields": item}``; batches hold as many documents as fit in ``max_batch_size`` bytes, in order.
    Departure (docs/design.md, "Delivery writers"): integer ids are sent as their JSON text (``1`` ->
    ``"1"``, CloudSearch ids are strings); ``max_batch_size`` is an option (exporters' argument)."""
    items = [{"key": key, "value": number + 1} for number, key in zip([1, 3, 5], keys, strict=True)]
    options = {} if max_batch_size is None else {"max_batch_size": max_batch_size}
    result = run_ozzy(
        {"reader": fs_input(work, items), "writer": cloudsearch_writer(cloudsearch.url, **options)}
    )
    assert result.code == 0, result.err
    assert [(batch.status, batch.documents) for batch in cloudsearch.batches] == [(200, n) for n in batches]
    assert all(batch.size <= (max_batch_size or 5_000_000) for batch in cloudsearch.batches)
    assert cloudsearch.documents == {str(item["key"]): item for item in items}


def test_cloudsearch_run_exporter_integration(run_ozzy: RunOzzy, cloudsearch: Any) -> None:
    """exporters: test_writers_cloudsearch.py::CloudsearchWriterTest::test_run_exporter_integration:
    RandomReader's 100 items through JQTransform go in one POST to
    ``<endpoint>/2013-01-01/documents/batch``, each with the jq filter's fields only. Departure
    (docs/design.md, "Delivery writers"): the POST is SigV4-signed (the server refuses unsigned
    ones); exporters read the keys but never signed."""
    config = {
        "reader": {
            "name": "exporters.readers.random_reader.RandomReader",
            "options": {"number_of_items": 100},
        },
        "transform": {
            "name": "exporters.transform.jq_transform.JQTransform",
            "options": {
                "jq_filter": "{key: .key, country: .country_code, value: .value} | del(.[] | select(. == null))"
            },
        },
        "writer": cloudsearch_writer(cloudsearch.url),
    }
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert [(batch.status, batch.documents) for batch in cloudsearch.batches] == [(200, 100)]
    assert sorted(cloudsearch.documents, key=int) == [str(n) for n in range(100)]
    for document_id, fields in cloudsearch.documents.items():
        assert set(fields) == {"key", "country", "value"} and fields["key"] == int(document_id)


# -- StreamBypass (tests/test_bypass_stream.py) ---------------------------------------------------------


@pytest.fixture
def gcs(gcs_server: Any, moto_server: Any, monkeypatch: pytest.MonkeyPatch, work: Path) -> Any:
    """fake-gcs-server (found through ``STORAGE_EMULATOR_HOST``, connection ``ozzy_gcs``) and moto's S3
    (connection ``ozzy_s3``)."""
    for name, value in gcs_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_GCS", gcs_server.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_S3", moto_server.connection_json())
    return gcs_server


def stream_bypass_config(source: str, dest: str, **extra: Any) -> dict[str, Any]:
    """create_stream_bypass_simple_config: S3Reader on ``some_prefix/`` to GStorageWriter."""
    return {
        "reader": {
            "name": "exporters.readers.s3_reader.S3Reader",
            "options": {"bucket": source, "prefix": "some_prefix/", "aws_conn_id": "ozzy_s3"},
        },
        "writer": {
            "name": "exporters.writers.gstorage_writer.GStorageWriter",
            "options": {"bucket": dest, "filebase": "some_prefix/", "gcp_conn_id": "ozzy_gcs"},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
        "exporter_options": {"persistence_state_id": "stream"},
        **extra,
    }


def gcs_objects(gcs: Any, bucket: str) -> dict[str, bytes]:
    return {blob.name: blob.download_as_bytes() for blob in gcs.client().list_blobs(bucket)}


def stream_buckets(gcs: Any, moto_server: Any, objects: dict[str, bytes]) -> tuple[str, str]:
    source = moto_server.create_bucket("stream-src")
    for key, data in objects.items():
        moto_server.client("s3").put_object(Bucket=source, Key=key, Body=data)
    dest = f"dest-{uuid.uuid4().hex[:12]}"
    gcs.client().create_bucket(dest)
    return source, dest


def test_stream_bypass(run_ozzy: RunOzzy, gcs: Any, moto_server: Any) -> None:
    """exporters: test_bypass_stream.py::StreamBypassConditionsTest::test_should_meet_conditions and
    StreamBypassTest::test_bypass_stream: S3 to GCS with nothing per item is streamed by StreamBypass,
    the object's bytes unchanged under ``<filebase dir>/<source basename>``, and the bytes copied
    counted (``bytes_written``; exporters' ``bytes_copied``). exporters never chose this bypass in an
    export (docs/design.md, "Object storage": its condition check always failed); Ozzy does."""
    data = gzip.compress(b"".join(json.dumps(p).encode() + b"\n" for p in PEOPLE), mtime=0)
    source, dest = stream_buckets(gcs, moto_server, {"some_prefix/name.jl.gz": data})
    result = run_ozzy(stream_bypass_config(source, dest))
    assert result.code == 0, result.err
    assert result.stats["bypass"] == "StreamBypass"
    assert (result.stats["files_written"], result.stats["bytes_written"]) == (1, len(data))
    assert result.stats["items_count_accurate"] is False
    assert gcs_objects(gcs, dest) == {"some_prefix/name.jl.gz": data}


def test_stream_bypass_resume(
    run_ozzy: RunOzzy, gcs: Any, moto_server: Any, fault_proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """exporters: test_bypass_stream.py::StreamBypassTest::test_resume_bypass: a resumed bypass copies
    only the objects its state does not record (file_b), and the bytes count both. exporters started
    from a pickled state (file_a done); here the first run fails on file_b's upload (a 503 from a
    proxy in front of the GCS server, retries off) after file_a was copied and committed."""
    file_a = gzip.compress(b'{"file": "a"}\n' * 5, mtime=0)
    file_b = gzip.compress(b'{"file": "b"}\n' * 9, mtime=0)
    source, dest = stream_buckets(
        gcs, moto_server, {"some_prefix/file_a.jl.gz": file_a, "some_prefix/file_b.jl.gz": file_b}
    )
    proxy = fault_proxy(gcs.url)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
    uploads = lambda request: request.method == "POST" and "/upload/" in request.path  # noqa: E731
    proxy.fail(
        1,
        status=503,
        match=uploads,
        every=2,
        body=b'{"error": {"code": 503}}',
        content_type="application/json",
    )
    first = run_ozzy(stream_bypass_config(source, dest))
    assert first.code == 1, first.err
    assert proxy.pending_faults() == 0
    assert gcs_objects(gcs, dest) == {"some_prefix/file_a.jl.gz": file_a}

    resumed = run_ozzy("resume", "pickle:state/stream", "--quiet")
    assert resumed.code == 0, resumed.err
    stats = resumed.stats
    assert stats["bypass"] == "StreamBypass"
    assert (stats["objects_copied_this_run"], stats["files_written"]) == (1, 2)
    assert stats["bytes_written"] == len(file_a) + len(file_b)
    assert gcs_objects(gcs, dest) == {"some_prefix/file_a.jl.gz": file_a, "some_prefix/file_b.jl.gz": file_b}
    assert len(proxy.exchanges(lambda exchange: "/upload/" in exchange.path)) == 3  # a, b refused, b


@pytest.mark.parametrize(
    ("case", "extra"),
    bypass_refusals("exporters.groupers.file_key_grouper.FileKeyGrouper"),
    ids=["filter", "grouper", "items_limit"],
)
def test_stream_bypass_conditions_not_met(
    run_ozzy: RunOzzy, gcs: Any, moto_server: Any, case: str, extra: dict[str, Any]
) -> None:
    """exporters: test_bypass_stream.py::StreamBypassConditionsTest (the three refusals), on StreamBypass's
    own S3-to-GCS pair: with a filter, a grouper or ``items_limit`` the items go through the pipeline
    (re-written, not the source object)."""
    data = gzip.compress(b"".join(json.dumps(p).encode() + b"\n" for p in PEOPLE), mtime=0)
    source, dest = stream_buckets(gcs, moto_server, {"some_prefix/name.jl.gz": data})
    config = stream_bypass_config(source, dest, **{k: v for k, v in extra.items() if k != "items_limit"})
    if "items_limit" in extra:
        config["writer"]["options"]["items_limit"] = extra["items_limit"]
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert "bypass" not in result.stats
    assert result.stats["items_written"] == 2
    written = gcs_objects(gcs, dest)
    assert "some_prefix/name.jl.gz" not in written and written
    assert sorted(
        json.loads(line)["name"] for data in written.values() for line in gzip.decompress(data).splitlines()
    ) == ["Claudia", "Roberto"]


# -- AlchemyPersistence (tests/test_persistence_alchemy.py) -----------------------------------------------


@dataclass
class StateDatabase:
    """One job-state database: exporters' persistence section for it, the ``ozzy resume`` URIs of job
    ``1234`` (exporters' form, and the one Ozzy prints: no password) and a plain SQLAlchemy engine."""

    section: dict[str, Any]
    exporters_uri: str
    printed_uri: str
    engine: Any
    table: str
    password: str = ""

    def uri(self, job_id: str) -> str:
        return self.printed_uri.replace("1234", job_id)

    def rows(self) -> dict[str, dict[str, Any]]:
        import sqlalchemy

        with self.engine.connect() as connection:
            result = connection.execute(
                sqlalchemy.text(f"SELECT id, configuration, last_position, job_finished FROM {self.table}")
            )
            return {
                row.id: {
                    "configuration": json.loads(row.configuration),
                    "last_position": json.loads(row.last_position) if row.last_position else None,
                    "job_finished": bool(row.job_finished),
                }
                for row in result
            }


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def state_db(request: pytest.FixtureRequest, work: Path) -> Iterator[StateDatabase]:
    """SqlitePersistence on a file (exporters' ``database`` option), PostgresqlPersistence and
    MysqlPersistence on the servers with exporters' user/password/host/port/database options, each in
    a table of its own (dropped afterwards)."""
    import sqlalchemy

    if request.param == "sqlite":
        engine = sqlalchemy.create_engine(f"sqlite:///{work}/some/file.db")
        db = StateDatabase(
            {
                "name": "exporters.persistence.alchemy_persistence.SqlitePersistence",
                "options": {"database": "some/file.db"},
            },
            "sqlite://some/file.db:1234",
            f"sqlite://{work}/some/file.db:1234",
            engine,
            "ozzy_job",
        )
        yield db
        engine.dispose()
        return
    table = f"job_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        server = request.getfixturevalue("postgresql_server")
        name, scheme, password = "PostgresqlPersistence", "postgresql", "pass"  # trust: not checked
    else:
        server = request.getfixturevalue("mariadb_server")
        name, scheme, password = "MysqlPersistence", "mysql", ""  # root has no password
    options = {"user": server.user, "host": server.host, "port": server.port, "database": server.database}
    if password:
        options["password"] = password
    place = f"{server.host}:{server.port}/{server.database}/1234?table={table}"
    login = f"{server.user}:{password}" if password else server.user
    engine = sqlalchemy.create_engine(server.url)
    db = StateDatabase(
        {"name": f"exporters.persistence.alchemy_persistence.{name}", "options": {**options, "table": table}},
        f"{scheme}://{login}@{place}",
        f"{scheme}://{server.user}@{place}",
        engine,
        table,
        password,
    )
    yield db
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def state_job(work: Path, db: StateDatabase, job_id: str | None = "1234") -> dict[str, Any]:
    """30 items in three files read 5 at a time, written 5 per file: a commit every batch."""
    for part in range(3):
        write_jl_gz(work / "in" / f"part-{part}.jl.gz", [{"id": part * 10 + n} for n in range(10)])
    config: dict[str, Any] = {
        "reader": {
            "name": "exporters.readers.fs_reader.FSReader",
            "options": {"input": {"dir": "in"}, "batch_size": 5},
        },
        "writer": {
            "name": "exporters.writers.fs_writer.FSWriter",
            "options": {"filebase": "out/p_", "items_per_buffer_write": 5},
        },
        "persistence": db.section,
    }
    if job_id is not None:
        config["exporter_options"] = {"persistence_state_id": job_id}
    return config


def stored(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as the table keeps it: the persistence section without its password."""
    copy = json.loads(json.dumps(config))
    copy["persistence"]["options"].pop("password", None)
    return copy


def test_alchemy_uri_forms_and_configuration_from_uri(
    run_ozzy: RunOzzy, work: Path, state_db: StateDatabase
) -> None:
    """exporters: test_persistence_alchemy.py::SqlitePersistenceTest::test_parse_persistence_uri,
    MysqlPersistenceTest/PostgresqlPersistenceTest::test_parse_persistence_uri and
    SqlitePersistenceTest::test_configuration_from_uri: ``ozzy resume`` takes exporters' URI forms
    (``sqlite://some/file.db:1234``, ``postgresql://user:pass@host:port/db/1234``,
    ``mysql://user@host:port/db/1234``) and finds the job's configuration in its row. Departures
    (docs/design.md, "Job state in a database"): rows are keyed by the job id (exporters: an
    autoincrement number), a table other than ``ozzy_job`` is named by ``?table=``, and the printed
    URI and the stored configuration hold no password."""
    config = state_job(work, state_db)
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["resume_uri"] == state_db.printed_uri
    rows = state_db.rows()
    assert list(rows) == ["1234"]
    assert rows["1234"]["configuration"] == stored(config)
    if state_db.password:
        assert state_db.password not in json.dumps(rows)

    again = run_ozzy("resume", state_db.exporters_uri, "--quiet")
    assert again.code == 0, again.err
    assert again.stats["already_finished"] is True
    assert state_db.rows() == rows


def test_alchemy_commit_position_then_resume(run_ozzy: RunOzzy, work: Path, state_db: StateDatabase) -> None:
    """exporters: test_persistence_alchemy.py::SqlitePersistenceTest::test_create_commit_and_get_position
    and test_close_should_mark_as_finished: a job that fails half way leaves its row unfinished with
    the last committed position; ``ozzy resume`` (the configuration read from the row, the config file
    gone) continues from it, every item written exactly once, and marks the row finished."""
    config = state_job(work, state_db)
    good = (work / "in/part-1.jl.gz").read_bytes()
    (work / "in/part-1.jl.gz").write_bytes(good[: len(good) // 2])
    failed = run_ozzy(config, name="job.json")
    assert failed.code == 1, failed.err
    row = state_db.rows()["1234"]
    assert row["job_finished"] is False
    assert row["configuration"] == stored(config)
    position = row["last_position"]
    assert position is not None and not position.get("finished")
    assert 10 <= position["read_items"] < 30

    (work / "in/part-1.jl.gz").write_bytes(good)
    (work / "job.json").unlink()
    resumed = run_ozzy("resume", state_db.exporters_uri, "--quiet")
    assert resumed.code == 0, resumed.err
    assert resumed.stats["items_read_this_run"] == 30 - position["read_items"]
    written = [item["id"] for path in sorted((work / "out").iterdir()) for item in items_of(path)]
    assert written == list(range(30))
    row = state_db.rows()["1234"]
    assert row["job_finished"] is True
    assert row["last_position"]["finished"] is True and row["last_position"]["read_items"] == 30


def test_alchemy_generate_new_job(run_ozzy: RunOzzy, work: Path, state_db: StateDatabase) -> None:
    """exporters: test_persistence_alchemy.py::SqlitePersistenceTest::test_generate_new_job: each job
    gets a row of its own. Without ``persistence_state_id`` the id is a new uuid (exporters: the next
    autoincrement number), printed in the resume URI."""
    config = state_job(work, state_db, job_id=None)
    first = run_ozzy(config)
    second = run_ozzy(config)
    assert (first.code, second.code) == (0, 0), first.err + second.err
    ids = [first.stats["job_id"], second.stats["job_id"]]
    assert ids[0] != ids[1]
    assert first.stats["resume_uri"] == state_db.uri(ids[0])
    rows = state_db.rows()
    assert sorted(rows) == sorted(ids)
    assert all(row["job_finished"] for row in rows.values())
