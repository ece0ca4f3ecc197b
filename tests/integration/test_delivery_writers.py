"""MailWriter, CloudsearchWriter and GDriveWriter: real exports over the wire to local servers.

* Mail through an Airflow SMTP connection (aiosmtpd) and through SES (moto), one mail per file and
  recipient, attachments read back and compared item by item; the size limit and max_mails_sent.
* CloudSearch (``tests/servers/cloudsearch_server.py`` verifies SigV4 and the 5 MB limit):
  documents read back by id, every batch at most 5 MB, bad signatures refused.
* Google Drive (``tests/servers/gdrive_server.py``: OAuth token endpoint, files API, resumable
  uploads): folders per group, chunked uploads resumed after a lost response, reruns that find
  their files, consistency by size and md5.
* Refused connections and credentials give errors naming the host or endpoint, never the secret.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import gzip
import json
import logging
import os
import random
import re
import socket
import string
import tempfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from airflow_provider_ozzy.errors import InconsistentWriteError, WriterError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import write_json_lines_gz
from tests.servers import cloudsearch_server as cloudsearch
from tests.servers.cloudsearch_server import CloudSearchServer
from tests.servers.gdrive_server import DriveServer
from tests.servers.moto_server import SENDER, MotoServer
from tests.servers.smtp_server import PASSWORD, USER, SMTPServer

# The hooks import Airflow in this process: never let it write to the user's ~/airflow
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="ozzy-airflow-home-"))

COUNTRIES = ["es", "fr", "de"]
TO = ["ana@example.com", "bob@example.org"]


# random bytes mapped onto letters and a space: the text rng.choices drew, 40 times faster
# (3,000 items of 6,000 characters took 8 s of CPU to draw)
TEXT_ALPHABET = (string.ascii_letters + " ").encode()
BYTE_TO_TEXT = bytes(TEXT_ALPHABET[byte % len(TEXT_ALPHABET)] for byte in range(256))


def make_items(count: int, text_size: int = 20, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "_key": f"doc-{number}",
            "n": number,
            "country": COUNTRIES[number % len(COUNTRIES)],
            "name": f"Item {number} \u00f1\u00e9 \u6771\u4eac",
            "text": rng.randbytes(text_size).translate(BYTE_TO_TEXT).decode(),
            "tags": ["a", str(number % 7)],
        }
        for number in range(count)
    ]


def by_group(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item["country"], []).append(item)
    return groups


def export(
    tmp_path: Path, items: list[dict[str, Any]], writer: str, options: dict[str, Any], **sections: Any
) -> dict[str, Any]:
    """Run one export of ``items`` (grouped by country unless told) with a fresh job state."""
    source = write_json_lines_gz(tmp_path / "in" / "items.jl.gz", items)
    state = tempfile.mkdtemp(prefix="state-", dir=tmp_path)
    config = {
        "reader": {"name": "FSReader", "options": {"input": str(source), "batch_size": 100}},
        "writer": {"name": writer, "options": options},
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": state}},
        **sections,
    }
    stats = BasicExporter(config).export()
    assert stats["finished"] is True
    return stats


def json_lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")


def assert_not_shown(secret: str, *texts: str) -> None:
    for text in texts:
        assert secret not in text


# -- MailWriter -------------------------------------------------------------------------------------


def mail_options(**options: Any) -> dict[str, Any]:
    return {"emails": TO, "subject": "Your items", "from": "exports@example.com", **options}


def attachments_of(message: email.message.EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[str(part.get_filename())] = payload
    return found


def check_attachments(attachments: dict[str, bytes], items: list[dict[str, Any]], prefix: str) -> None:
    """Every item once, in order within its group; names ``<prefix><counter>-<group>.jl.gz``."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)-(es|fr|de)\.jl\.gz$")
    received: dict[str, list[dict[str, Any]]] = {}
    counters = []
    for name in sorted(attachments, key=lambda each: int(pattern.match(each).group(1))):  # type: ignore[union-attr]
        found = pattern.match(name)
        assert found, name
        counters.append(int(found.group(1)))
        received.setdefault(found.group(2), []).extend(json_lines(gzip.decompress(attachments[name])))
    assert counters == list(range(len(attachments)))
    assert received == by_group(items)


def test_mail_through_smtp_sends_each_file_to_each_recipient(
    smtp_server: SMTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_SMTP", smtp_server.connection_json())
    items = make_items(150)

    stats = export(
        tmp_path,
        items,
        "MailWriter",
        mail_options(
            smtp_conn_id="ozzy_test_smtp", file_name="items_%Y_", items_per_buffer_write=40, max_mails_sent=6
        ),
    )

    assert stats["files_written"] == 6  # 3 groups of 50 items, 40 per file
    mails = smtp_server.mails()
    assert len(mails) == 12
    year = str(datetime.datetime.now(datetime.UTC).year)  # file_name dates are UTC
    per_recipient: dict[str, dict[str, bytes]] = {}
    for mail in mails:
        assert len(mail.envelope_to) == 1 and mail.message["To"] == mail.envelope_to[0]
        assert mail.envelope_from == "exports@example.com" and mail.message["From"] == "exports@example.com"
        assert mail.subject == "Your items" and mail.login == USER
        attached = mail.attachments()
        assert len(attached) == 1
        ((name, content),) = attached.items()
        assert f"File Name: {name}" in mail.text()
        assert f"Size: {len(content)}" in mail.text()
        assert f"Number of Records: {len(json_lines(gzip.decompress(content)))}" in mail.text()
        per_recipient.setdefault(mail.envelope_to[0], {})[name] = content
    assert sorted(per_recipient) == sorted(TO)
    assert per_recipient[TO[0]] == per_recipient[TO[1]]
    check_attachments(per_recipient[TO[0]], items, f"items_{year}_")


def test_mail_through_ses_with_an_airflow_connection(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_SES", moto_server.connection_json())
    items = make_items(90)
    sent_before = moto_server.sent_count()

    with moto_server.recording_mails():
        export(
            tmp_path,
            items,
            "MailWriter",
            mail_options(**{"from": SENDER, "aws_conn_id": "ozzy_test_ses", "file_name": "ses_"}),
        )

    mails = moto_server.recorded_mails()
    assert len(mails) == 6  # one file per group, one mail per recipient
    # moto accepted every one (it counts a raw mail's recipient twice: envelope and To header)
    assert moto_server.sent_count() - sent_before == 2 * len(mails)
    attachments: dict[str, bytes] = {}
    for mail in mails:
        message = email.message_from_bytes(mail.raw, policy=email.policy.default)
        assert mail.source == SENDER and len(mail.to) == 1 and message["To"] == mail.to[0]
        assert mail.subject == "Your items" == message["Subject"]
        assert "Number of Records: 30" in mail.body
        if mail.to[0] == TO[1]:
            attachments.update(attachments_of(message))  # type: ignore[arg-type]
    assert sorted(mail.to[0] for mail in mails) == sorted(TO * 3)
    check_attachments(attachments, items, "ses_")


def test_mail_through_ses_with_legacy_keys_never_shows_them(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    access_key, secret_key = "AKIAOZZYMAILWRITER01", "mail-writer-secret/55aa"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", moto_server.endpoint_url)
    monkeypatch.setenv("EXPORTERS_MAIL_AWS_ACCESS_KEY", access_key)
    monkeypatch.setenv("EXPORTERS_MAIL_AWS_SECRET_KEY", secret_key)
    monkeypatch.setenv("EXPORTERS_MAIL_FROM", SENDER)
    items = make_items(30)
    caplog.set_level(logging.INFO)  # botocore's own DEBUG lines show the (public) access key id
    caplog.set_level(logging.DEBUG, "airflow_provider_ozzy")

    with moto_server.recording_mails():
        export(
            tmp_path,
            items,
            "MailWriter",
            {"emails": [TO[0]], "subject": "Legacy"},
            grouper={"name": "NoGrouper"},
        )

    (mail,) = moto_server.recorded_mails()
    message = email.message_from_bytes(mail.raw, policy=email.policy.default)
    assert (mail.source, mail.to, mail.subject) == (SENDER, [TO[0]], "Legacy")
    ((name, content),) = attachments_of(message).items()  # type: ignore[arg-type]
    assert name == "0.jl.gz"  # exporters' name without file_name
    assert json_lines(gzip.decompress(content)) == items
    assert_not_shown(secret_key, caplog.text)
    assert_not_shown(access_key, caplog.text)


def test_mail_refuses_a_file_over_max_attachment_size(
    smtp_server: SMTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_SMTP", smtp_server.connection_json())

    with pytest.raises(WriterError) as raised:
        export(
            tmp_path,
            make_items(60),
            "MailWriter",
            mail_options(smtp_conn_id="ozzy_test_smtp", compression="none", max_attachment_size=2000),
        )

    message = str(raised.value)
    assert re.search(r"0-(es|fr|de)\.jl has \d+ bytes, more than max_attachment_size \(2000 bytes\)", message)
    assert "nothing of it was sent" in message
    assert smtp_server.mails() == []


def test_mail_stops_after_max_mails_sent(
    smtp_server: SMTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_SMTP", smtp_server.connection_json())

    with pytest.raises(WriterError, match=r"max_mails_sent reached: 2 file\(s\) mailed"):
        export(
            tmp_path,
            make_items(90),
            "MailWriter",
            mail_options(smtp_conn_id="ozzy_test_smtp", emails=[TO[0]], max_mails_sent=2),
        )

    assert len(smtp_server.mails()) == 2


def test_mail_smtp_connection_refused_names_the_server(
    smtp_server: SMTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_retries: None
) -> None:
    port = closed_port()
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_SMTP", smtp_server.connection_json(port=port))

    with pytest.raises(WriterError) as raised:
        export(tmp_path, make_items(10), "MailWriter", mail_options(smtp_conn_id="ozzy_test_smtp"))

    message = str(raised.value)
    assert f"127.0.0.1:{port}" in message and "Connection refused" in message
    assert "through SMTP (connection 'ozzy_test_smtp')" in message
    assert_not_shown(PASSWORD, message)


def test_mail_smtp_authentication_failure_names_server_and_user_not_the_password(
    smtp_server: SMTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.reset()
    wrong = "not-the-password-9z9"
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_SMTP", smtp_server.connection_json(password=wrong))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(WriterError) as raised:
        export(tmp_path, make_items(10), "MailWriter", mail_options(smtp_conn_id="ozzy_test_smtp"))

    message = str(raised.value)
    assert f"SMTP server 127.0.0.1:{smtp_server.port} refused the login of user '{USER}'" in message
    assert "535" in message
    assert_not_shown(wrong, message, caplog.text)
    assert smtp_server.mails() == []


# -- CloudsearchWriter ------------------------------------------------------------------------------


def test_cloudsearch_export_in_signed_batches_of_at_most_5_mb(
    cloudsearch_server: CloudSearchServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloudsearch_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_CLOUDSEARCH", cloudsearch_server.connection_json())
    items = make_items(3000, text_size=6000)  # about 6 MB of documents per group

    stats = export(
        tmp_path,
        items,
        "CloudsearchWriter",
        {"endpoint_url": cloudsearch_server.url, "aws_conn_id": "ozzy_test_cloudsearch"},
    )

    assert stats["items_written"] == 3000
    batches = cloudsearch_server.batches
    assert all(batch.status == 200 for batch in batches), batches
    assert len(batches) >= 6  # each group's file needs two batches
    assert max(batch.size for batch in batches) <= 5_000_000
    assert max(batch.size for batch in batches) > 4_000_000  # batches are filled, not tiny
    assert sum(batch.documents for batch in batches) == 3000
    assert cloudsearch_server.documents == {item["_key"]: item for item in items}


def test_cloudsearch_with_legacy_keys_from_the_environment(
    cloudsearch_server: CloudSearchServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloudsearch_server.reset()
    monkeypatch.setenv("EXPORTERS_CLOUDSEARCH_ACCESS_KEY", cloudsearch.ACCESS_KEY)
    monkeypatch.setenv("EXPORTERS_CLOUDSEARCH_SECRET_KEY", cloudsearch.SECRET_KEY)
    items = make_items(40)

    export(
        tmp_path,
        items,
        "exporters.writers.cloudsearch_writer.CloudSearchWriter",  # the old name still works
        {
            "endpoint_url": cloudsearch_server.url + "/",
            "id_field": "n",
            "region_name": cloudsearch.REGION,
            "compression": "gz",  # exporters needed gz buffers; any compression works
        },
    )

    assert cloudsearch_server.documents == {str(item["n"]): item for item in items}


def test_cloudsearch_bad_signature_is_refused_with_a_clear_error(
    cloudsearch_server: CloudSearchServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_retries: None
) -> None:
    cloudsearch_server.reset()
    wrong = "wrong-secret/77bb66cc"
    monkeypatch.setenv(
        "AIRFLOW_CONN_OZZY_TEST_CLOUDSEARCH", cloudsearch_server.connection_json(secret_key=wrong)
    )

    with pytest.raises(WriterError) as raised:
        export(
            tmp_path,
            make_items(10),
            "CloudsearchWriter",
            {"endpoint_url": cloudsearch_server.url, "aws_conn_id": "ozzy_test_cloudsearch"},
        )

    message = str(raised.value)
    assert f"cannot upload documents to {cloudsearch_server.url}" in message
    assert "HTTP 403 InvalidSignatureException" in message
    assert "connection 'ozzy_test_cloudsearch'" in message
    assert_not_shown(wrong, message)
    assert cloudsearch_server.documents == {}
    # what exporters did (no signature at all) is refused too
    unsigned = requests.post(
        cloudsearch_server.url + cloudsearch.BATCH_PATH,
        data=b'[{"type": "add", "id": "x", "fields": {"a": 1}}]',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert unsigned.status_code == 403 and cloudsearch_server.documents == {}


def test_cloudsearch_server_refuses_batches_over_5_mb(cloudsearch_server: CloudSearchServer) -> None:
    client = boto3.client(
        "cloudsearchdomain",
        endpoint_url=cloudsearch_server.url,
        region_name=cloudsearch.REGION,
        aws_access_key_id=cloudsearch.ACCESS_KEY,
        aws_secret_access_key=cloudsearch.SECRET_KEY,
    )
    document = {"type": "add", "id": "big", "fields": {"text": "x" * 900_000}}
    batch = json.dumps([dict(document, id=f"big{n}") for n in range(6)]).encode()

    with pytest.raises(client.exceptions.DocumentServiceException, match="5 MB"):
        client.upload_documents(documents=batch, contentType="application/json")


def test_cloudsearch_connection_refused_names_the_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_retries: None
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    secret = "unused-secret/123"

    with pytest.raises(WriterError) as raised:
        export(
            tmp_path,
            make_items(5),
            "CloudsearchWriter",
            {
                "endpoint_url": endpoint,
                "access_key": "AKIAUNUSED",
                "secret_key": secret,
                "region_name": "eu-west-1",
            },
        )

    message = str(raised.value)
    assert f"cannot upload documents to {endpoint}" in message and "Could not connect" in message
    assert_not_shown(secret, message)


# -- GDriveWriter -----------------------------------------------------------------------------------


def drive_options(server: DriveServer, **options: Any) -> dict[str, Any]:
    return {
        "filebase": "exports/{groups[0]}/items_",
        "gcp_conn_id": "ozzy_test_gdrive",
        "api_endpoint": server.url,
        "chunk_size": 256 * 1024,
        "compression": "none",
        **options,
    }


@pytest.fixture
def drive(gdrive_server: DriveServer, monkeypatch: pytest.MonkeyPatch) -> DriveServer:
    gdrive_server.reset()
    keyfile = gdrive_server.new_service_account()
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_GDRIVE", json.dumps(gdrive_server.connection(keyfile)))
    return gdrive_server


def check_drive_tree(tree: dict[str, bytes], items: list[dict[str, Any]], files_per_group: int) -> None:
    expected = {
        f"exports/{country}/items_{number:04d}.jl"
        for country in COUNTRIES
        for number in range(files_per_group)
    }
    assert set(tree) == expected
    for country, group_items in by_group(items).items():
        names = sorted(name for name in tree if name.startswith(f"exports/{country}/"))
        assert [item for name in names for item in json_lines(tree[name])] == group_items


def test_gdrive_export_creates_folders_per_group_and_uploads_in_chunks(
    drive: DriveServer, tmp_path: Path
) -> None:
    items = make_items(900, text_size=3000)  # about 300 KB per 100 items

    stats = export(
        tmp_path,
        items,
        "GDriveWriter",
        drive_options(drive, items_per_buffer_write=200, check_consistency=True),
    )

    assert stats["files_written"] == 6
    check_drive_tree(drive.tree(), items, files_per_group=2)
    assert drive.folder_paths() == ["exports", "exports/de", "exports/es", "exports/fr"]
    assert drive.stats.folders_created == 4  # found again by name, never created twice
    assert drive.stats.sessions == drive.stats.files_created == 6
    assert drive.stats.chunks > 6  # files over 256 KiB went in several requests
    assert drive.stats.tokens_issued == 1


def test_gdrive_upload_resumes_from_the_acknowledged_byte(drive: DriveServer, tmp_path: Path) -> None:
    items = make_items(240, text_size=3000)  # one file of about 750 KB per group: 3 chunks each
    drive.fail_next_chunks(1)  # the server keeps the chunk, the answer is lost (503)

    export(tmp_path, items, "GDriveWriter", drive_options(drive, check_consistency=True))

    tree = drive.tree()
    check_drive_tree(tree, items, files_per_group=1)
    assert drive.stats.status_queries == 1  # asked where to resume...
    assert drive.stats.bytes_received == sum(
        len(content) for content in tree.values()
    )  # ...and resent nothing
    assert drive.stats.sessions == 3


def test_gdrive_rerun_keeps_one_file_per_name(drive: DriveServer, tmp_path: Path) -> None:
    items = make_items(60)
    export(tmp_path, items, "GDriveWriter", drive_options(drive))
    sessions = drive.stats.sessions

    export(tmp_path, items, "GDriveWriter", drive_options(drive))  # same files: left alone
    assert drive.stats.sessions == sessions
    check_drive_tree(drive.tree(), items, files_per_group=1)

    changed = make_items(60, seed=8)
    export(tmp_path, changed, "GDriveWriter", drive_options(drive, check_consistency=True))  # replaced
    assert drive.stats.files_replaced == 3 and drive.stats.files_created == 3
    check_drive_tree(drive.tree(), changed, files_per_group=1)


def test_gdrive_consistency_failure_names_the_file_and_the_md5(drive: DriveServer, tmp_path: Path) -> None:
    drive.corrupt_uploads = True
    items = make_items(30)

    with pytest.raises(InconsistentWriteError) as raised:
        export(tmp_path, items, "GDriveWriter", drive_options(drive, check_consistency=True))

    message = str(raised.value)
    assert "check_consistency failed for 3 file(s)" in message
    assert re.search(
        r"exports/es/items_0000\.jl has md5 [0-9a-f]{32} in Drive, expected [0-9a-f]{32}", message
    )
    assert "bytes in Drive" not in message  # one byte changed: same size, other md5


def test_gdrive_with_exporters_credentials_objects(gdrive_server: DriveServer, tmp_path: Path) -> None:
    gdrive_server.reset()
    credentials, client_secret = gdrive_server.new_oauth_client()
    items = make_items(30)

    export(
        tmp_path,
        items,
        "GDriveWriter",
        {
            "filebase": "exports/{groups[0]}/items_",
            "credentials": credentials,
            "client_secret": json.dumps(client_secret),  # a JSON string, as some old configs held it
            "api_endpoint": gdrive_server.url,
        },
    )

    tree = gdrive_server.tree()
    assert sorted(tree) == [f"exports/{country}/items_0000.jl.gz" for country in sorted(COUNTRIES)]
    assert json_lines(gzip.decompress(tree["exports/fr/items_0000.jl.gz"])) == by_group(items)["fr"]


def test_gdrive_refused_credentials_name_the_token_endpoint_never_the_key(
    gdrive_server: DriveServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gdrive_server.reset()
    keyfile = gdrive_server.new_service_account(register=False)  # a key Drive does not know
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_TEST_GDRIVE", json.dumps(gdrive_server.connection(keyfile)))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(WriterError) as raised:
        export(tmp_path, make_items(10), "GDriveWriter", drive_options(gdrive_server))

    message = str(raised.value)
    assert f"the token endpoint {gdrive_server.token_uri} refused the credentials" in message
    assert "invalid_grant" in message
    key_body = keyfile["private_key"].splitlines()[1]
    assert_not_shown(key_body, message, caplog.text)
    assert gdrive_server.tree() == {}


def test_gdrive_connection_refused_names_the_endpoint(
    drive: DriveServer, tmp_path: Path, no_retries: None
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}/"

    with pytest.raises(WriterError) as raised:
        export(tmp_path, make_items(10), "GDriveWriter", drive_options(drive, api_endpoint=endpoint))

    message = str(raised.value)
    assert endpoint in message and "Connection refused" in message
