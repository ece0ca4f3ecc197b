"""What decides a job's output, stored in its state so a resume can refuse a changed config.

A resume re-reads from the watermark and rewrites the files finished after the last commit under
the same names (``commit_protocol``); that is exact only when the modules decide as they did the
first time. ``deciding_config`` is the part of a configuration that decides which items go to
which file in which form: the reader (which input), decompressor and deserializer, filters,
transform, grouper, writer (naming, file size, compression, format options) and formatter, plus
``exporter_options.dead_letter_file``. Left out, because they change no output: secrets (they are
never stored), connection ids (a connection may be renamed or rotated), retry, log, timeout,
thread and batch-size options, and the persistence, stats and notification sections.

Options at their default are left out too, so a new Ozzy version adding an option does not make
a resume of an older job look changed. Values are stored as JSON, without secrets.
"""

from __future__ import annotations

import json
import re
from typing import Any

from airflow_provider_ozzy.core.errors import ConfigurationError

STATE_KEY = "deciding_config"

# (section in the normalized config, kind for ``registry.resolve``), in pipeline order
_SECTIONS = (
    ("reader", "readers"),
    ("decompressor", "decompressors"),
    ("deserializer", "deserializers"),
    ("filter_before", "filters"),
    ("transform", "transform"),
    ("filter_after", "filters"),
    ("grouper", "groupers"),
    ("writer", "writers"),
    ("formatter", "export_formatter"),
)
_EXPORTER_OPTIONS = ("dead_letter_file",)
# options that change how, not what, a module reads or writes
_NOT_DECIDING = frozenset(
    {
        "batch_size",
        "timeout",
        "copy_threads",
        "upload_threads",
        "cache_mb",
        "store_path",
        "spool_dir",
        "insert_batch_size",
        "multipart_chunksize",
        "multipart_threshold",
        "multipart_copy_chunksize",
        "multipart_copy_threshold",
        "no_host_key_check",
        "ssl_configs",
        "aws_region",
        "region_name",
    }
)
_NOT_DECIDING_NAME = re.compile(
    r"conn_id$|retr|^log|passw|passphrase|secret|token|api_?key|access_key|private_key|credential", re.I
)
_URL_PASSWORD = re.compile(r"(//[^/@:\s]*):[^/@\s]*@")


def _plain(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples are lists, keys are text), URLs without passwords."""
    text = json.dumps(value, sort_keys=True, default=str)
    return json.loads(_URL_PASSWORD.sub(r"\1@", text))


def _module(section: Any, kind: str) -> dict[str, Any] | None:
    if not isinstance(section, dict) or not section.get("name"):
        return None
    from airflow_provider_ozzy.core.options import merged_options
    from airflow_provider_ozzy.engine.registry import UnknownModuleError, resolve

    name = str(section["name"])
    try:
        cls = resolve(name, kind)
    except (UnknownModuleError, ImportError):
        return {"module": name, "options": _plain(section.get("options") or {})}
    declared = merged_options(cls)
    options: dict[str, Any] = {}
    for option, value in sorted((section.get("options") or {}).items()):
        spec = declared.get(option, {})
        if spec.get("secret") or option in _NOT_DECIDING or _NOT_DECIDING_NAME.search(option):
            continue
        if "default" in spec and _plain(value) == _plain(spec["default"]):
            continue
        options[option] = _plain(value)
    return {"module": cls.__name__, "options": options}


def deciding_config(configuration: dict[str, Any]) -> dict[str, Any]:
    """The part of ``configuration`` that decides the output (see the module docstring)."""
    from airflow_provider_ozzy.engine.config import normalize
    from airflow_provider_ozzy.engine.secret_options import strip_secrets

    data = normalize(strip_secrets(configuration)[0])
    exporter_options = data.get("exporter_options") or {}
    sections = dict(data, formatter=exporter_options.get("formatter") or {"name": "JsonExportFormatter"})
    found: dict[str, Any] = {}
    for section, kind in _SECTIONS:
        module = _module(sections.get(section), kind)
        if module is not None:
            found[section] = module
    for option in _EXPORTER_OPTIONS:
        if exporter_options.get(option) is not None:
            found.setdefault("exporter_options", {})[option] = _plain(exporter_options[option])
    return found


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def first_change(stored: dict[str, Any], current: dict[str, Any]) -> str | None:
    """A one-line description of the first difference (section, module, option), or ``None``."""
    order = [section for section, _ in _SECTIONS] + ["exporter_options"]
    for section in order + sorted(set(stored) | set(current)):
        before, after = stored.get(section), current.get(section)
        if before == after:
            continue
        if section == "exporter_options":
            for option in sorted(set(before or {}) | set(after or {})):
                old, new = (before or {}).get(option), (after or {}).get(option)
                if old != new:
                    return f"exporter_options: option '{option}' was {_shown(old)}, now {_shown(new)}"
        if before is None or after is None:
            return f"{section}: {'added' if before is None else 'removed'} ({(before or after or {}).get('module')})"
        if before.get("module") != after.get("module"):
            return f"{section}: module was {before.get('module')}, now {after.get('module')}"
        options_before, options_after = before.get("options") or {}, after.get("options") or {}
        for option in sorted(set(options_before) | set(options_after)):
            old, new = options_before.get(option, "(default)"), options_after.get(option, "(default)")
            if old != new:
                return (
                    f"{section} {after.get('module')}: option '{option}' was {_shown(old)}, now {_shown(new)}"
                )
    return None


def check_unchanged(stored: dict[str, Any], configuration: dict[str, Any], job_id: str) -> None:
    """Raise ``ConfigurationError`` (one line) when ``configuration`` decides otherwise than ``stored``."""
    change = first_change(stored, deciding_config(configuration))
    if change is not None:
        raise ConfigurationError(
            f"cannot resume job '{job_id}': its configuration changed since it started ({change}); "
            "a resume must decide as the first run did: resume with the original configuration "
            "(ozzy resume URI), or start a new job id"
        )
