"""``docs/modules.md``, the module reference, generated from the code so it cannot drift from it.

Every catalogued module is imported (a module that fails to import fails the generation: the
reference is never silently incomplete) and described from its docstring and its
``supported_options``. Options a kind's base class declares are listed once per kind; each module
lists the options it adds or changes. Regenerate with ``ozzy modules --markdown > docs/modules.md``
(``tests/unit/test_modules_reference.py`` fails when the committed file is stale).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from typing import Any

REGENERATE = "ozzy modules --markdown > docs/modules.md"

KIND_TITLES: dict[str, str] = {
    "readers": "Readers",
    "writers": "Writers",
    "filters": "Filters",
    "transform": "Transforms",
    "groupers": "Groupers",
    "export_formatter": "Export formatters",
    "persistence": "Persistence",
    "stats_managers": "Stats managers",
    "notifications": "Notifiers",
    "decompressors": "Decompressors",
    "deserializers": "Deserializers",
    "write_buffers": "Write buffers",
    "bypasses": "Bypasses",
}

_COLUMNS = ("Option", "Type", "Default", "Required", "Secret", "Env fallback", "Description")


# the end of a sentence: '.', '!' or '?' before a space or the end, but not the dots of "e.g."/"i.e."
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)[.!?](?=\s|$)")


def summary(cls: type) -> str:
    """The first full sentence of a module's docstring (its first paragraph, lines joined), for
    one-line listings such as ``ozzy modules``: a docstring's first line often stops mid-sentence."""
    paragraph = " ".join(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].split())
    end = _SENTENCE_END.search(paragraph)
    return paragraph[: end.end()] if end else paragraph


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(spec: Mapping[str, Any]) -> str:
    if "default" not in spec:
        return ""
    try:
        shown = json.dumps(spec["default"], sort_keys=True)
    except TypeError:
        shown = repr(spec["default"])
    return f"`{_cell(shown)}`"


def _required(spec: Mapping[str, Any]) -> str:
    if "default" in spec:
        return "no"
    if "env_fallback" in spec:
        return f"yes, unless `{spec['env_fallback']}` is set"
    return "yes"


def option_rows(options: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A Markdown table of option declarations (header included); empty for no options."""
    from airflow_provider_ozzy.core.options import type_name

    if not options:
        return []
    rows = [f"| {' | '.join(_COLUMNS)} |", f"|{'---|' * len(_COLUMNS)}"]
    for name, spec in options.items():
        env = f"`{spec['env_fallback']}`" if spec.get("env_fallback") else ""
        kind = type_name(spec.get("type", object))
        if spec.get("choices"):
            kind += ": " + ", ".join(f"`{each}`" for each in spec["choices"])
        if "minimum" in spec and "maximum" in spec:
            kind += f", {spec['minimum']} to {spec['maximum']}"
        elif "minimum" in spec:
            kind += f", at least {spec['minimum']}"
        cells = (
            f"`{name}`",
            _cell(kind),
            _default(spec),
            _required(spec),
            "yes" if spec.get("secret") else "",
            env,
            _cell(str(spec.get("help", ""))),
        )
        rows.append(f"| {' | '.join(cells)} |")
    return rows


def _own_options(cls: type, common: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Options of ``cls`` other than those it inherits unchanged from the kind's base class."""
    from airflow_provider_ozzy.core.options import merged_options

    return {name: spec for name, spec in merged_options(cls).items() if common.get(name) != spec}


def _module_section(
    kind: str, class_name: str, cls: type, common: Mapping[str, Mapping[str, Any]], level: int
) -> list[str]:
    from airflow_provider_ozzy.engine.registry import ALIASES, CATALOGUE, PACKAGE

    lines = [f"{'#' * level} {class_name}", ""]
    path = f"{PACKAGE}.{kind}.{CATALOGUE[kind][class_name]}.{class_name}"
    old = sorted(alias for alias, new in ALIASES.items() if new == class_name)
    also = (
        f"; exporters name{'s' if len(old) > 1 else ''}: {', '.join(f'`{each}`' for each in old)}"
        if old
        else ""
    )
    lines += [f"`{class_name}` (`{path}`{also})", ""]
    doc = inspect.cleandoc(cls.__doc__ or "").strip()
    if doc:
        lines += [doc, ""]
    own = _own_options(cls, common)
    if own:
        lines += option_rows(own) + [""]
    elif common:
        lines += ["No options besides the common ones.", ""]
    else:
        lines += ["No options.", ""]
    return lines


def exporter_options_lines() -> list[str]:
    """The options table of a config's ``exporter_options`` section."""
    from airflow_provider_ozzy.engine.config import EXPORTER_OPTIONS

    return ["The `exporter_options` section of a config:", ""] + option_rows(EXPORTER_OPTIONS) + [""]


def kind_sections(level: int = 2) -> dict[str, list[str]]:
    """Each kind's reference (title at heading ``level``, its modules one level below), in
    catalogue order with modules sorted by name: ``docs/modules.md`` and the Sphinx site's pages."""
    from airflow_provider_ozzy.core.options import merged_options
    from airflow_provider_ozzy.engine.registry import all_modules, base_class

    by_kind: dict[str, list[tuple[str, type]]] = {}
    for kind, class_name, cls in all_modules():
        by_kind.setdefault(kind, []).append((class_name, cls))
    sections = {}
    for kind, modules in by_kind.items():
        lines = [f"{'#' * level} {KIND_TITLES.get(kind, kind)}", ""]
        base = base_class(kind)
        common = merged_options(base) if base is not None else {}
        if common:
            lines += [f"Options every module of this kind takes ({base.__name__}):", ""]  # type: ignore[union-attr]
            lines += option_rows(common) + [""]
        for class_name, cls in sorted(modules, key=lambda each: each[0].lower()):
            lines += _module_section(kind, class_name, cls, common, level + 1)
        sections[kind] = lines
    return sections


def render_markdown() -> str:
    """The whole reference, grouped by kind in catalogue order, modules sorted by name."""
    sections = kind_sections()
    lines = [
        "# Module reference",
        "",
        f"Generated from the code by `{REGENERATE}`; do not edit by hand.",
        "Every option has its type, its default (none: required), whether it is a secret (its value is",
        "never printed) and the environment variable read when the config does not give it.",
        "",
    ]
    lines.append("- [Exporter options](#exporter-options)")
    lines += [
        f"- [{KIND_TITLES.get(kind, kind)}](#{_anchor(KIND_TITLES.get(kind, kind))})" for kind in sections
    ]
    lines += ["", "## Exporter options", ""] + exporter_options_lines()
    for each in sections.values():
        lines += each
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(title: str) -> str:
    return title.lower().replace(" ", "-")


if __name__ == "__main__":
    print(render_markdown(), end="")
