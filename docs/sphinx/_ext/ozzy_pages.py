"""Pages generated from the code at build time, so the site cannot drift from it.

A page holds a marker line ``<!-- ozzy:generate WHAT [ARGUMENT] -->``; before the page is parsed,
the marker is replaced by Markdown made from the code: a module kind's reference (the same
generator as ``docs/modules.md``, ``airflow_provider_ozzy.engine.docs_gen``), the exporter options,
the connection types the hooks declare, or the ``ozzy`` command's help. A catalogue kind that no
page shows is a warning, and the docs build runs with warnings as errors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

log = logging.getLogger(__name__)

MARKER = re.compile(r"^<!-- ozzy:generate (?P<what>[\w-]+)(?: (?P<argument>[\w-]+))? -->$", re.MULTILINE)


def _module_kind(kind: str | None) -> list[str]:
    from airflow_provider_ozzy.engine.docs_gen import kind_sections

    sections = kind_sections(level=1)
    if kind not in sections:
        raise ValueError(f"no module kind {kind!r} (kinds: {', '.join(sections)})")
    return sections[kind]


def _exporter_options(_: str | None) -> list[str]:
    from airflow_provider_ozzy.engine.docs_gen import exporter_options_lines

    return exporter_options_lines()


def _connection_types(_: str | None) -> list[str]:
    from airflow_provider_ozzy.hooks.connection_forms import connection_types

    lines: list[str] = []
    for each in connection_types():
        behaviour = each["ui-field-behaviour"]
        relabeled = behaviour.get("relabeling", {})
        lines += [
            f"## {each['hook-name']}",
            "",
            f"Connection type `{each['connection-type']}`, served by `{each['hook-class-name']}`.",
            "",
            "| Field | Shown as | Description |",
            "|---|---|---|",
        ]
        for field in ("host", "port", "login", "password", "schema", "extra"):
            if field in behaviour.get("hidden-fields", []):
                continue
            hint = behaviour.get("placeholders", {}).get(field, "")
            lines.append(f"| `{field}` | {relabeled.get(field, field)} | {_cell(hint)} |")
        for name, spec in each["conn-fields"].items():
            lines.append(f"| extra `{name}` | {spec['label']} | {_cell(spec.get('description', ''))} |")
        lines.append("")
    return lines


def _cli(_: str | None) -> list[str]:
    from airflow_provider_ozzy.cli import _parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: the page must not depend on it
    try:
        parser = _parser()
        commands = next(a.choices for a in parser._actions if isinstance(a.choices, dict))
        lines = ["```text", parser.format_help().rstrip(), "```", ""]
        for name, command in commands.items():
            lines += [f"## ozzy {name}", "", "```text", command.format_help().rstrip(), "```", ""]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return lines


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


GENERATORS: dict[str, Callable[[str | None], list[str]]] = {
    "module-kind": _module_kind,
    "exporter-options": _exporter_options,
    "connection-types": _connection_types,
    "cli": _cli,
}


def _generate(app: Sphinx, docname: str, source: list[str]) -> None:
    def replace(match: re.Match[str]) -> str:
        what, argument = match.group("what"), match.group("argument")
        if what not in GENERATORS:
            raise ValueError(f"{docname}: unknown generated content {what!r}")
        if what == "module-kind":
            app.env.ozzy_kinds_shown.add(argument)  # type: ignore[attr-defined]
        return "\n".join(GENERATORS[what](argument))

    if MARKER.search(source[0]):
        app.env.ozzy_generated_docs.add(docname)  # type: ignore[attr-defined]
        source[0] = MARKER.sub(replace, source[0])


def _every_kind_shown(app: Sphinx, env: Any) -> None:
    from airflow_provider_ozzy.engine.registry import CATALOGUE

    for kind in sorted(set(CATALOGUE) - env.ozzy_kinds_shown):
        log.warning("module kind %r is on no page (add <!-- ozzy:generate module-kind %s -->)", kind, kind)


def _generated_docs_are_outdated(app: Sphinx, env: Any, *_: Any) -> list[str]:
    """Pages made from the code are read again at every build (the code may have changed), so the
    kinds they show are counted afresh."""
    env.ozzy_kinds_shown = set()
    if not hasattr(env, "ozzy_generated_docs"):
        env.ozzy_generated_docs = set()
    return sorted(env.ozzy_generated_docs & set(env.found_docs))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-get-outdated", _generated_docs_are_outdated)
    app.connect("source-read", _generate)
    app.connect("env-check-consistency", _every_kind_shown)
    return {"version": "1", "parallel_read_safe": False}
