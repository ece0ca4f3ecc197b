"""MailWriter, CloudsearchWriter and GDriveWriter without a server: option checks, names, batches."""

from __future__ import annotations

import datetime
import gzip
import json
from pathlib import Path

import pytest

from airflow_provider_ozzy.errors import ConfigurationError, WriterError
from airflow_provider_ozzy.export_formatter.csv_export_formatter import CSVExportFormatter
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.write_buffers.base import FinishedFile
from airflow_provider_ozzy.writers.cloudsearch_writer import CloudsearchWriter
from airflow_provider_ozzy.writers.gdrive_writer import GDriveWriter, _api_base
from airflow_provider_ozzy.writers.mail_writer import MailWriter

MAIL = {"emails": ["a@example.com"], "subject": "S", "from": "f@example.com"}


def problems(cls: type, options: dict) -> str:
    with pytest.raises(ConfigurationError) as raised:
        cls(options)
    return str(raised.value)


def test_mail_writer_option_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPORTERS_MAIL_FROM", raising=False)
    assert "'nobody' is not an e-mail address" in problems(MailWriter, dict(MAIL, emails=["nobody"]))
    assert "must list at least one address" in problems(MailWriter, dict(MAIL, emails=[]))
    assert "'from' is needed to send through SES" in problems(
        MailWriter, {"emails": ["a@b.c"], "subject": "S"}
    )
    assert "not both" in problems(MailWriter, dict(MAIL, smtp_conn_id="smtp", aws_conn_id="aws"))
    assert "give both access_key and secret_key" in problems(MailWriter, dict(MAIL, access_key="AKIA"))
    assert "'max_mails_sent' must be positive" in problems(MailWriter, dict(MAIL, max_mails_sent=0))
    MailWriter({"emails": ["a@b.c"], "subject": "S", "smtp_conn_id": "smtp"})  # SMTP: the connection's sender


def test_mail_attachment_names_follow_exporters() -> None:
    writer = MailWriter(dict(MAIL, file_name="report_%Y_{date:%m}_"))
    writer.open(JsonExportFormatter(), None)
    try:
        now = datetime.datetime.now(datetime.UTC)
        prefix = f"report_{now:%Y}_{now:%m}_"
        assert writer.attachment_name(FinishedFile((), "x", 1, 1, ""), 0) == f"{prefix}0.jl.gz"
        grouped = writer.attachment_name(FinishedFile(("es", 7), "x", 1, 1, ""), 3)
        assert grouped == f"{prefix}3-es-7.jl.gz"
        assert writer.state({}, 0)["name_prefix"] == prefix  # a resume keeps the names
    finally:
        writer.close()


def test_cloudsearch_option_and_formatter_checks() -> None:
    assert "is not an http(s) URL" in problems(CloudsearchWriter, {"endpoint_url": "doc.example.com"})
    assert "'max_batch_size' must be between" in problems(
        CloudsearchWriter, {"endpoint_url": "https://x", "max_batch_size": 6_000_000}
    )
    writer = CloudsearchWriter({"endpoint_url": "https://x"})
    with pytest.raises(ConfigurationError, match="use the JsonExportFormatter with jsonlines"):
        writer.open(CSVExportFormatter({"fields": ["a"]}), None)
    with pytest.raises(ConfigurationError, match="without pretty_print"):
        writer.open(JsonExportFormatter({"pretty_print": True}), None)


def test_cloudsearch_signing_region() -> None:
    host = "https://doc-movies-abc123.eu-west-1.cloudsearch.amazonaws.com/"
    assert CloudsearchWriter({"endpoint_url": host}).signing_region() == "eu-west-1"
    assert (
        CloudsearchWriter({"endpoint_url": host, "region_name": "us-east-2"}).signing_region() == "us-east-2"
    )
    assert CloudsearchWriter({"endpoint_url": "http://127.0.0.1:9"}).signing_region() is None


@pytest.mark.parametrize("limit", [400, 1000, 5_000_000])
def test_cloudsearch_batches_respect_the_limit_and_keep_every_item(tmp_path: Path, limit: int) -> None:
    items = [{"_key": f"k{n}", "n": n, "text": "é" * (n % 40)} for n in range(200)]
    path = tmp_path / "buffer.jl.gz"
    path.write_bytes(gzip.compress(b"\n".join(json.dumps(item).encode() for item in items) + b"\n"))
    writer = CloudsearchWriter({"endpoint_url": "https://x", "max_batch_size": limit, "compression": "gz"})

    batches = list(writer.document_batches(FinishedFile((), str(path), 200, 0, ""), "file 0"))

    assert all(len(batch) <= limit for batch, _ in batches)
    documents = [document for batch, _ in batches for document in json.loads(batch)]
    assert sum(count for _, count in batches) == len(documents) == 200
    assert documents == [{"type": "add", "id": item["_key"], "fields": item} for item in items]
    if limit == 400:
        assert len(batches) > 50


def test_cloudsearch_item_without_id_or_too_large(tmp_path: Path) -> None:
    path = tmp_path / "buffer.jl"
    path.write_bytes(b'{"_key": "a"}\n{"other": 1}\n')
    writer = CloudsearchWriter({"endpoint_url": "https://x"})
    with pytest.raises(WriterError, match=r"file 0, item 2 has no '_key' field"):
        list(writer.document_batches(FinishedFile((), str(path), 2, 0, ""), "file 0"))
    path.write_bytes(json.dumps({"_key": "big", "text": "x" * 1_100_000}).encode())
    with pytest.raises(WriterError, match=r"id 'big'.*up to 1048576 bytes"):
        list(writer.document_batches(FinishedFile((), str(path), 1, 0, ""), "file 0"))


def test_gdrive_option_checks() -> None:
    base = {"filebase": "exports/items_"}
    assert "positive multiple of 262144" in problems(GDriveWriter, dict(base, chunk_size=1000))
    assert "give both credentials and client_secret" in problems(
        GDriveWriter, dict(base, credentials={"a": 1})
    )
    assert "'client_secret' must be a JSON object" in problems(
        GDriveWriter, dict(base, credentials={"a": 1}, client_secret="not json")
    )


def test_gdrive_api_endpoint_base() -> None:
    assert _api_base("http://127.0.0.1:8080") == "http://127.0.0.1:8080/drive/v3/"
    assert _api_base("https://proxy.example.com/") == "https://proxy.example.com/drive/v3/"
    assert (
        _api_base("https://proxy.example.com/google/drive/v3") == "https://proxy.example.com/google/drive/v3/"
    )
