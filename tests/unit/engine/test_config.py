"""Config loading and validation (every error at once, located), and the ``ozzy schema`` JSON Schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from airflow_provider_ozzy.engine.config import check, load_config, normalize, validate
from airflow_provider_ozzy.engine.schema import config_schema
from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import exporters_options, run_ozzy, write_config

# A config with eight problems in six places; the line of each is known.
BAD_YAML = """\
reader:
  name: FSReader
  options:
    input: in.jl
    bogus: 1
writer:
  name: FSWriter
  options:
    items_per_buffer_write: "ten"
grouper:
  name: NoSuchGrouper
exporter_options:
  log_level: LOUD
  formatter:
    name: CSVExportFormatter
    options:
      delimiter: ";;"
extra_section: {}
"""

# (line in BAD_YAML, start of the message after "file:line: ")
BAD_YAML_ERRORS = [
    (18, "unknown section 'extra_section'"),
    (5, "reader (FSReader): unknown option 'bogus'"),
    (8, "writer (FSWriter): missing mandatory option 'filebase'"),
    (9, "writer (FSWriter): option 'items_per_buffer_write' must be an integer, got string 'ten'"),
    (11, "grouper: unknown groupers module 'NoSuchGrouper'"),
    (
        13,
        "exporter_options: option 'log_level' must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'",
    ),
    (16, "exporter_options formatter (CSVExportFormatter): CSV needs the columns"),
    (
        17,
        "exporter_options formatter (CSVExportFormatter): option 'delimiter' must be one character, got ';;'",
    ),
]


def _assert_located(errors: list[str], source: str, expected: list[tuple[int, str]]) -> None:
    assert len(errors) == len(expected), "\n".join(errors)
    for line, start in expected:
        prefix = f"{source}:{line}: {start}"
        assert any(error.startswith(prefix) for error in errors), (
            f"no error starts with {prefix!r}:\n" + "\n".join(errors)
        )


def test_yaml_errors_all_at_once_with_file_and_line(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(BAD_YAML)
    with pytest.raises(ConfigurationError) as raised:
        validate(path, strict=True)  # the unknown section exporters ignored is an error with strict
    _assert_located(raised.value.errors, str(path), BAD_YAML_ERRORS)
    assert str(raised.value).startswith("invalid configuration: 8 errors\n  - ")


def _line_of(text: str, fragment: str) -> int:
    lines = [number for number, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(lines) == 1, fragment
    return lines[0]


def test_json_errors_all_at_once_with_file_and_line(tmp_path):
    import yaml

    data = yaml.safe_load(BAD_YAML)
    path = write_config(tmp_path / "job.json", data)
    text = path.read_text()
    assert text.startswith("{\n")  # one key per line, so lines are meaningful
    expected = [
        (_line_of(text, '"extra_section"'), "unknown section 'extra_section'"),
        (_line_of(text, '"bogus"'), "reader (FSReader): unknown option 'bogus'"),
        (_line_of(text, '"items_per_buffer_write"'), "writer (FSWriter): option 'items_per_buffer_write'"),
        (_line_of(text, '"NoSuchGrouper"'), "grouper: unknown groupers module 'NoSuchGrouper'"),
        (_line_of(text, '"log_level"'), "exporter_options: option 'log_level' must be one of"),
        (
            _line_of(text, '"delimiter"'),
            "exporter_options formatter (CSVExportFormatter): option 'delimiter'",
        ),
    ]
    # the missing option and the formatter check point at the 'options' mapping that lacks them
    options_lines = [number for number, line in enumerate(text.splitlines(), 1) if '"options"' in line]
    expected.append((options_lines[1], "writer (FSWriter): missing mandatory option 'filebase'"))
    expected.append(
        (options_lines[2], "exporter_options formatter (CSVExportFormatter): CSV needs the columns")
    )
    with pytest.raises(ConfigurationError) as raised:
        validate(str(path), strict=True)
    _assert_located(raised.value.errors, str(path), expected)


def test_dict_config_errors_name_section_module_and_option():
    import yaml

    errors = check(load_config(yaml.safe_load(BAD_YAML)), strict=True)
    assert len(errors) == 8
    for _, start in BAD_YAML_ERRORS:  # the same messages, without a file:line prefix
        assert any(error.startswith(start) for error in errors), start


def test_missing_sections(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("exporter_options:\n  log_level: INFO\n")
    with pytest.raises(ConfigurationError) as raised:
        validate(path)
    assert raised.value.errors == [
        f"{path}: reader: missing section (a config needs a reader and a writer)",
        f"{path}: writer: missing section (a config needs a reader and a writer)",
    ]


def test_section_shapes(tmp_path):
    config = {
        "reader": "FSReader",
        "writer": {"options": {}},
        "transform": {"name": "NoTransform", "option": {}},
        "grouper": {"name": "FileKeyGrouper", "options": ["keys"]},
        "exporter_options": "DEBUG",
    }
    errors = check(load_config(config), strict=True)
    assert errors == [
        "transform: unknown key 'option'; did you mean 'options'? (exporters ignored it; strict refuses it)",
        "reader: must be a mapping with 'name' and 'options', got str",
        "writer: module name is missing (set 'name')",
        "grouper (FileKeyGrouper): 'options' must be a mapping",
        "exporter_options: must be a mapping",
    ]


def test_filter_and_filter_before_together():
    """exporters used 'filter' and ignored 'filter_before' (its tests' canonical config has both)."""
    config = {
        "reader": {"name": "RandomReader"},
        "writer": {"name": "ConsoleWriter"},
        "filter": {"name": "NoFilter"},
        "filter_before": {"name": "KeyValueFilter", "options": {"keys": [{"name": "a", "value": 1}]}},
    }
    message = "filter_before: ignored: 'filter' (its old name) is given too and wins, as in exporters; give only one"
    warnings: list[str] = []
    assert check(load_config(config), warnings=warnings) == []
    assert warnings == [message]
    assert check(load_config(config), strict=True) == [message]
    assert normalize(config)["filter_before"] == {"name": "NoFilter"}


def test_filter_is_an_alias_of_filter_before():
    config = {
        "reader": {"name": "RandomReader"},
        "writer": {"name": "ConsoleWriter"},
        "filter": {"name": "NoFilter"},
    }
    data = normalize(config)
    assert "filter" not in data and data["filter_before"] == {"name": "NoFilter"}
    assert data["transform"] == {"name": "NoTransform"} and data["grouper"] == {"name": "NoGrouper"}


def test_stream_sections_need_a_stream_reader():
    config = {
        "reader": {"name": "RandomReader"},
        "writer": {"name": "ConsoleWriter"},
        "decompressor": {"name": "GzipDecompressor"},
        "deserializer": {"name": "CSVDeserializer"},
    }
    assert check(load_config(config)) == [
        "decompressor: only stream readers take a decompressor; RandomReader is not one",
        "deserializer: only stream readers take a deserializer; RandomReader is not one",
    ]
    config["reader"] = {"name": "FSReader", "options": {"input": "x.csv"}}
    assert check(load_config(config)) == []


def test_module_of_the_wrong_kind_in_a_section():
    config = {
        "reader": {"name": "airflow_provider_ozzy.writers.fs_writer.FSWriter", "options": {"filebase": "x"}},
        "writer": {"name": "ConsoleWriter"},
    }
    assert check(load_config(config)) == [
        "reader: airflow_provider_ozzy.writers.fs_writer.FSWriter is not a reader module"
    ]


def test_invalid_config_moves_no_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 5}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/x_", "compression": "rar"}},
    }
    with pytest.raises(
        ConfigurationError, match="option 'compression' must be one of gz, bz2, zip, zstd, none"
    ):
        BasicExporter(config)
    assert list(tmp_path.iterdir()) == []  # no output, no job state


@pytest.mark.parametrize(
    ("name", "text", "located"),
    [
        ("bad.json", '{\n  "reader": {"name": "FSReader",}\n}\n', ":2:"),
        ("bad.yaml", "reader:\n  name: FSReader\n    options: x\n", ":3:"),
    ],
)
def test_unparseable_files_are_located(tmp_path, name, text, located):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigurationError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}{located}")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot read configuration file .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_cli_validate(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_YAML)
    result = run_ozzy("validate", "--strict", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    for line, start in BAD_YAML_ERRORS:
        assert f"{bad}:{line}: {start}" in result.stderr
    good = write_config(tmp_path / "good.yaml", EXAMPLES[0][0])
    result = run_ozzy("validate", str(good), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{good}: valid (FSReader -> FSWriter)"


# -- the JSON Schema ---------------------------------------------------------------------------------------


def _fs(writer: dict[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    return {
        "reader": {
            "name": "FSReader",
            "options": {"input": {"dir": "in", "pattern": "\\.gz$"}, "batch_size": 2},
        },
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_", **(writer or {})}},
        **sections,
    }


def _formatter(name: str, **options: Any) -> dict[str, Any]:
    return {"exporter_options": {"formatter": {"name": name, "options": options}}}


LEGACY = {
    "reader": {"name": "exporters.readers.fs_reader.FSReader", "options": {"input": {"dir": "input"}}},
    "decompressor": {"name": "exporters.decompressors.ZLibDecompressor", "options": {}},
    "deserializer": {"name": "exporters.deserializers.JsonLinesDeserializer", "options": {}},
    "filter": {"name": "exporters.filters.no_filter.NoFilter", "options": {}},
    "grouper": {
        "name": "exporters.groupers.file_key_grouper.FileKeyGrouper",
        "options": {"keys": ["country"]},
    },
    "writer": {"name": "exporters.writers.FSWriter", "options": {"filebase": "output/{groups[0]}/file"}},
    "persistence": {
        "name": "exporters.persistence.pickle_persistence.PicklePersistence",
        "options": {"file_path": "/tmp/"},
    },
    "exporter_options": exporters_options(),
}

# (config, valid) pairs: the configs of the round-trip tests and their typical mistakes
EXAMPLES: list[tuple[dict[str, Any], bool]] = [
    (_fs(), True),
    (_fs({"compression": "zstd", "items_per_buffer_write": 3, "size_per_buffer_write": 30}), True),
    (_fs({"items_limit": 5, "check_consistency": True, "generate_md5": True, "start_file_count": 7}), True),
    (_fs({"compression_level": 9}), True),
    (_fs({"compression_level": None}), True),
    (_fs(**_formatter("JsonExportFormatter", jsonlines=False, pretty_print=True)), True),
    (
        _fs(**_formatter("CSVExportFormatter", fields=["id", "city.name"], show_titles=False, delimiter=";")),
        True,
    ),
    (_fs(**_formatter("CSVExportFormatter", schema={"properties": {"id": {}}})), True),
    (
        _fs(
            **_formatter(
                "XMLExportFormatter", attr_type=False, fields_order=["id"], item_name="r", root_name="rs"
            )
        ),
        True,
    ),
    (
        _fs(
            {"filebase": "out/{groups[0]}/{groups[1]}/file"},
            grouper={"name": "FileKeyGrouper", "options": {"keys": ["country", "city.name"]}},
        ),
        True,
    ),
    (
        _fs({"write_buffer": "ReservoirSamplingWriteBuffer", "write_buffer_options": {"sample_size": 10}}),
        True,
    ),
    (
        _fs(
            deserializer={"name": "CSVDeserializer", "options": {"delimiter": ";"}},
            decompressor={"name": "NoDecompressor"},
        ),
        True,
    ),
    (
        {
            "reader": {"name": "RandomReader", "options": {"number_of_items": 7, "batch_size": 3}},
            "writer": {"name": "ConsoleWriter"},
            "persistence": {"name": "PicklePersistence", "options": {"file_path": ".state"}},
            "stats_manager": {"name": "LoggingStatsManager"},
        },
        True,
    ),
    (LEGACY, True),
    (
        {
            "reader": {"name": "ozzy.readers.random_reader.RandomReader"},
            "writer": {"name": "airflow_provider_ozzy.writers.console_writer.ConsoleWriter"},
            "filter_before": {"name": "some_plugin.filters.MyFilter", "options": {"anything": 1}},
        },
        True,
    ),
    # invalid ones
    ({"reader": {"name": "RandomReader"}}, False),  # no writer
    (_fs({"bogus": 1}), False),
    (_fs({"items_per_buffer_write": "ten"}), False),
    (_fs({"compression_level": "high"}), False),
    (_fs(**_formatter("JsonExportFormatter", jsonlines="yes")), False),
    (_fs(**_formatter("CSVExportFormatter", fields=["a", 1])), False),
    (_fs(grouper={"name": "FileKeyGrouper"}), False),  # keys is mandatory
    (_fs(grouper={"name": "NoSuchGrouper"}), False),
    (_fs(label="exporters ignored unknown sections"), False),
    (
        {
            "reader": {"name": "RandomReader"},
            "writer": {
                "name": "airflow_provider_ozzy.writers.fs_writer.FSWriter",
                "options": {"filebase": "x", "bad": 1},
            },
        },
        False,
    ),
    ({**_fs(), "exporter_options": {"resume": "yes"}}, False),
]


@pytest.fixture(scope="module")
def cli_schema(tmp_path_factory) -> dict[str, Any]:
    result = run_ozzy("schema", cwd=tmp_path_factory.mktemp("schema"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_schema_command_prints_a_valid_json_schema(cli_schema):
    jsonschema.Draft202012Validator.check_schema(cli_schema)
    assert cli_schema == json.loads(json.dumps(config_schema()))
    assert cli_schema["required"] == ["reader", "writer"]
    assert {"reader", "writer", "filter", "filter_before", "exporter_options"} <= set(
        cli_schema["properties"]
    )
    fs_writer = next(
        each
        for each in cli_schema["$defs"]["writers"]["anyOf"]
        if "FSWriter" in each.get("properties", {}).get("name", {}).get("anyOf", [{}])[0].get("enum", [])
    )
    assert fs_writer["properties"]["options"]["required"] == ["filebase"]
    assert fs_writer["properties"]["options"]["properties"]["compression"] == {
        "type": "string",
        "description": "gz, bz2, zip, zstd or none.",
        "enum": ["gz", "bz2", "zip", "zstd", "none"],
        "default": "gz",
    }


@pytest.mark.parametrize(
    ("config", "valid"),
    EXAMPLES,
    ids=[f"{'valid' if v else 'invalid'}-{i}" for i, (_, v) in enumerate(EXAMPLES)],
)
def test_schema_and_validator_agree_on_examples(cli_schema, config, valid):
    validator = jsonschema.Draft202012Validator(cli_schema)
    schema_errors = list(validator.iter_errors(config))
    assert (schema_errors == []) is valid, [error.message for error in schema_errors]
    if "some_plugin" in json.dumps(config):
        return  # the schema allows any third-party module; the validator imports it
    # the schema describes strict configs: what exporters ignored is not in it
    assert (check(load_config(config), strict=True) == []) is valid
