"""What decides a job's output (``persistence/deciding_config.py``): secrets, connection ids and
retry/log options never count and are never stored; module aliases and explicit defaults are no
change; anything else that changes is named by section, module and option."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.persistence.deciding_config import check_unchanged, deciding_config, first_change


def s3_config(**writer: Any) -> dict[str, Any]:
    options = {
        "bucket": "b",
        "filebase": "out/{groups[0]}/part_",
        "aws_conn_id": "aws_a",
        "aws_access_key_id": "AKIAXXXXXXXX",
        "aws_secret_access_key": "Secret-Value-1234",
        **writer,
    }
    return {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 10, "batch_size": 5}},
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        "writer": {"name": "S3Writer", "options": options},
        "exporter_options": {"log_level": "INFO"},
    }


def test_secrets_connection_ids_and_log_options_neither_count_nor_are_stored() -> None:
    stored = deciding_config(s3_config())
    assert "Secret-Value-1234" not in json.dumps(stored)
    assert "AKIAXXXXXXXX" not in json.dumps(stored)
    changed = s3_config(
        aws_conn_id="aws_b", aws_secret_access_key="Other-Secret-9", aws_access_key_id="AKIAYY"
    )
    changed["reader"]["options"]["batch_size"] = 7
    changed["exporter_options"].update(log_level="DEBUG", disable_retries=True)
    assert first_change(stored, deciding_config(changed)) is None


def test_aliases_and_explicit_defaults_are_no_change() -> None:
    config = s3_config()
    stored = deciding_config(config)
    config["writer"]["name"] = "exporters.writers.s3_writer.S3Writer"
    config["transform"] = {"name": "NoTransform"}
    assert first_change(stored, deciding_config(config)) is None


def test_a_url_password_is_never_stored() -> None:
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
        "writer": {"name": "OdoWriter", "options": {"url": "postgresql://u:Pw-Hidden-77@h/db", "table": "t"}},
    }
    assert "Pw-Hidden-77" not in json.dumps(deciding_config(config))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c["grouper"]["options"].update(keys=["kind"]), ("grouper", "FileKeyGrouper", "keys")),
        (lambda c: c["writer"]["options"].update(filebase="x/"), ("writer", "S3Writer", "filebase")),
        (lambda c: c.update(grouper={"name": "NoGrouper"}), ("grouper", "FileKeyGrouper", "NoGrouper")),
        (
            lambda c: c["exporter_options"].update(formatter={"name": "CSVExportFormatter"}),
            ("formatter", "CSVExportFormatter"),
        ),
        (lambda c: c["exporter_options"].update(dead_letter_file="bad.jl"), ("dead_letter_file",)),
    ],
)
def test_a_change_is_refused_in_one_line_naming_it(change: Any, words: tuple[str, ...]) -> None:
    stored = deciding_config(s3_config())
    config = s3_config()
    change(config)
    with pytest.raises(ConfigurationError) as refused:
        check_unchanged(stored, config, "job:1")
    message = str(refused.value)
    assert "\n" not in message and "job:1" in message
    assert all(word in message for word in words), message
