"""The JSON Schema of ``ozzy schema`` against real configs: what Ozzy accepts, it accepts too.

Valid configs (``docs/examples/``, the example DAGs' ``dags/configs/``, ``demo/``) must pass both
``ozzy validate`` and the schema; the examples together use every kind of module. The broken
corpus (``tests/corpus/configs``) must fail the schema wherever a schema can tell: unknown names,
options and sections, wrong types, missing sections and mandatory options, out-of-range values.
The rest need Ozzy's own checks (regular expressions, placeholders, cross-section rules) and are
listed in ``SEMANTIC_ONLY``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from airflow_provider_ozzy.engine.config import validate
from airflow_provider_ozzy.engine.registry import CATALOGUE, SECTION_KINDS, resolve
from airflow_provider_ozzy.engine.schema import config_schema

ROOT = Path(__file__).parents[3]
CORPUS = ROOT / "tests" / "corpus" / "configs"
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.y*ml")) + sorted(
    (ROOT / "docs" / "examples").glob("*.json")
)
VALID = [*EXAMPLES, ROOT / "dags" / "configs" / "local_export.yaml", ROOT / "demo" / "config.yaml"]

# broken configs a JSON Schema cannot see: Ozzy's own checks reject them
SEMANTIC_ONLY = {
    "bad_input_pattern.yaml",  # an invalid regular expression
    "csv_deserializer_bad_options.yaml",  # an unknown encoding, a two-character delimiter
    "csv_formatter_without_fields.yaml",  # CSV needs fields or schema
    "decompressor_with_random_reader.yaml",  # a decompressor only goes with stream readers
    "filebase_file_number_in_directory.yaml",
    "filebase_positional.json",
    "filebase_unknown_placeholder.yaml",
}
UNPARSEABLE = {"json_syntax_error.json", "yaml_syntax_error.yaml", "not_utf8.yaml"}
NOT_CONFIGS = {"expected.yaml"}  # what ozzy validate must say about each broken config


def _load(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    """The schema ``ozzy schema`` prints (tests/unit/test_config.py checks the command prints this)."""
    schema = json.loads(json.dumps(config_schema()))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
        for e in validator.iter_errors(data)
    ]


@pytest.mark.parametrize("path", VALID, ids=[str(p.relative_to(ROOT)) for p in VALID])
def test_valid_configs_pass_ozzy_validate_and_the_schema(
    path: Path, validator: jsonschema.Draft202012Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(path.parent)
    validate(str(path))
    assert _errors(validator, _load(path)) == []


def test_there_is_an_example_for_every_kind_of_module() -> None:
    used: set[str] = set()

    def note(section: Any, kind: str) -> None:
        if isinstance(section, dict) and section.get("name"):
            used.add(kind)
            buffer = (section.get("options") or {}).get("write_buffer")
            if kind == "writers" and buffer:
                used.add("write_buffers")

    for path in EXAMPLES:
        data = _load(path)
        for section, kind in SECTION_KINDS.items():
            note(data.get(section), kind)
        options = data.get("exporter_options") or {}
        note(options.get("formatter"), "export_formatter")
        for notifier in options.get("notifications") or []:
            note(notifier, "notifications")
    expected = set(CATALOGUE) - {"bypasses"}  # bypasses are chosen by Ozzy, never configured
    assert expected - used == set(), f"no example in docs/examples uses a module of kind {expected - used}"


def test_every_reader_and_writer_has_an_example() -> None:
    names = set()
    for path in EXAMPLES:
        data = _load(path)
        for section, kind in (("reader", "readers"), ("writer", "writers")):
            names.add(resolve(data[section]["name"], kind).__name__)
    missing = (set(CATALOGUE["readers"]) | set(CATALOGUE["writers"])) - names
    assert not missing, f"add an example config to docs/examples for {sorted(missing)}"


def _broken() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.name not in NOT_CONFIGS | UNPARSEABLE)


@pytest.mark.parametrize("path", _broken(), ids=[p.name for p in _broken()])
def test_broken_corpus_configs(path: Path, validator: jsonschema.Draft202012Validator) -> None:
    errors = _errors(validator, _load(path))
    if path.name in SEMANTIC_ONLY:
        assert errors == [], f"{path.name} now fails the schema: move it out of SEMANTIC_ONLY"
    else:
        assert errors, f"{path.name} passes the schema; make the schema catch it or list it in SEMANTIC_ONLY"


def test_legacy_module_paths_pass_the_schema(validator: jsonschema.Draft202012Validator) -> None:
    """Every spelling registry.resolve accepts: exporters' own module paths and aliases included."""
    config = {
        "reader": {"name": "exporters.readers.fs_reader.FSReader", "options": {"input": "in.jl"}},
        "filter_before": {
            "name": "exporters.filters.key_value_regex_filter.KeyValueRegexFilter",
            "options": {"keys": [{"name": "a", "value": "b"}]},
        },
        "transform": {"name": "exporters.transform.jq_transform.JQTransform", "options": {"jq_filter": "."}},
        "grouper": None,
        "writer": {"name": "ozzy.writers.FSWriter", "options": {"filebase": "out/x_"}},
        "stats_manager": {
            "name": "airflow_provider_ozzy.stats_managers.basic_stats_manager.BasicStatsManager"
        },
        "persistence": {"name": "PicklePersistence", "options": None},
        "exporter_options": None,
    }
    validate(config)
    assert _errors(validator, config) == []
    config["writer"]["name"] = "exporters.writers.fs_writer.FSWritter"
    assert _errors(validator, config)


def test_schema_rejects_what_validation_rejects(validator: jsonschema.Draft202012Validator) -> None:
    base = {"reader": {"name": "RandomReader"}, "writer": {"name": "ConsoleWriter"}}
    assert _errors(validator, base) == []
    for broken in (
        {**base, "writer": {"name": "ConsoleWriter", "options": {"compression": "rar"}}},
        {**base, "writer": {"name": "ConsoleWriter", "options": {"items_limit": -5}}},
        {**base, "filter": {"name": "NoFilter"}, "filter_before": {"name": "NoFilter"}},
        {**base, "reader": None},
        {**base, "writer": {"name": "FSWriter", "options": None}},  # filebase is mandatory
    ):
        assert _errors(validator, broken), broken
