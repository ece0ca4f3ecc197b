"""Configs that ran under exporters 0.6.18 run under Ozzy (issue 18): what exporters ignored is a
warning naming it (an error with ``strict``), ``filter`` wins over ``filter_before``, a missing
input folder reads nothing, and every module path of exporters' documentation resolves."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.engine.config import check, load_config, normalize, validate
from airflow_provider_ozzy.engine.registry import ALIASES, kind_of, resolve
from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import output_files, read_json_lines, run_ozzy, write_config, write_json_lines_gz

# exporters' tests/data/basic_config.json (its file_path made a temporary folder)
BASIC_CONFIG: dict[str, Any] = {
    "exporter_options": {
        "LOG_LEVEL": "DEBUG",
        "LOGGER_NAME": "export-pipeline",
        "RESUME": False,
        "JOB_ID": "",
        "FORMATTER": {
            "name": "exporters.export_formatter.json_export_formatter.JsonExportFormatter",
            "options": {},
        },
        "NOTIFICATIONS": [
            {
                "name": "exporters.notifications.s3_mail_notifier.S3MailNotifier",
                "options": {"team_mails": ["a@example.com"], "aws_login": "AKIA", "aws_key": "hunter2-key"},
            }
        ],
    },
    "reader": {
        "name": "exporters.readers.random_reader.RandomReader",
        "options": {"number_of_items": 100, "batch_size": 10},
    },
    "filter": {
        "name": "exporters.filters.key_value_regex_filter.KeyValueRegexFilter",
        "options": {"keys": [{"name": "country_code", "value": "es"}, {"name": "state", "value": "val"}]},
    },
    "transform": {"name": "exporters.transform.no_transform.NoTransform", "options": {}},
    "writer": {
        "name": "exporters.writers.console_writer.ConsoleWriter",
        "options": {},
        "export_format": "csv",
    },
    "persistence": {
        "name": "exporters.persistence.pickle_persistence.PicklePersistence",
        "options": {"file_path": "state/"},
    },
}

IGNORED_KEYS = ["LOG_LEVEL", "LOGGER_NAME", "RESUME", "JOB_ID", "FORMATTER", "NOTIFICATIONS", "export_format"]


def _warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " WARNING " in line and "ignored" in line]


def test_exporters_basic_config_runs_with_a_warning_per_ignored_key(tmp_path: Path) -> None:
    write_config(tmp_path / "basic_config.json", BASIC_CONFIG)
    result = run_ozzy("run", "basic_config.json", "--quiet", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    warnings = _warnings_of(result.stderr)
    assert len(warnings) == 7, result.stderr
    for key in IGNORED_KEYS:
        assert any(f"'{key}'" in line for line in warnings), (key, warnings)
    for key, meant in [
        ("LOG_LEVEL", "log_level"),
        ("LOGGER_NAME", "logger_name"),
        ("RESUME", "resume"),
        ("FORMATTER", "formatter"),
        ("NOTIFICATIONS", "notifications"),
    ]:
        assert any(f"'{key}'" in line and f"did you mean '{meant}'" in line for line in warnings), key
    assert "hunter2-key" not in result.stderr + result.stdout  # an ignored section is not printed
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    # FORMATTER was ignored, as in exporters: the default JSON lines formatter wrote the items
    assert stats["finished"] and stats["items_read"] == 100
    assert 0 < stats["items_written"] < 100  # the legacy 'filter' section ran


def test_validate_strict_refuses_every_key_exporters_ignored(tmp_path: Path) -> None:
    write_config(tmp_path / "basic_config.json", BASIC_CONFIG)
    lenient = run_ozzy("validate", "basic_config.json", cwd=tmp_path, timeout=60)
    assert lenient.returncode == 0, lenient.stderr
    assert "7 ignored keys" in lenient.stdout
    strict = run_ozzy("validate", "--strict", "basic_config.json", cwd=tmp_path, timeout=60)
    assert strict.returncode == 2, strict.stderr
    assert "invalid configuration: 7 errors" in strict.stderr
    for key in IGNORED_KEYS:
        assert f"'{key}'" in strict.stderr, key
    assert "basic_config.json:3: exporter_options: unknown option 'LOG_LEVEL'" in strict.stderr


def test_exporter_options_strict_makes_ignored_keys_errors() -> None:
    config = dict(BASIC_CONFIG, exporter_options=dict(BASIC_CONFIG["exporter_options"], strict=True))
    assert len(check(load_config(config))) == 7
    lenient: list[str] = []
    assert check(load_config(BASIC_CONFIG), warnings=lenient) == []
    assert len(lenient) == 7
    assert len(check(load_config(BASIC_CONFIG), strict=True)) == 7


# -- what exporters ignored, and what it refused ----------------------------------------------------------


def _minimal(**sections: Any) -> dict[str, Any]:
    return {"reader": {"name": "RandomReader"}, "writer": {"name": "ConsoleWriter"}, **sections}


@pytest.mark.parametrize(
    ("config", "place", "hint"),
    [
        (_minimal(writter={"name": "FSWriter"}), "unknown section 'writter'", "did you mean 'writer'?"),
        (
            _minimal(transform={"name": "NoTransform", "option": {}}),
            "transform: unknown key 'option'",
            "did you mean 'options'?",
        ),
        (
            _minimal(grouper={"name": "FileKeyGrouper", "options": {"keys": ["a"], "key": "b"}}),
            "grouper (FileKeyGrouper): unknown option 'key'",
            "did you mean 'keys'?",
        ),
        (
            _minimal(stats_manager={"name": "BasicStatsManager", "options": {"x": 1}}),
            "stats_manager (BasicStatsManager): unknown option 'x'",
            "",
        ),
        (
            _minimal(exporter_options={"Resume": False}),
            "exporter_options: unknown option 'Resume'",
            "'resume'",
        ),
    ],
)
def test_what_exporters_ignored_is_a_warning_or_a_strict_error(
    config: dict[str, Any], place: str, hint: str
) -> None:
    warnings: list[str] = []
    assert check(load_config(config), warnings=warnings) == []
    assert len(warnings) == 1 and warnings[0].startswith(place) and hint in warnings[0], warnings
    errors = check(load_config(config), strict=True)
    assert len(errors) == 1 and errors[0].startswith(place) and hint in errors[0], errors


@pytest.mark.parametrize(
    ("section", "name"),
    [
        ("reader", "RandomReader"),
        ("writer", "ConsoleWriter"),
        ("filter", "NoFilter"),
        ("filter_after", "NoFilter"),
        ("transform", "NoTransform"),
        ("persistence", "PicklePersistence"),
    ],
)
def test_unknown_options_exporters_refused_stay_errors(section: str, name: str) -> None:
    config = _minimal(**{section: {"name": name, "options": {"bogus": 1}}})
    errors = check(load_config(config), warnings=[])
    assert len(errors) == 1 and "unknown option 'bogus'" in errors[0], errors


def test_ignored_keys_do_not_reach_the_modules(tmp_path: Path) -> None:
    config = _minimal(
        grouper={"name": "NoGrouper", "options": {"bogus": 1}, "extra": 2},
        stats_manager={"name": "BasicStatsManager", "options": {"bogus": 1}},
        exporter_options={"LOG_LEVEL": "DEBUG"},
        x_common={"a": 1},
    )
    data = normalize(config)
    assert data["grouper"] == {"name": "NoGrouper", "options": {}}
    assert data["stats_manager"] == {"name": "BasicStatsManager", "options": {}}
    assert "LOG_LEVEL" not in data["exporter_options"] and "x_common" not in data
    config["persistence"] = {"name": "PicklePersistence", "options": {"file_path": str(tmp_path)}}
    config["reader"] = {"name": "RandomReader", "options": {"number_of_items": 5}}
    stats = BasicExporter(config).export()
    assert stats["items_written"] == 5


# -- filter and filter_before --------------------------------------------------------------------------------


def test_filter_wins_over_filter_before_as_in_exporters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_json_lines_gz(
        tmp_path / "in" / "a.jl.gz", [{"id": n, "country": "es" if n % 2 else "fr"} for n in range(10)]
    )
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "in")}}},
        "filter": {"name": "KeyValueFilter", "options": {"keys": [{"name": "country", "value": "es"}]}},
        "filter_before": {
            "name": "KeyValueFilter",
            "options": {"keys": [{"name": "country", "value": "fr"}]},
        },
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "items_")}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
    }
    with caplog.at_level(logging.WARNING):
        stats = BasicExporter(config).export()
    assert stats["items_written"] == 5
    [name] = output_files(tmp_path / "out")
    assert {item["country"] for item in read_json_lines(tmp_path / "out" / name)} == {"es"}
    assert "filter_before: ignored" in caplog.text and "'filter'" in caplog.text
    with pytest.raises(ConfigurationError, match="filter_before: ignored"):
        validate(config, strict=True)


# -- a missing input folder -----------------------------------------------------------------------------------


def _fs_job(tmp_path: Path, entry: Any) -> dict[str, Any]:
    return {
        "reader": {"name": "FSReader", "options": {"input": entry}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_"}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
    }


def test_a_missing_input_folder_reads_nothing_with_a_warning(tmp_path: Path) -> None:
    write_config(tmp_path / "job.json", _fs_job(tmp_path, {"dir": "inbox/today", "pattern": r"\.jl$"}))
    result = run_ozzy("run", "job.json", "--quiet", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert stats["finished"] and stats["items_read"] == 0
    assert "input directory 'inbox/today' does not exist: nothing to read there" in result.stderr


def test_a_missing_pointed_folder_reads_nothing(tmp_path: Path) -> None:
    (tmp_path / "pointer").write_text(str(tmp_path / "gone") + "\n")
    stats = BasicExporter(
        {
            **_fs_job(tmp_path, {"dir_pointer": str(tmp_path / "pointer")}),
            "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "items_")}},
            "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
        }
    ).export()
    assert stats["finished"] and stats["items_read"] == 0


def test_a_missing_input_file_still_fails(tmp_path: Path) -> None:
    write_config(tmp_path / "job.json", _fs_job(tmp_path, "inbox/a.jl"))
    result = run_ozzy("run", "job.json", "--quiet", cwd=tmp_path, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "inbox/a.jl does not exist" in result.stderr


# -- module paths of exporters' documentation ---------------------------------------------------------------

# every ``automodule`` of exporters' docs/modules.rst (typos included), with the classes it documents
DOCUMENTED_MODULES: dict[str, list[str]] = {
    "export_managers.basic_exporter": ["BasicExporter"],
    "bypasses.s3_to_s3_bypass": ["S3Bypass"],
    "bypasses.s3_to_azure_blob_bypass": ["S3AzureBlobBypass"],
    "bypasses.s3_to_azure_file_bypass": ["S3AzureFileBypass"],
    "bypasses.stream_bypass": ["StreamBypass"],
    "readers.base_reader": ["BaseReader"],
    "readers.base_stream_reader": ["StreamBasedReader"],
    "readers.random_reader": ["RandomReader"],
    "readers.fs_reader": ["FSReader"],
    "readers.kafka_scanner_reader": ["KafkaScannerReader"],
    "readers.kafka_random_reader": ["KafkaRandomReader"],
    "readers.s3_reader": ["S3Reader"],
    "readers.hubstorage_reader": ["HubstorageReader"],
    "writers.base_writer": ["BaseWriter"],
    "writers.console_writer": ["ConsoleWriter"],
    "writers.s3_writer": ["S3Writer"],
    "writers.ftp_writer": ["FTPWriter"],
    "writers.sftp_writer": ["SFTPWriter"],
    "writers.fs_writer": ["FSWriter"],
    "writers.mail_writer": ["MailWriter"],
    "writers.aggregation_writer": ["AggregationStatsWriter"],
    "writers.cloudsearch_writer": ["CloudSearchWriter"],
    "writers.gdrive_writer": ["GDriveWriter"],
    "writers.gstorage_writer": ["GStorageWriter"],
    "writers.hs_reduce_writer": ["HubstorageReduceWriter"],
    "writers.reduce_writer": ["ReduceWriter"],
    "writers.odo_writer": ["ODOWriter"],
    "writers.hubstorage_writer": ["HubstorageWriter"],
    "transform.base_transform": ["BaseTransform"],
    "transform.no_transform": ["NoTransform"],
    "transform.jq_transform": ["JQTransform"],
    "transform.pythonexp_transform": ["PythonexpTransform"],
    "transform.pythonmap": ["PythonMapTransform"],
    "transform.flatson_transform": ["FlatsonTransform"],
    "filters.base_filter": ["BaseFilter"],
    "filters.no_filter": ["NoFilter"],
    "filters.key_value_filter": ["KeyValueFilter"],
    "filters.key_value_regex_filter": ["KeyValueRegexFilter"],
    "filters.pythonexp_filter": ["PythonexpFilter"],
    "persistence.base_persistence": ["BasePersistence"],
    "persistence.pickle_persistence": ["PicklePersistence"],
    "persistence.alchemy_persistence": [
        "BaseAlchemyPersistence",
        "MysqlPersistence",
        "PostgresqlPersistence",
        "SqlitePersistence",
    ],
    "notifications.base_notifier": ["BaseNotifier"],
    "notifications.s3_mail_notifier": ["S3MailNotifier"],
    "notifications.webhook_notifier": ["WebhookNotifier"],
    "groupers.base_grouper": ["BaseGrouper"],
    "groupers.file_key_grouper": ["FileKeyGrouper", "KeyFileGrouper"],
    "groupers.no_grouper": ["NoGrouper"],
    "groupers.python_exp_grouper": ["PythonExpGrouper"],
    "stats_managers.base_stats_managers": ["BaseStatsManager"],
    "stats_managers.basic_stats_manager": ["BasicStatsManager"],
    "stats_managers.logging_stats_manager": ["LoggingStatsManager"],
    "export_formatters.base_export_formatter": ["BaseExportFormatter"],
    "export_formatter.json_export_formatter": ["JsonExportFormatter"],
    "export_formatter.csv_export_formatter": ["CSVExportFormatter"],
    "export_formatter.xml_export_formatter": ["XMLExportFormatter"],
    "decompressors": ["BaseDecompressor", "ZLibDecompressor", "NoDecompressor"],
    "deserializers": ["BaseDeserializer", "JsonLinesDeserializer", "CSVDeserializer"],
}


@pytest.mark.parametrize("path", sorted(DOCUMENTED_MODULES))
def test_every_module_path_of_exporters_documentation_resolves(path: str) -> None:
    main = resolve(f"ozzy.{path}")
    assert resolve(f"exporters.{path}") is main
    assert main.__module__.startswith("airflow_provider_ozzy.")
    for class_name in DOCUMENTED_MODULES[path]:
        for prefix in ("ozzy", "exporters"):
            found = resolve(f"{prefix}.{path}.{class_name}")
            assert isinstance(found, type) and found.__module__.startswith("airflow_provider_ozzy."), (
                class_name
            )
        if kind_of(ALIASES.get(class_name, class_name)):  # a pipeline module: its short name too
            assert resolve(class_name) is resolve(f"ozzy.{path}.{class_name}")
    first = resolve(f"ozzy.{path}.{DOCUMENTED_MODULES[path][0]}")
    assert main is first or issubclass(main, first) or issubclass(first, main)


def test_a_path_that_is_not_a_module_is_still_unknown() -> None:
    from airflow_provider_ozzy.engine.registry import UnknownModuleError

    with pytest.raises(UnknownModuleError):
        resolve("ozzy.readers.no_such_reader")
    with pytest.raises(UnknownModuleError):
        resolve("ozzy.readers.base_reader.NoSuchClass")


def test_operator_strict_fails_the_dag_import_on_what_exporters_ignored() -> None:
    from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

    sections = {
        "reader": {"name": "RandomReader"},
        "writer": {"name": "ConsoleWriter"},
        "exporter_options": {"LOG_LEVEL": "DEBUG"},
    }
    OzzyExportOperator(task_id="lenient", **sections)  # a warning in the task log when it runs
    with pytest.raises(ConfigurationError, match="task strict: exporter_options: unknown option 'LOG_LEVEL'"):
        OzzyExportOperator(task_id="strict", strict=True, **sections)
