"""Secrets out of stored and shown configurations; the text masking itself is ``core.redaction``.

- ``strip_secrets(configuration)`` is the configuration a job state stores (pickle file, database
  row): secret options removed, every URL option redacted, and the path of each change listed.
  ``ozzy resume`` puts them back from the configuration file the job was started from
  (``restore_secrets``); without it, a secret comes from its option's environment variable
  (``env_fallback``) or from the Airflow connection the module names, as on the first run.
- ``redact_configuration(configuration)`` is the same with ``***`` in place of secret options, for
  notifications.
- ``protect(configuration)`` registers a configuration's secrets with ``mask`` and masks every log.

A secret option is one declared ``"secret": True`` by its module, or whose name says it holds one
(``SECRET_NAME``: modules Ozzy cannot load are covered by that rule).
"""

from __future__ import annotations

import copy
import logging
import os
import re
from typing import Any

from airflow_provider_ozzy.core.redaction import (
    REDACTED,
    install_log_masking,
    redact_url,
    register_secret,
    url_secrets,
)

Path = list[Any]

SECRET_NAME = re.compile(
    r"passw|passphrase|secret|token|api_?key|access_key|private_key|credential", re.IGNORECASE
)

# -- configurations -----------------------------------------------------------------------------------


def _sections(data: dict[str, Any]) -> list[tuple[Path, str, Any]]:
    """(path, section kind, section) of every module section of a configuration."""
    from airflow_provider_ozzy.engine.config import MODULE_SECTIONS

    found: list[tuple[Path, str, Any]] = [
        (["section", name], name, data.get(name)) for name in MODULE_SECTIONS
    ]
    options = data.get("exporter_options")
    if isinstance(options, dict):
        found.append((["exporter_options", "formatter"], "formatter", options.get("formatter")))
        notifiers = options.get("notifications")
        if isinstance(notifiers, list):
            found.extend(
                (["exporter_options", "notifications", index], "notifications", each)
                for index, each in enumerate(notifiers)
            )
    return [(path[1:] if path[0] == "section" else path, kind, section) for path, kind, section in found]


def _declared(section: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    from airflow_provider_ozzy.core.options import merged_options
    from airflow_provider_ozzy.engine.registry import SECTION_KINDS, UnknownModuleError, resolve

    try:
        return merged_options(resolve(str(section.get("name")), SECTION_KINDS.get(kind)))
    except (UnknownModuleError, ImportError):
        return {}


def _redacted(configuration: dict[str, Any], drop: bool) -> tuple[dict[str, Any], list[Path]]:
    """A copy of ``configuration`` with secret options dropped (``drop``) or set to ``***``, every URL
    text redacted (``redact_url``), and the path of every change."""
    data = copy.deepcopy(configuration)
    changed: list[Path] = []

    def secret(container: Any, key: Any, path: Path) -> None:
        if drop:
            del container[key]
        else:
            container[key] = REDACTED
        changed.append(path)

    def walk(container: Any, key: Any, path: Path, declared_secret: bool = False) -> None:
        value = container[key]
        if declared_secret or (isinstance(key, str) and SECRET_NAME.search(key)):
            secret(container, key, path)
        elif isinstance(value, str):
            cleaned = redact_url(value)
            if cleaned != value:
                container[key] = cleaned
                changed.append(path)
        elif isinstance(value, dict):
            for inner in list(value):
                walk(value, inner, [*path, inner])
        elif isinstance(value, list):
            for index in range(len(value)):
                walk(value, index, [*path, index])

    for path, kind, section in _sections(data):
        if not isinstance(section, dict) or not isinstance(section.get("options"), dict):
            continue
        declared = _declared(section, kind)
        options = section["options"]
        for name in list(options):
            walk(options, name, [*path, "options", name], bool(declared.get(name, {}).get("secret")))
    return data, changed


def strip_secrets(configuration: dict[str, Any]) -> tuple[dict[str, Any], list[Path]]:
    """The configuration a job state stores: no secret option, every URL redacted; and the path of
    every option removed or changed (``restore_secrets`` puts them back on resume)."""
    return _redacted(configuration, drop=True)


def redact_configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    """A copy of a job configuration with every secret option ``***`` and every URL redacted."""
    return _redacted(configuration, drop=False)[0]


def secret_values(configuration: dict[str, Any]) -> list[str]:
    """Every secret text of a job configuration: secret options, and the secret parts of URLs."""
    _, paths = _redacted(configuration, drop=True)
    values: list[str] = []
    for path in paths:
        value, found = _get(configuration, path)
        if found:
            values.extend(_secret_strings(value))
    return values


def register_configuration(configuration: dict[str, Any]) -> None:
    """Remember the secret values of a job configuration, so ``mask`` removes them from any text."""
    register_secret(*secret_values(configuration))


def _secret_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        # a URL (a service account's token_uri, say) is secret only in its secret parts: the whole
        # of it masked would hide the place of every later error that names it
        return url_secrets(value) if "://" in value else [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _secret_strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _secret_strings(item)]
    return []


def protect(configuration: dict[str, Any]) -> None:
    """What an export does first: its secrets registered, and every log handler masking."""
    register_configuration(configuration)
    install_log_masking()


def restore_secrets(configuration: dict[str, Any], source: str | None, paths: list[Path]) -> dict[str, Any]:
    """``configuration`` with the values at ``paths`` taken again from the config file ``source``.

    A missing or changed file restores nothing: the options then resolve as on a first run
    (environment variable, connection) or validation names the option that is missing.
    """
    if not paths:
        return configuration
    if not source or not os.path.isfile(source):
        logging.getLogger("airflow_provider_ozzy.secrets").warning(
            "The job state holds %d option(s) without their secrets (%s); the config file it started "
            "from (%s) is gone, so they come from environment variables or connections, or are missing",
            len(paths),
            ", ".join(".".join(str(key) for key in path) for path in paths),
            source or "unknown",
        )
        return configuration
    from airflow_provider_ozzy.core.errors import ConfigurationError
    from airflow_provider_ozzy.engine.config import load_config

    try:
        original = load_config(source).data
    except ConfigurationError:
        return configuration
    data = copy.deepcopy(configuration)
    for path in paths:
        value, found = _get(original, path)
        if found:
            _set(data, path, value)
    return data


def _get(data: Any, path: Path) -> tuple[Any, bool]:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return None, False
    return data, True


def _set(data: Any, path: Path, value: Any) -> None:
    parent, found = _get(data, path[:-1])
    if found and isinstance(parent, dict):
        parent[path[-1]] = value
    elif found and isinstance(parent, list) and isinstance(path[-1], int) and 0 <= path[-1] < len(parent):
        parent[path[-1]] = value
