"""Loading and validating job configurations (exporters' shape), with every error located.

Validation collects all problems at once, names the section, module and option and, for configs
read from a file, the file and line. It imports the configured modules but never touches the
network, so it can run at DAG parse time.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_ozzy.core.errors import ConfigurationError
from airflow_provider_ozzy.core.extras import missing_requirements
from airflow_provider_ozzy.core.options import ResolvedOptions, merged_options, resolve_options
from airflow_provider_ozzy.core.retries import RETRY_OPTIONS
from airflow_provider_ozzy.engine.registry import (
    SECTION_KINDS,
    STREAM_READER_BASE,
    UnknownModuleError,
    base_class,
    package_class,
    resolve,
)

MODULE_SECTIONS = (
    "reader",
    "writer",
    "filter",
    "filter_before",
    "filter_after",
    "transform",
    "grouper",
    "persistence",
    "stats_manager",
    "decompressor",
    "deserializer",
)
REQUIRED_SECTIONS = ("reader", "writer")
TOP_LEVEL_KEYS = (*MODULE_SECTIONS, "exporter_options")
MODULE_KEYS = ("name", "options")
# Sections whose unknown options exporters ignored: its config check (exporter_config.check_for_errors)
# refused unknown options of the other sections, of the formatter and of notifiers, not of these.
LENIENT_OPTION_SECTIONS = ("grouper", "stats_manager")

log = logging.getLogger("airflow_provider_ozzy.config")

DEFAULT_SECTIONS: dict[str, dict[str, Any]] = {
    "filter_before": {"name": "NoFilter"},
    "filter_after": {"name": "NoFilter"},
    "transform": {"name": "NoTransform"},
    "grouper": {"name": "NoGrouper"},
    "persistence": {"name": "PicklePersistence"},
    "stats_manager": {"name": "BasicStatsManager"},
}

EXPORTER_OPTIONS: dict[str, dict[str, Any]] = {
    "log_level": {"type": str, "default": "INFO", "help": "DEBUG, INFO, WARNING, ERROR or CRITICAL."},
    "logger_name": {"type": str, "default": "export-pipeline", "help": "Accepted for exporters configs."},
    "formatter": {
        "type": dict,
        "default": {"name": "JsonExportFormatter"},
        "help": "Export formatter section.",
    },
    "notifications": {"type": "dict_list", "default": [], "help": "Notifier sections."},
    "resume": {"type": bool, "default": False, "help": "Resume the job named by persistence_state_id."},
    "persistence_state_id": {
        "type": (str, int, type(None)),
        "minimum": 0,
        "maximum": 2**63 - 1,
        "default": None,
        "help": "Job id.",
    },
    "incremental": {
        "type": bool,
        "default": False,
        "help": "Each run of this job id continues after the last finished one: it reads only the inputs "
        "(files, objects, offsets) no earlier run read, and its file numbers go on.",
    },
    "prevent_bypass": {"type": bool, "default": False, "help": "Never move whole objects instead of items."},
    "disable_retries": {
        "type": bool,
        "default": False,
        "help": "Try every operation once (retry_attempts 1), for this export only.",
    },
    **RETRY_OPTIONS,  # retry_attempts, retry_max_seconds: the retry budget of one operation
    "dead_letter_file": {
        "type": (str, type(None)),
        "default": None,
        "help": "Local JSON lines file ('{job_id}' is replaced) for bad records (unreadable, or failing a "
        "filter or transform) instead of failing the export; counted as bad_records in the stats.",
    },
    "max_bad_records": {
        "type": (int, type(None)),
        "minimum": 0,
        "maximum": 2**63 - 1,
        "default": None,
        "help": "With dead_letter_file: the export fails when more records than this are bad (default: no cap).",
    },
    "threaded": {
        "type": bool,
        "default": False,
        "help": "Accepted for exporters configs; Ozzy overlaps work by itself.",
    },
    "thread_queue_size": {
        "type": int,
        "minimum": 1,
        "maximum": 1_000_000,
        "default": 100,
        "help": "Accepted for exporters configs; unused.",
    },
    "forced_reads": {
        "type": bool,
        "default": False,
        "help": "Accepted for exporters configs; batches are lists.",
    },
    "strict": {
        "type": bool,
        "default": False,
        "help": "Refuse what exporters ignored (unknown sections, section keys and exporter options, unknown "
        "grouper and stats manager options, filter_before beside filter) instead of warning: for new "
        "configs, so typos fail (also `ozzy validate --strict`, OzzyExportOperator(strict=True)).",
    },
}

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass
class ExportConfig:
    """A loaded configuration: the mapping, where it came from, and its text, from which the line
    of every key is found when a message needs one."""

    data: dict[str, Any]
    source: str | None = None
    text: str | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)  # what exporters ignored (set by validate)
    job: ResolvedJob | None = None  # each section resolved once (set by validate)

    @functools.cached_property
    def lines(self) -> dict[tuple[Any, ...], int]:
        """The line of every mapping key and sequence entry of ``text`` (``{}`` without one)."""
        if not self.text:
            return {}
        from airflow_provider_ozzy.engine.yaml_config import line_map

        return line_map(self.text)

    def where(self, *path: Any) -> str:
        """``file:line: `` for the deepest known key of ``path`` ('' for dict configs)."""
        if not self.source:
            return ""
        for depth in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:depth]))
            if line:
                return f"{self.source}:{line}: "
        return f"{self.source}: "


@dataclass(frozen=True)
class ResolvedSection:
    """One module section, resolved once: its class and its option values."""

    cls: type
    options: dict[str, Any]

    def build(self) -> Any:
        """The module, built from the resolved values (it does not resolve them again)."""
        return self.cls(ResolvedOptions(copy.deepcopy(self.options)))


@dataclass
class ResolvedJob:
    """A validated config, each section resolved once (``validate``): the exporter builds its
    modules from it and bypass selection reads it, so no option is interpreted twice.

    ``data`` is the normalized config; ``sections`` maps its module sections (``filter_before``
    for exporters' ``filter``) and ``formatter`` to their class and values.
    """

    data: dict[str, Any]
    sections: dict[str, ResolvedSection]
    exporter_options: dict[str, Any]

    def section(self, name: str) -> ResolvedSection | None:
        return self.sections.get(name)


def resolve_section(section: dict[str, Any], kind: str) -> ResolvedSection:
    """One module section (``{"name": ..., "options": ...}``) of ``kind``, resolved."""
    cls = resolve(section["name"], kind)
    values, problems = cls.resolve(section.get("options") or {})  # type: ignore[attr-defined]
    if problems:  # a default section, or one validation did not see: still one clear error
        raise ConfigurationError(errors=[cls.describe(problem) for problem in problems])  # type: ignore[attr-defined]
    return ResolvedSection(cls, values)


def resolve_job(
    config: ExportConfig, checked: dict[tuple[Any, ...], ResolvedSection] | None = None
) -> ResolvedJob:
    """``config`` resolved: the sections ``check`` resolved are taken as they are (``checked``, by
    path), the default ones are resolved here."""
    checked = checked or {}
    data = normalize(config.data)
    options, problems = resolve_options(EXPORTER_OPTIONS, data["exporter_options"])
    if problems:
        raise ConfigurationError(errors=[f"exporter_options: {problem.message}" for problem in problems])
    sections: dict[str, ResolvedSection] = {}
    for section in MODULE_SECTIONS:
        if section == "filter" or data.get(section) is None:
            continue
        written = (
            "filter" if section == "filter_before" and config.data.get("filter") is not None else section
        )
        sections[section] = checked.get((written,)) or resolve_section(data[section], SECTION_KINDS[section])
    sections["formatter"] = checked.get(("exporter_options", "formatter")) or resolve_section(
        options["formatter"], "export_formatter"
    )
    return ResolvedJob(data, sections, options)


def load_config(source: str | os.PathLike[str] | dict[str, Any] | ExportConfig) -> ExportConfig:
    """Read a config from a dict, or a JSON or YAML file."""
    if isinstance(source, ExportConfig):
        return source
    if isinstance(source, dict):
        return ExportConfig(copy.deepcopy(source))
    path = os.fspath(source)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as error:
        raise ConfigurationError(f"cannot read configuration file {path}: {error.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigurationError(
            f"{path}:{line}: configuration files must be UTF-8 (byte 0x{raw[error.start]:02x}: {error.reason})"
        ) from None
    return load_config_text(text, path)


def load_config_text(text: str, path: str) -> ExportConfig:
    """A config from its JSON or YAML text (``path`` names it in messages; ``.json``: JSON), with the
    same limits as a file: duplicate keys refused, alias expansion bounded."""
    data = _parse(text, path)
    if data is None:
        raise ConfigurationError(f"{path}: the configuration file is empty (it needs a reader and a writer)")
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}: a configuration must be a mapping of sections, got {type(data).__name__}"
        )
    return ExportConfig(data, path, text)


def _parse(text: str, path: str) -> Any:
    if path.endswith(".json"):
        try:
            return json.loads(text, object_pairs_hook=_unique_pairs)
        except json.JSONDecodeError as error:
            raise ConfigurationError(
                f"{path}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}"
            ) from None
        except _DuplicateKey as duplicate:
            from airflow_provider_ozzy.engine.yaml_config import json_duplicate_message

            raise ConfigurationError(json_duplicate_message(text, path, duplicate.key)) from None
    from airflow_provider_ozzy.engine.yaml_config import parse_yaml

    return parse_yaml(text, path)


class _DuplicateKey(Exception):
    def __init__(self, key: Any) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """The config with exporters' aliases applied, what exporters ignored removed (see
    ``ignored``) and default sections filled in."""
    data = copy.deepcopy(data)
    _drop_ignored(data)
    if "filter" in data:
        data["filter_before"] = data.pop("filter")
    for section, default in DEFAULT_SECTIONS.items():
        if data.get(section) is None:
            data[section] = copy.deepcopy(default)
    options = data.setdefault("exporter_options", {}) or {}
    data["exporter_options"] = options
    return data


def validate(
    source: str | os.PathLike[str] | dict[str, Any] | ExportConfig, *, strict: bool | None = None
) -> ExportConfig:
    """Load and check a config; raises ``ConfigurationError`` listing every problem.

    What exporters ignored is logged as one warning each (``config.warnings``), or is an error
    when ``strict`` (default: ``exporter_options.strict``).
    """
    config = load_config(source)
    warnings: list[str] = []
    checked: dict[tuple[Any, ...], ResolvedSection] = {}
    errors = check(config, strict=strict, warnings=warnings, resolved=checked)
    if errors:
        raise ConfigurationError(errors=errors)
    config.warnings = warnings
    config.job = resolve_job(config, checked)
    for warning in warnings:
        log.warning("%s", warning)
    return config


def is_strict(config: ExportConfig) -> bool:
    options = config.data.get("exporter_options")
    return isinstance(options, dict) and options.get("strict") is True


def check(
    config: ExportConfig,
    skip_value: Callable[[Any], bool] | None = None,
    *,
    strict: bool | None = None,
    warnings: list[str] | None = None,
    resolved: dict[tuple[Any, ...], ResolvedSection] | None = None,
) -> list[str]:
    """Every problem of ``config``, each naming its place.

    ``skip_value``: option values for which problems are not reported (the operator passes values
    still holding Jinja templates, checked again once rendered). Keys exporters ignored (see
    ``ignored``) are problems when ``strict`` (default: ``exporter_options.strict``), else they go
    to ``warnings``. ``resolved`` receives every section found valid, by path, with its class and
    values (``validate`` builds the ``ResolvedJob`` from them).
    """
    data = config.data
    errors: list[str] = []
    strict = is_strict(config) if strict is None else strict
    for lenient, refused in ignored(config):
        if strict:
            errors.append(refused)
        elif warnings is not None:
            warnings.append(lenient)
    for section in REQUIRED_SECTIONS:
        if data.get(section) is None:
            errors.append(
                f"{config.where(section)}{section}: missing section (a config needs a reader and a writer)"
            )
    classes: dict[str, type] = {}
    for section in MODULE_SECTIONS:
        if data.get(section) is not None:
            found = _check_module(
                config, (section,), SECTION_KINDS[section], data[section], errors, skip_value, resolved
            )
            if found is not None:
                classes[section] = found
    exporter_options = data.get("exporter_options") or {}
    if not isinstance(exporter_options, dict):
        errors.append(f"{config.where('exporter_options')}exporter_options: must be a mapping")
    else:
        _check_exporter_options(config, exporter_options, errors, skip_value, resolved)
    _check_stream_sections(config, classes, errors)
    _check_file_level_formatter(config, classes, errors)
    return errors


def _check_module(
    config: ExportConfig,
    path: tuple[Any, ...],
    kind: str,
    section: Any,
    errors: list[str],
    skip_value: Callable[[Any], bool] | None = None,
    resolved: dict[tuple[Any, ...], ResolvedSection] | None = None,
) -> type | None:
    label = " ".join(str(part) for part in path)
    if not isinstance(section, dict):
        errors.append(
            f"{config.where(*path)}{label}: must be a mapping with 'name' and 'options', got {type(section).__name__}"
        )
        return None
    name = section.get("name")
    if not name:
        errors.append(f"{config.where(*path)}{label}: module name is missing (set 'name')")
        return None
    try:
        found = resolve(name, kind)
    except UnknownModuleError as error:
        errors.append(f"{config.where(*path, 'name')}{label}: {error}")
        return None
    base = base_class(kind)
    if base is not None and not (isinstance(found, type) and issubclass(found, base)):
        errors.append(
            f"{config.where(*path, 'name')}{label}: {name} is not a {kind[:-1] if kind.endswith('s') else kind} module"
        )
        return None
    options = section.get("options") or {}
    required_for = getattr(found, "required_for", None)
    required = required_for(options if isinstance(options, dict) else {}) if required_for else ()
    for sentence in missing_requirements(required):
        errors.append(f"{config.where(*path, 'name')}{label}: {found.__name__} {sentence}")
    if not isinstance(options, dict):
        errors.append(
            f"{config.where(*path, 'options')}{label} ({found.__name__}): 'options' must be a mapping"
        )
        return found
    if path[-1] in LENIENT_OPTION_SECTIONS and len(path) == 1:  # unknown ones: see ignored()
        declared = merged_options(found)
        options = {option: value for option, value in options.items() if option in declared}
    values, problems = found.resolve(options)  # type: ignore[attr-defined]
    if not problems and resolved is not None:
        resolved[path] = ResolvedSection(found, values)
    for problem in problems:
        if skip_value is not None and problem.option and skip_value(options.get(problem.option)):
            continue
        place = config.where(*path, "options", problem.option) if problem.option else config.where(*path)
        errors.append(f"{place}{label} ({found.__name__}): {problem.message}")
    return found


def _check_exporter_options(
    config: ExportConfig,
    options: dict[str, Any],
    errors: list[str],
    skip_value: Callable[[Any], bool] | None = None,
    resolved: dict[tuple[Any, ...], ResolvedSection] | None = None,
) -> None:
    known = {option: value for option, value in options.items() if option in EXPORTER_OPTIONS}
    values, problems = resolve_options(EXPORTER_OPTIONS, known)  # unknown ones: see ignored()
    for problem in problems:
        errors.append(
            f"{config.where('exporter_options', problem.option)}exporter_options: {problem.message}"
        )
    _check_dead_letter_options(config, values, errors)
    level = values.get("log_level")
    if isinstance(level, str) and level.upper() not in LOG_LEVELS:
        errors.append(
            f"{config.where('exporter_options', 'log_level')}exporter_options: option 'log_level' must be one of "
            f"{', '.join(LOG_LEVELS)}, got {level!r}"
        )
    if isinstance(options.get("formatter"), dict):
        _check_module(
            config,
            ("exporter_options", "formatter"),
            "export_formatter",
            options["formatter"],
            errors,
            resolved=resolved,
        )
    notifications = options.get("notifications")
    for index, notifier in enumerate(notifications if isinstance(notifications, list) else []):
        _check_module(
            config,
            ("exporter_options", "notifications", index),
            "notifications",
            notifier,
            errors,
            skip_value,
        )


def ignored(config: ExportConfig) -> list[tuple[str, str]]:
    """What exporters 0.6.18 ignored in ``config``: (warning, strict error) per key.

    exporters read the sections it knew and never looked at anything else: unknown top-level
    sections, keys of a module section besides ``name`` and ``options``, unknown
    ``exporter_options`` (the upper-case ``LOG_LEVEL``, ``FORMATTER`` of its sample configs
    included), and ``filter_before`` when its old name ``filter`` is given too (``filter`` wins).
    Its config check refused unknown module options except the grouper's and the stats
    manager's, which it ignored. Ozzy runs such configs as exporters did, warning about each key.
    """
    data = config.data
    found: list[tuple[str, str]] = []

    def add(path: tuple[Any, ...], subject: str, hint: str = "") -> None:
        where = config.where(*path)
        found.append(
            (
                f"{where}{subject} ignored, as exporters did{hint} (an error with strict)",
                f"{where}{subject}{hint} (exporters ignored it; strict refuses it)",
            )
        )

    for key in data:
        if key not in TOP_LEVEL_KEYS:
            add((key,), f"unknown section '{key}'", _hint(key, TOP_LEVEL_KEYS, "sections"))
    if "filter" in data and "filter_before" in data:
        where = config.where("filter_before")
        text = (
            f"{where}filter_before: ignored: 'filter' (its old name) is given too and wins, as in "
            "exporters; give only one"
        )
        found.append((text, text))
    for section in MODULE_SECTIONS:
        value = data.get(section)
        if not isinstance(value, dict):
            continue
        for key in value:
            if key not in MODULE_KEYS:
                add((section, key), f"{section}: unknown key '{key}'", _hint(key, MODULE_KEYS, "keys"))
        if section in LENIENT_OPTION_SECTIONS:
            cls = _resolved(value.get("name"), SECTION_KINDS[section])
            options = value.get("options")
            if cls is not None and isinstance(options, dict):
                declared = merged_options(cls)
                for option in options:
                    if option not in declared:
                        add(
                            (section, "options", option),
                            f"{section} ({cls.__name__}): unknown option '{option}'",
                            _hint(option, list(declared), "options"),
                        )
    exporter_options = data.get("exporter_options")
    if isinstance(exporter_options, dict):
        notifications = exporter_options.get("notifications")
        nested = [(("exporter_options", "formatter"), exporter_options.get("formatter"))] + [
            (("exporter_options", "notifications", index), notifier)
            for index, notifier in enumerate(notifications if isinstance(notifications, list) else [])
        ]
        for path, value in nested:
            for key in value if isinstance(value, dict) else ():
                if key not in MODULE_KEYS:
                    label = " ".join(str(part) for part in path)
                    add((*path, key), f"{label}: unknown key '{key}'", _hint(key, MODULE_KEYS, "keys"))
        for option in exporter_options:
            if option not in EXPORTER_OPTIONS:
                add(
                    ("exporter_options", option),
                    f"exporter_options: unknown option '{option}'",
                    _hint(option, list(EXPORTER_OPTIONS), "options"),
                )
    return found


def _hint(key: Any, known: Any, what: str) -> str:
    """'; did you mean ...?' for a near miss (case aside), else the known names."""
    text = str(key)
    lowered = {name.lower(): name for name in known}
    if text.lower() in lowered:
        return f"; did you mean '{lowered[text.lower()]}'?"
    close = difflib.get_close_matches(text.lower(), list(lowered), n=1)
    if close:
        return f"; did you mean '{lowered[close[0]]}'?"
    return f" ({what}: {', '.join(sorted(known)) or 'none'})"


def _resolved(name: Any, kind: str) -> type | None:
    try:
        return resolve(name, kind) if isinstance(name, str) and name.strip() else None
    except UnknownModuleError:
        return None
    except Exception:  # a plugin failing as it imports is reported by the section's own check
        return None


def _drop_ignored(data: dict[str, Any]) -> None:
    """Remove in place what ``ignored`` reports, so no module sees it (``filter`` wins later)."""
    for key in [key for key in data if key not in TOP_LEVEL_KEYS]:
        del data[key]
    for section in MODULE_SECTIONS:
        value = data.get(section)
        if not isinstance(value, dict):
            continue
        for key in [key for key in value if key not in MODULE_KEYS]:
            del value[key]
        options = value.get("options")
        if section in LENIENT_OPTION_SECTIONS and isinstance(options, dict):
            cls = _resolved(value.get("name"), SECTION_KINDS[section])
            if cls is not None:
                declared = merged_options(cls)
                value["options"] = {option: each for option, each in options.items() if option in declared}
    exporter_options = data.get("exporter_options")
    if isinstance(exporter_options, dict):
        for key in [key for key in exporter_options if key not in EXPORTER_OPTIONS]:
            del exporter_options[key]


def _check_file_level_formatter(config: ExportConfig, classes: dict[str, type], errors: list[str]) -> None:
    """Whole-file formats (Parquet) compress inside the file: the writer's compression must be none."""
    exporter_options = config.data.get("exporter_options")
    formatter = exporter_options.get("formatter") if isinstance(exporter_options, dict) else None
    writer = classes.get("writer")
    if not isinstance(formatter, dict) or writer is None or not isinstance(formatter.get("name"), str):
        return
    try:
        formatter_class = resolve(formatter["name"], "export_formatter")
    except UnknownModuleError:
        return  # reported with the formatter section
    options = config.data["writer"].get("options") or {}
    compression = options.get("compression", "none") if isinstance(options, dict) else "none"
    if getattr(formatter_class, "file_level", False) and compression != "none":
        errors.append(
            f"{config.where('writer', 'options', 'compression')}writer ({writer.__name__}): option "
            f"'compression' must be 'none' (or left out) with {formatter_class.__name__}, got "
            f"{compression!r}; the format compresses inside the file: set the formatter's own "
            "'compression' option"
        )


def _check_dead_letter_options(config: ExportConfig, values: dict[str, Any], errors: list[str]) -> None:
    cap = values.get("max_bad_records")
    if cap is not None and not values.get("dead_letter_file"):
        where = config.where("exporter_options", "max_bad_records")
        errors.append(
            f"{where}exporter_options: option 'max_bad_records' needs 'dead_letter_file' "
            "(without it, any bad record fails the export)"
        )
    if values.get("dead_letter_file") == "":
        errors.append(
            f"{config.where('exporter_options', 'dead_letter_file')}exporter_options: option "
            "'dead_letter_file' must not be empty"
        )


def _check_stream_sections(config: ExportConfig, classes: dict[str, type], errors: list[str]) -> None:
    reader = classes.get("reader")
    if reader is None or issubclass(reader, package_class(STREAM_READER_BASE)):
        return
    for section in ("decompressor", "deserializer"):
        if config.data.get(section) is not None:
            errors.append(
                f"{config.where(section)}{section}: only stream readers take a {section}; {reader.__name__} is not one"
            )
