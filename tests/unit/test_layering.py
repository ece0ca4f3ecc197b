"""The layers of the package (docs/design.md, "Layers"), held against every import in the code.

Each file belongs to a layer by its folder; a layer may import only the layers listed for it, with
imports inside functions counted too (a lazy import is still a dependency). Airflow may be imported
at module level only by the Airflow face; everything else imports it inside the function that needs
a connection, so the engine and the ``ozzy`` command line start without it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_ozzy"

KINDS = (
    "decompressors",
    "deserializers",
    "export_formatter",
    "filters",
    "transform",
    "groupers",
    "write_buffers",
    "stats_managers",
    "readers",
    "writers",
    "notifications",
    "persistence",
    "bypasses",
)
GROUND = {"core", "engine", "services", "expressions"}

# layer -> the layers it may import (besides itself)
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "errors": {"core"},  # the public name of core/errors.py
    "engine": {"core"},  # module kinds only by name, through the registry
    "services": {"core"},
    "expressions": {"core"},
    "hooks": {"core", "services"},
    "__init__": {"hooks"},  # get_provider_info: the hooks' form declarations
    # module kinds: the ground, and the kinds a module is built from
    "decompressors": {"core"},
    "deserializers": {"core"},
    "export_formatter": {"core"},
    "stats_managers": {"core"},
    "filters": {"core", "expressions"},
    "transform": {"core", "expressions"},
    "groupers": {"core", "expressions"},
    "write_buffers": {"core", "decompressors", "export_formatter", "groupers"},
    "readers": GROUND | {"decompressors", "deserializers"},
    "notifications": GROUND | {"__init__"},  # __version__ in the webhook's User-Agent
    "persistence": GROUND,
    "writers": GROUND | {"export_formatter", "groupers", "write_buffers"},
    "bypasses": GROUND | {"readers", "writers", "export_formatter", "write_buffers"},
    # what runs the modules
    "export_managers": GROUND | set(KINDS),
    "cli": GROUND | set(KINDS) | {"export_managers", "errors"},
    # the shard check lists and puts its manifest through the shards' writer (a FinishedFile)
    "sharding": GROUND | {"readers", "write_buffers"},
    "operators": GROUND | set(KINDS) | {"export_managers", "sharding"},
    "plugins": {"core", "persistence"},  # the UI page reads what the operator stores
}

# files that may import Airflow at module level: the Airflow face
AIRFLOW_AT_IMPORT = {
    "hooks/kafka_hook.py",
    "hooks/scrapy_cloud_hook.py",
    "notifications/airflow_notifiers.py",
    "operators/links.py",
    "operators/ozzy_export.py",
    "operators/sharded_export.py",
    "operators/triggers.py",  # a trigger is an Airflow BaseTrigger
    "plugins/exports_api.py",
    "plugins/ozzy_plugin.py",
}


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if len(relative.parts) == 1:
        return relative.stem
    return relative.parts[0]


def _layer_of_module(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "airflow_provider_ozzy":
        return None
    if len(parts) == 1:
        return "__init__"
    return parts[1] if parts[1] != "__version__" else "__init__"


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "airflow_provider_ozzy":
                found += [(node.lineno, f"airflow_provider_ozzy.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_file_has_a_layer() -> None:
    unknown = {_layer(path) for path in SOURCES} - set(MAY_IMPORT)
    assert not unknown, f"folders without a layer in MAY_IMPORT: {sorted(unknown)}"


def test_no_import_reaches_a_layer_it_may_not() -> None:
    wrong = []
    for path in SOURCES:
        layer = _layer(path)
        for line, module in _imports(ast.parse(path.read_text())):
            target = _layer_of_module(module)
            if target is None or target == layer:
                continue
            if target not in MAY_IMPORT[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)}:{line}: {layer} imports {module} ({target})")
    assert not wrong, "imports across the layers:\n" + "\n".join(wrong)


def test_the_layers_form_no_circle() -> None:
    """MAY_IMPORT itself is a partial order: no layer reaches itself through others."""

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for step in MAY_IMPORT[start]:
            if step == goal or (step not in seen and reaches(step, goal, seen | {step})):
                return True
        return False

    assert [layer for layer in MAY_IMPORT if reaches(layer, layer, set())] == []


def test_only_the_airflow_face_imports_airflow_at_module_level() -> None:
    found = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        body = [n for node in tree.body for n in (node.body if isinstance(node, ast.If) else [node])]
        for node in body:
            module = (
                node.module
                if isinstance(node, ast.ImportFrom)
                else node.names[0].name
                if isinstance(node, ast.Import)
                else None
            )
            if module and module.split(".")[0] == "airflow":
                found.add(path.relative_to(PACKAGE).as_posix())
    assert found <= AIRFLOW_AT_IMPORT, (
        f"Airflow imported at module level by {sorted(found - AIRFLOW_AT_IMPORT)}"
    )


@pytest.mark.parametrize(
    "modules",
    [
        ["airflow_provider_ozzy.cli", "airflow_provider_ozzy.export_managers.basic_exporter"],
        ["airflow_provider_ozzy.engine.config", "airflow_provider_ozzy.engine.registry"],
    ],
)
def test_the_engine_runs_without_importing_airflow(modules: list[str]) -> None:
    """Checked in a fresh interpreter: the registry resolves the catalogue's local modules, the
    provider info is built, and Airflow is still not imported."""
    code = (
        "import sys, importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "from airflow_provider_ozzy import get_provider_info\n"
        "assert get_provider_info()['connection-types']\n"
        "from airflow_provider_ozzy.engine.registry import resolve\n"
        "for name in ('FSReader', 'FSWriter', 'S3Writer', 'KafkaScannerReader', 'JqTransform'):\n"
        "    resolve(name)\n"
        "loaded = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
