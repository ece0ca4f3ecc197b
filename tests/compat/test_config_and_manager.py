"""exporters tests/test_exporter_config.py, test_export_manager.py, test_utils.py (module loading)
and the example configs of exporters' docs and tests/data: validated and run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import EXPORTERS_DATA, RunOzzy, files_under, random_reader
from tests.helpers import exporters_options, write_config

VALID = {
    "reader": {
        "name": "exporters.readers.random_reader.RandomReader",
        "options": {"number_of_items": 10, "batch_size": 1},
    },
    "writer": {"name": "exporters.writers.console_writer.ConsoleWriter"},
    "filter_before": {"name": "exporters.filters.no_filter.NoFilter"},
    "filter_after": {"name": "exporters.filters.no_filter.NoFilter"},
    "transform": {"name": "exporters.transform.no_transform.NoTransform"},
    "exporter_options": {},
    "persistence": {
        "name": "exporters.persistence.pickle_persistence.PicklePersistence",
        "options": {"file_path": "state"},
    },
    "grouper": {"name": "exporters.groupers.no_grouper.NoGrouper"},
}


def valid_with(**updates: Any) -> dict[str, Any]:
    """tests/utils.py valid_config_with_updates (``filter`` left out: it and ``filter_before``
    together are another case)."""
    config = json.loads(json.dumps(VALID))
    config.update(updates)
    return config


def test_valid_config(run_ozzy: RunOzzy, work: Path) -> None:
    """ConfigValidationTest.test_check_configuration / test_curate_options (the valid one)."""
    write_config(work / "valid.json", valid_with())
    result = run_ozzy("validate", "valid.json")
    assert result.code == 0, result.err
    assert "valid" in result.out


# (exporters test, config, words the error must hold)
INVALID: list[tuple[str, dict[str, Any], list[str]]] = [
    ("test_find_missing_sections", {}, ["reader", "writer"]),
    ("test_curate_options[reader only]", {"reader": VALID["reader"]}, ["writer"]),
    ("test_curate_options[no reader]", {"writer": VALID["writer"]}, ["reader"]),
    (
        "test_missing_supported_options",
        valid_with(transform={"name": "exporters.transform.jq_transform.JQTransform", "options": {}}),
        ["transform", "jq_filter"],
    ),
    (
        "test_wrong_type_supported_options",
        valid_with(
            reader={
                "name": "exporters.readers.random_reader.RandomReader",
                "options": {"number_of_items": {}, "batch_size": []},
            },
            transform={"name": "exporters.transform.jq_transform.JQTransform", "options": {"jq_filter": 5}},
            persistence={"name": "exporters.persistence.PicklePersistence", "options": {"file_path": 567}},
        ),
        ["number_of_items", "batch_size", "jq_filter", "file_path", "4 errors"],
    ),
    (
        "test_supported_and_not_supported_options",
        valid_with(
            writer={
                "name": "exporters.writers.console_writer.ConsoleWriter",
                "options": {"items_limit": 1234, "not_a_supported_option": "foo"},
            }
        ),
        ["not_a_supported_option"],
    ),
    (
        "test_supported_and_not_supported_options_for_subclass",
        valid_with(
            writer={
                "name": "exporters.writers.fs_writer.FSWriter",
                "options": {"filebase": "blah", "not_supported_option": "foo"},
            }
        ),
        ["not_supported_option"],
    ),
    (
        "test_invalid_formatter[no name]",
        valid_with(exporter_options={"formatter": {}}),
        ["formatter", "name"],
    ),
    (
        "test_invalid_formatter[bad module]",
        valid_with(exporter_options={"formatter": {"name": "invalid.module.name"}}),
        ["invalid.module.name"],
    ),
    (
        "test_invalid_homogeneus_list",
        valid_with(
            filter_before={
                "name": "exporters.filters.key_value_filters.KeyValueFilter",
                "options": {"keys": ["This", "should", "be", "dicts"]},
            }
        ),
        ["keys"],
    ),
    (
        "test_invalid_notification[no name]",
        valid_with(exporter_options={"notifications": [{}]}),
        ["notifications", "name"],
    ),
    (
        "test_invalid_notification[bad module]",
        valid_with(exporter_options={"notifications": [{"name": "invalid.module.name"}]}),
        ["invalid.module.name"],
    ),
    (
        "test_invalid_notification[not a notifier, bad option]",
        valid_with(
            exporter_options={
                "notifications": [
                    {
                        "name": "exporters.export_formatter.json_export_formatter.JsonExportFormatter",
                        "options": {"unsuported_option": True},
                    }
                ]
            }
        ),
        ["notifications"],
    ),
    (
        "test_stream_only_sections",
        valid_with(
            decompressor={"name": "exporters.decompressors.ZLibDecompressor"},
            deserializer={"name": "exporters.deserializers.CSVDeserializer"},
        ),
        ["decompressor", "deserializer", "stream"],
    ),
    (
        "test_filter_with_non_existing_op",
        valid_with(
            filter_before={
                "name": "KeyValueFilter",
                "options": {"keys": [{"name": "a", "value": 1, "operator": "nope"}]},
            }
        ),
        ["nope"],
    ),
    (
        "test_invalid_date_range",
        valid_with(
            reader={
                "name": "S3Reader",
                "options": {
                    "bucket": "b",
                    "prefix": "p/%Y-%m-%d",
                    "prefix_format_using_date": ["today", "2 days ago"],
                },
            }
        ),
        ["prefix_format_using_date"],
    ),
    # Departure (docs/design.md, "Smaller departures": every numeric option has a range)
    (
        "test_long_values[2**70]",
        valid_with(
            reader={
                "name": "HubstorageReader",
                "options": {"collection_name": "asd", "project_id": 2**70, "apikey": "k"},
            }
        ),
        ["project_id", "from 1 to"],
    ),
    # Ozzy checks a notifier's mandatory options at validation; exporters only at the first mail
    (
        "test_valid_notification[no mail_from]",
        valid_with(exporter_options={"notifications": [{"name": "SESMailNotifier"}]}),
        ["mail_from"],
    ),
    (
        "test_prefix_and_prefix_pointer_list_keys",
        valid_with(
            reader={
                "name": "S3Reader",
                "options": {"bucket": "b", "prefix": "test_list/", "prefix_pointer": "test_list/LAST"},
            }
        ),
        ["prefix_pointer"],
    ),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("case", "config", "words"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_config(
    run_ozzy: RunOzzy, work: Path, command: str, case: str, config: dict[str, Any], words: list[str]
) -> None:
    """Every error at once, exit 2, nothing read or written."""
    path = write_config(work / "bad.json", config)
    result = run_ozzy("validate", path) if command == "validate" else run_ozzy(path)
    assert result.code == 2, (result.out, result.err)
    for word in words:
        assert word in result.err
    assert not result.out.strip()
    assert not (work / "state").exists() or not any((work / "state").iterdir())


@pytest.mark.parametrize(
    ("case", "config"),
    [
        # a Python 2 long; 2**70 itself is out of range (below)
        (
            "test_long_values",
            valid_with(
                reader={
                    "name": "exporters.readers.hubstorage_reader.HubstorageReader",
                    "options": {"collection_name": "asd", "project_id": 2**62, "apikey": "k"},
                }
            ),
        ),
        (
            "test_valid_formatter",
            valid_with(
                exporter_options={
                    "formatter": {
                        "name": "exporters.export_formatter.json_export_formatter.JsonExportFormatter"
                    }
                }
            ),
        ),
        (
            "test_valid_notification",
            valid_with(
                exporter_options={
                    "notifications": [
                        {
                            "name": "exporters.notifications.ses_mail_notifier.SESMailNotifier",
                            "options": {"mail_from": "a@example.com"},
                        }
                    ]
                }
            ),
        ),
        (
            "test_stream_only_sections[stream reader]",
            valid_with(
                reader={"name": "exporters.readers.fs_reader.FSReader", "options": {"input": "."}},
                decompressor={"name": "exporters.decompressors.ZLibDecompressor"},
                deserializer={"name": "exporters.deserializers.CSVDeserializer"},
            ),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_valid_variants(run_ozzy: RunOzzy, work: Path, case: str, config: dict[str, Any]) -> None:
    path = write_config(work / "ok.json", config)
    result = run_ozzy("validate", path)
    assert result.code == 0, result.err


MODULE_PATHS = [
    # ModuleLoaderTest.*_valid_class: exporters' module paths load
    ("reader", "exporters.readers.random_reader.RandomReader"),
    ("reader", "exporters.readers.RandomReader"),
    ("writer", "exporters.writers.console_writer.ConsoleWriter"),
    ("writer", "exporters.writers.ConsoleWriter"),
    ("filter_before", "exporters.filters.key_value_filters.KeyValueFilter"),
    ("filter_before", "exporters.filters.PythonexpFilter"),
    ("transform", "exporters.transform.no_transform.NoTransform"),
    ("grouper", "exporters.groupers.file_key_grouper.FileKeyGrouper"),
    ("grouper", "exporters.groupers.PythonExpGrouper"),
    ("persistence", "exporters.persistence.PicklePersistence"),
    ("persistence", "exporters.persistence.pickle_persistence.PicklePersistence"),
    # the module paths of Ozzy's spec (the user's list, after exporters' docs)
    ("reader", "ozzy.readers.random_reader.RandomReader"),
    ("writer", "ozzy.writers.console_writer.ConsoleWriter"),
    ("grouper", "ozzy.groupers.file_key_grouper.KeyFileGrouper"),
    ("grouper", "KeyFileGrouper"),
]
MODULE_OPTIONS = {
    "filter_before": {
        "KeyValueFilter": {"keys": [{"name": "country_code", "value": "es"}]},
        "PythonexpFilter": {"python_expression": "True"},
    },
    "grouper": {
        "FileKeyGrouper": {"keys": ["country_code"]},
        "KeyFileGrouper": {"keys": ["country_code"]},
        "PythonExpGrouper": {"python_expressions": ["1"]},
    },
    "persistence": {"PicklePersistence": {"file_path": "state"}},
    "reader": {"RandomReader": {"number_of_items": 3}},
}


@pytest.mark.parametrize(("section", "name"), MODULE_PATHS, ids=[f"{s}:{n}" for s, n in MODULE_PATHS])
def test_module_paths_load(run_ozzy: RunOzzy, work: Path, section: str, name: str) -> None:
    options = MODULE_OPTIONS.get(section, {}).get(name.rsplit(".", 1)[-1], {})
    config = valid_with(**{section: {"name": name, "options": options}})
    if section == "grouper":
        config["writer"] = {"name": "FSWriter", "options": {"filebase": "out/{groups[0]}/p_"}}
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["items_read"] == result.stats["items_written"] + result.stats["items_filtered"]


@pytest.mark.parametrize(
    "name", ["ozzy.bypasses.s3_to_s3_bypass.S3Bypass", "exporters.bypasses.s3_to_s3_bypass.S3Bypass"]
)
def test_bypass_module_path_from_the_docs(name: str) -> None:
    """exporters' tests import ``exporters.bypasses.s3_to_s3_bypass.S3Bypass``; the spec's
    catalogue file is ``bypasses/s3_to_s3_bypass.py``."""
    from airflow_provider_ozzy.engine.registry import resolve

    assert resolve(name).__name__ == "S3Bypass"


def test_upper_case_exporter_options_warn(run_ozzy: RunOzzy, work: Path) -> None:
    """BaseGrouperTest / FileKeyGrouperTest configs (``LOG_LEVEL``, ``LOGGER_NAME``) and
    tests/data/basic_config.json (``RESUME``, ``JOB_ID``, ``FORMATTER``, writer ``export_format``):
    exporters ignored them; Ozzy warns and runs."""
    config = valid_with(exporter_options={"LOG_LEVEL": "DEBUG", "LOGGER_NAME": "export-pipeline"})
    config["writer"] = {**config["writer"], "export_format": "csv"}
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert "LOG_LEVEL" in result.err
    assert "export_format" in result.err
    assert result.stats["items_written"] == 10


def test_upper_case_exporter_options_fail_with_strict(run_ozzy: RunOzzy, work: Path) -> None:
    """What exporters ignored is an error under ``exporter_options.strict`` (docs/design.md)."""
    config = valid_with(exporter_options={"LOG_LEVEL": "DEBUG", "strict": True})
    result = run_ozzy(config)
    assert result.code == 2
    assert "LOG_LEVEL" in result.err
    assert not result.out.strip()


# -- the export manager (tests/test_export_manager.py) ----------------------------------------------


def test_simple_export(run_ozzy: RunOzzy, work: Path) -> None:
    """BaseExportManagerTest.test_simple_export: 10 items written."""
    result = run_ozzy(valid_with())
    assert result.code == 0, result.err
    assert result.stats["items_written"] == 10
    assert len(result.printed_items) == 10


@pytest.mark.parametrize(
    ("key", "values"), [("state", None), ("country_code", {"es", "uk", "us", "fr", "de"})]
)
def test_simple_grouped_export(run_ozzy: RunOzzy, work: Path, key: str, values: set[str] | None) -> None:
    """test_simple_grouped_export / test_grouping_with_non_valid_characters:
    ``{file_number}_ds_dump_{groups[0]}`` names one file per group."""
    config = valid_with(
        reader=random_reader(1000, 100),
        writer={
            "name": "exporters.writers.fs_writer.FSWriter",
            "options": {"filebase": "out/{file_number}_ds_dump_{groups[0]}", "items_per_buffer_write": 1000},
        },
        grouper={"name": "exporters.groupers.file_key_grouper.FileKeyGrouper", "options": {"keys": [key]}},
    )
    result = run_ozzy(config)
    assert result.code == 0, result.err
    names = files_under(work / "out")
    assert all(name.startswith("0_ds_dump_") and name.endswith(".jl.gz") for name in names)
    if values:
        assert {name[len("0_ds_dump_") : -len(".jl.gz")] for name in names} == values


def test_non_empty_files(run_ozzy: RunOzzy, work: Path) -> None:
    """test_non_empty_files: one item, one file."""
    config = valid_with(
        reader=random_reader(1, 1),
        writer={"name": "FSWriter", "options": {"filebase": "out/some_files_", "items_per_buffer_write": 1}},
    )
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert files_under(work / "out") == ["some_files_0000.jl.gz"]


def test_fs_grouping_without_group_in_filebase(run_ozzy: RunOzzy, work: Path) -> None:
    """test_fs_grouping_without_filebase: a file per group although filebase names no group."""
    config = valid_with(
        reader=random_reader(123, 7),
        writer={"name": "FSWriter", "options": {"filebase": "out/some_file_"}},
        grouper={"name": "FileKeyGrouper", "options": {"keys": ["country_code"]}},
    )
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert len(files_under(work / "out")) == 5  # Ozzy's RandomReader has five countries
    assert result.stats["items_written"] == 123


def test_export_with_csv_formatter(run_ozzy: RunOzzy, work: Path) -> None:
    """test_export_with_csv_formatter / BasicExportManagerTest: titles then 10 rows."""
    config = valid_with(
        exporter_options={
            "formatter": {
                "name": "exporters.export_formatter.csv_export_formatter.CSVExportFormatter",
                "options": {"show_titles": True, "fields": ["city", "country_code"]},
            }
        }
    )
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["items_written"] == 10
    lines = result.out.strip().splitlines()
    assert lines[0].replace('"', "") == "city,country_code"
    assert len(lines) == 12  # titles, 10 rows, the stats


@pytest.mark.parametrize(("number", "batch", "limit"), [(17, 3, 5), (10, 3, 10), (10, 1, 1)])
def test_writer_items_limit(run_ozzy: RunOzzy, work: Path, number: int, batch: int, limit: int) -> None:
    """test_writer_items_limit: exactly ``items_limit`` items written."""
    config = valid_with(
        reader=random_reader(number, batch),
        writer={"name": "FSWriter", "options": {"filebase": "out/l_", "items_limit": limit}},
    )
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["items_written"] == limit
    from tests.compat.conftest import items_of

    assert len(items_of(work / "out/l_0000.jl.gz")) == limit


def test_persisted_positions_and_resume(run_ozzy: RunOzzy, work: Path) -> None:
    """test_persisted_positions / test_resume_items: a job stopped by items_limit... exporters
    committed ``last_read`` after each batch. Ozzy's state file holds the reader position; a finished
    job's resume reads nothing more and writes nothing twice."""
    config = valid_with(
        reader=random_reader(17, 3),
        writer={"name": "FSWriter", "options": {"filebase": "out/p_"}},
        exporter_options={"persistence_state_id": "job17"},
    )
    result = run_ozzy(config)
    assert result.code == 0, result.err
    state = json.loads((work / "state/job17").read_text())
    assert "17" in json.dumps(state)
    again = run_ozzy("resume", "pickle:state/job17")
    assert again.code == 0, again.err
    assert files_under(work / "out") == ["p_0000.jl.gz"]


def test_resume_of_an_exporters_pickle_state_is_refused(run_ozzy: RunOzzy, work: Path) -> None:
    """test_resume_items / test_resume_bypass resumed from pickled state files (tests/data/*.pickle).
    Departure (docs/design.md, "Departures from exporters' output": exporters' job state): a Python 2
    pickle is refused in one line naming the file (exit 1); unpickling would run code."""
    state = work / "state"
    state.mkdir()
    (state / "resume_persistence.pickle").write_bytes(b"\x80\x02}q\x00U\x04evilq\x01K\x01s.")
    result = run_ozzy("resume", "pickle:state/resume_persistence.pickle")
    assert result.code == 1
    assert "resume_persistence.pickle" in result.err
    assert "Traceback" not in result.err


def test_prevent_bypass_is_accepted(run_ozzy: RunOzzy, work: Path) -> None:
    """test_when_meet_conditions_but_config_prevent_bypass_it_should_not_be_called: the item pipeline runs."""
    result = run_ozzy(valid_with(exporter_options={"prevent_bypass": True}))
    assert result.code == 0, result.err
    assert result.stats["items_written"] == 10


# -- notifications through the export manager (test_notifier_integration_*, test_disabling_retries) --


def webhook(url: str) -> dict[str, Any]:
    return {
        "name": "exporters.notifications.webhook_notifier.WebhookNotifier",
        "options": {"endpoints": [url]},
    }


def test_notifier_integration_ok(run_ozzy: RunOzzy, work: Path, http_server: Any) -> None:
    """test_notifier_integration_ok / WebhookNotifierTest.test_start_dump, test_completed_dump."""
    http_server.reset()
    result = run_ozzy(
        valid_with(
            reader=random_reader(10, 3),
            exporter_options={"notifications": [webhook(http_server.url + "/hook")]},
        )
    )
    assert result.code == 0, result.err
    bodies = [request.json for request in http_server.requests("/hook")]
    assert len(bodies) == 2
    assert "started" in json.dumps(bodies[0]).lower()
    assert "complete" in json.dumps(bodies[1]).lower() or "finished" in json.dumps(bodies[1]).lower()


def test_notifier_integration_export_fail(run_ozzy: RunOzzy, work: Path, http_server: Any) -> None:
    """test_notifier_integration_export_fail / WebhookNotifierTest.test_failed_dump / test_when_writing_only_on_flush_should_notify_job_failure:
    a failing writer gives a start and a failure notification, never a completion."""
    http_server.reset()
    (work / "blocker").write_text("a file where the output folder should be")
    config = valid_with(
        reader=random_reader(10, 3),
        writer={"name": "FSWriter", "options": {"filebase": "blocker/out/x_"}},
        exporter_options={"notifications": [webhook(http_server.url + "/hook")]},
    )
    result = run_ozzy(config)
    assert result.code == 1
    bodies = [json.dumps(request.json).lower() for request in http_server.requests("/hook")]
    assert len(bodies) == 2
    assert "fail" in bodies[1]
    assert "blocker" in result.err


def test_disabling_retries(run_ozzy: RunOzzy, work: Path, http_server: Any) -> None:
    """test_disabling_retries: an endpoint that fails costs one request per notification and the
    export still finishes (a notification never fails an export)."""
    http_server.reset()
    http_server.fail_next(10)
    config = valid_with(
        reader=random_reader(17, 3),
        writer={"name": "FSWriter", "options": {"filebase": "out/r_", "items_limit": 5}},
        exporter_options={"notifications": [webhook(http_server.url + "/hook")], "disable_retries": True},
    )
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert len(http_server.requests("/hook")) == 2
    assert result.stats["items_written"] == 5


# -- exporters' example configs: README, docs, tests/data -------------------------------------------


def test_readme_simplest_config(run_ozzy: RunOzzy, work: Path) -> None:
    """README.rst / docs/exporters.rst "the simplest config file": RandomReader -> ConsoleWriter."""
    config = {
        "reader": {
            "name": "exporters.readers.random_reader.RandomReader",
            "options": {"number_of_items": 1000, "batch_size": 10},
        },
        "writer": {"name": "exporters.writers.console_writer.ConsoleWriter", "options": {}},
    }
    path = write_config(work / "config.json", config)
    assert run_ozzy("validate", path).code == 0
    result = run_ozzy(path)
    assert result.code == 0, result.err
    assert len(result.printed_items) == 1000


def test_tutorial_resume_config(run_ozzy: RunOzzy, work: Path) -> None:
    """docs/tutorials.rst "Resume export tutorial": PicklePersistence with ``file_path`` a file
    name, then ``--resume pickle://job_state.pickle`` (Ozzy: ``ozzy resume pickle:...``)."""
    config = {
        "reader": {"name": "exporters.readers.random_reader.RandomReader", "options": {}},
        "writer": {"name": "exporters.writers.console_writer.ConsoleWriter", "options": {}},
        "persistence": {
            "name": "exporters.persistence.pickle_persistence.PicklePersistence",
            "options": {"file_path": "job_state.pickle"},
        },
    }
    path = write_config(work / "config.json", config)
    assert run_ozzy("validate", path).code == 0
    result = run_ozzy(path)
    assert result.code == 0, result.err
    assert len(result.printed_items) == 1000
    resumed = run_ozzy("resume", result.stats["resume_uri"])
    assert resumed.code == 0, resumed.err
    assert resumed.stats["already_finished"] is True
    assert resumed.printed_items == []


def test_tutorial_kafka_to_s3_config(run_ozzy: RunOzzy, work: Path) -> None:
    """docs/tutorials.rst "Config file" (Kafka -> S3), placeholders filled in. exporters could not
    run it either: KafkaScannerReader had no ``group`` option (ExporterConfig rejected it) and the
    pipeline could not fill ``{:%d-%b-%Y}`` (exporters-inventory.md §4.13). Ozzy names both
    problems with a fix; the corrected config validates (no broker or bucket touched)."""
    config = {
        "exporter_options": exporters_options(),
        "reader": {
            "name": "exporters.readers.kafka_scanner_reader.KafkaScannerReader",
            "options": {"brokers": ["127.0.0.1:9092"], "topic": "your-topic-name", "group": "exporters-test"},
        },
        "filter": {
            "name": "exporters.filters.key_value_regex_filter.KeyValueRegexFilter",
            "options": {"keys": [{"name": "country", "value": "United States"}]},
        },
        "writer": {
            "name": "exporters.writers.s3_writer.S3Writer",
            "options": {
                "bucket": "your-bucket",
                "filebase": "tests/export_tutorial_{:%d-%b-%Y}",
                "aws_access_key_id": "YOUR-ACCESS-KEY",
                "aws_secret_access_key": "YOUR-ACCESS-SECRET",
            },
        },
    }
    path = write_config(work / "config.json", config)
    result = run_ozzy("validate", path)
    assert result.code == 2
    assert "'group' (did you mean 'group_id'?" in result.err
    assert "positional placeholder '{}'" in result.err
    assert "YOUR-ACCESS-SECRET" not in result.out + result.err
    config["reader"]["options"]["group_id"] = config["reader"]["options"].pop("group")
    config["writer"]["options"]["filebase"] = "tests/export_tutorial_%d-%b-%Y"
    result = run_ozzy("validate", write_config(work / "fixed.json", config))
    assert result.code == 0, result.err


def test_exporters_basic_config_json(run_ozzy: RunOzzy, work: Path) -> None:
    """tests/data/basic_config.json (BasicExportManagerTest.test_from_file_configuration): validates
    with warnings for its upper-case keys, ``export_format`` and the S3MailNotifier options it
    carries; its pipeline (RandomReader -> regex filter -> ConsoleWriter) runs without the notifier."""
    shutil.copy(EXPORTERS_DATA / "basic_config.json", work / "basic_config.json")
    result = run_ozzy("validate", "basic_config.json")
    assert result.code == 0, result.err
    config = json.loads((work / "basic_config.json").read_text())
    config["exporter_options"].pop("NOTIFICATIONS")
    config["persistence"]["options"]["file_path"] = "state/"
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.stats["items_read"] == 100
