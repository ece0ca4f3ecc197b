"""JSON Schema of job configurations, generated from every module's ``supported_options``."""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_ozzy.core.options import is_mandatory, merged_options, option_schema
from airflow_provider_ozzy.engine.config import EXPORTER_OPTIONS, MODULE_SECTIONS, REQUIRED_SECTIONS
from airflow_provider_ozzy.engine.docs_gen import summary
from airflow_provider_ozzy.engine.registry import ALIASES, CATALOGUE, PACKAGE, SECTION_KINDS, all_modules


def module_names(kind: str, class_name: str) -> list[str]:
    """Every name a config may use for a module."""
    module_file = CATALOGUE[kind][class_name]
    names = [
        class_name,
        f"ozzy.{kind}.{module_file}.{class_name}",
        f"{PACKAGE}.{kind}.{module_file}.{class_name}",
        f"exporters.{kind}.{module_file}.{class_name}",
        f"exporters.{kind}.{class_name}",  # exporters' package re-exports, e.g. exporters.writers.FSWriter
    ]
    names += [old for old, new in ALIASES.items() if new == class_name]
    return names


def name_pattern(kind: str, class_name: str) -> str:
    """Every name ``registry.resolve`` accepts: legacy prefixes take any package path before the class."""
    aliases = [old for old, new in ALIASES.items() if new == class_name]
    classes = "|".join(re.escape(each) for each in [class_name, *aliases])
    package = re.escape(f"{PACKAGE}.{kind}.")
    return rf"^(?:(?:exporters|ozzy)\.(?:\w+\.)*|{package}(?:\w+\.)+)?(?:{classes})$"


def _module_schema(kind: str, class_name: str, cls: type) -> dict[str, Any]:
    declared = merged_options(cls)
    required = sorted(name for name, spec in declared.items() if is_mandatory(spec))
    options: dict[str, Any] = {
        # 'options:' left empty in YAML is null, which the config loader reads as no options
        "type": "object" if required else ["object", "null"],
        "properties": {name: option_schema(spec) for name, spec in declared.items()},
        "additionalProperties": False,
    }
    if required:
        options["required"] = required
    name = {"anyOf": [{"enum": module_names(kind, class_name)}, {"pattern": name_pattern(kind, class_name)}]}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"name": name, "options": options},
        "required": ["name", *(["options"] if required else [])],
        "additionalProperties": False,
    }
    if cls.__doc__:
        schema["description"] = summary(cls)  # a whole sentence, as `ozzy modules` shows it
    return schema


def config_schema() -> dict[str, Any]:
    """The whole schema; third-party modules (dotted paths) are allowed by a permissive branch."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for kind, class_name, cls in all_modules():
        by_kind.setdefault(kind, []).append(_module_schema(kind, class_name, cls))
    third_party = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": rf"^(?!ozzy\.|exporters\.|{PACKAGE}\.)[\w.]+\.\w+$"},
            "options": {"type": ["object", "null"]},
        },
        "required": ["name"],
    }
    definitions = {kind: {"anyOf": [*schemas, third_party]} for kind, schemas in by_kind.items()}
    properties: dict[str, Any] = {
        section: {"$ref": f"#/$defs/{SECTION_KINDS[section]}"}
        if section in REQUIRED_SECTIONS
        else {"anyOf": [{"$ref": f"#/$defs/{SECTION_KINDS[section]}"}, {"type": "null"}]}  # null: default
        for section in MODULE_SECTIONS
    }
    exporter_options = {name: option_schema(spec) for name, spec in EXPORTER_OPTIONS.items()}
    exporter_options["formatter"] = {"$ref": "#/$defs/export_formatter"}
    exporter_options["notifications"] = {"type": "array", "items": {"$ref": "#/$defs/notifications"}}
    definitions.setdefault("notifications", {"anyOf": [third_party]})
    properties["exporter_options"] = {
        "type": ["object", "null"],
        "properties": exporter_options,
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Ozzy export configuration",
        "type": "object",
        "properties": properties,
        "required": list(REQUIRED_SECTIONS),
        "additionalProperties": False,
        "not": {
            "type": "object",
            "required": ["filter", "filter_before"],
        },  # filter: old name of filter_before
        "$defs": definitions,
    }
