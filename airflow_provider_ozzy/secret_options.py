"""Job configurations as persistence stores them: without secret option values.

A job state (a pickle file, a database row) outlives the export and is read by whoever can read
the state folder, so it never holds a password, key or token: ``strip_secrets`` removes every
option declared ``"secret": True`` and every option (or nested key) whose name says it holds one
(the rule of ``notifications.base_notifier.redact_configuration``), and lists where each was.
``ozzy resume`` puts them back from the configuration file the job was started from
(``restore_secrets``); without it, a secret comes from its option's environment variable
(``env_fallback``) or from the Airflow connection the module names, as on the first run.
"""

from __future__ import annotations

import copy
import os
import urllib.parse
from typing import Any

Path = list[Any]


def _sections(data: dict[str, Any]) -> list[tuple[Path, str, Any]]:
    """(path, section kind, section) of every module section of a configuration."""
    from airflow_provider_ozzy.config import MODULE_SECTIONS

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
    from airflow_provider_ozzy.options import merged_options
    from airflow_provider_ozzy.registry import SECTION_KINDS, UnknownModuleError, resolve

    try:
        return merged_options(resolve(str(section.get("name")), SECTION_KINDS.get(kind)))
    except (UnknownModuleError, ImportError):
        return {}


def strip_secrets(configuration: dict[str, Any]) -> tuple[dict[str, Any], list[Path]]:
    """A copy of ``configuration`` without secret option values, and the path of each removed one."""
    from airflow_provider_ozzy.notifications.base_notifier import _SECRET_NAME

    data = copy.deepcopy(configuration)
    removed: list[Path] = []

    def strip_nested(value: Any, path: Path) -> None:
        """Secret-named keys go; URL texts lose their password and secret query values."""
        if isinstance(value, dict):
            for key in list(value):
                if _SECRET_NAME.search(str(key)):
                    del value[key]
                    removed.append([*path, key])
                elif isinstance(value[key], str):
                    value[key] = clean_url(value[key], [*path, key], removed)
                else:
                    strip_nested(value[key], [*path, key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    value[index] = clean_url(item, [*path, index], removed)
                else:
                    strip_nested(item, [*path, index])

    for path, kind, section in _sections(data):
        if not isinstance(section, dict) or not isinstance(section.get("options"), dict):
            continue
        declared = _declared(section, kind)
        options = section["options"]
        for name in list(options):
            if declared.get(name, {}).get("secret") or _SECRET_NAME.search(str(name)):
                del options[name]
                removed.append([*path, "options", name])
            elif isinstance(options[name], str):
                options[name] = clean_url(options[name], [*path, "options", name], removed)
            else:
                strip_nested(options[name], [*path, "options", name])
    return data, removed


def clean_url(text: str, path: Path, removed: list[Path]) -> str:
    """``text`` without the password of a URL (``scheme://user:PASSWORD@host``) and without the
    values of secret-named query parameters (``?token=...``); records ``path`` when it changed."""
    from airflow_provider_ozzy.notifications.base_notifier import _SECRET_NAME

    if "://" not in text:
        return text
    try:
        parts = urllib.parse.urlsplit(text)
        password = parts.password
    except ValueError:
        return text
    netloc = parts.netloc
    if password is not None:
        netloc = netloc.rsplit("@", 1)[1]
        if parts.username is not None:
            netloc = f"{parts.username}@{netloc}"
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = urllib.parse.urlencode(
            [(key, "" if _SECRET_NAME.search(key) else value) for key, value in pairs]
        )
    cleaned = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    if netloc == parts.netloc and query == parts.query:
        return text
    removed.append(path)
    return cleaned


def restore_secrets(configuration: dict[str, Any], source: str | None, paths: list[Path]) -> dict[str, Any]:
    """``configuration`` with the values at ``paths`` taken again from the config file ``source``.

    A missing or changed file restores nothing: the options then resolve as on a first run
    (environment variable, connection) or validation names the option that is missing.
    """
    if not paths or not source or not os.path.isfile(source):
        return configuration
    from airflow_provider_ozzy.config import load_config
    from airflow_provider_ozzy.errors import ConfigurationError

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
