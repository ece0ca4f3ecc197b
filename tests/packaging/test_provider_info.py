"""``get_provider_info``: valid for Airflow, and every module and class it names exists."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import airflow
import jsonschema

from airflow_provider_ozzy import get_provider_info


def _resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_provider_info_is_valid_for_airflows_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_named_operators_hooks_and_notifiers_import() -> None:
    info = get_provider_info()
    integrations = {each["integration-name"] for each in info["integrations"]}
    for section in ("operators", "hooks"):
        assert info[section], section
        for entry in info[section]:
            assert entry["integration-name"] in integrations, entry
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for dotted in info["notifications"] + info["extra-links"]:
        _resolve(dotted)


def test_connection_types_are_the_hooks_own() -> None:
    info = get_provider_info()
    hook_modules = {module for entry in info["hooks"] for module in entry["python-modules"]}
    for entry in info["connection-types"]:
        hook = _resolve(entry["hook-class-name"])
        assert hook.conn_type == entry["connection-type"]  # type: ignore[attr-defined]
        assert hook.__module__ in hook_modules, f"{hook.__module__} is not listed under hooks"
