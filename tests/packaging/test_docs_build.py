"""The documentation site builds with warnings as errors, shows every module, and its how-to DAGs load."""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tests.packaging.conftest import ROOT, run

SPHINX = ROOT / "docs" / "sphinx"

# the site (a module fixture) is built once, on one worker, for every test here
pytestmark = pytest.mark.xdist_group("docs-build")


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),  # autodoc imports Airflow: not the user's home
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``sphinx-build -W`` of ``docs/sphinx`` into a temporary folder (the output is never committed)."""
    tmp = tmp_path_factory.mktemp("docs")
    out = tmp / "html"
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        str(SPHINX),
        str(out),
    ]
    run(command, timeout=600, env=_env(tmp))
    return out


def _anchors(page: Path) -> set[str]:
    return set(re.findall(r'id="([^"]+)"', page.read_text()))


def test_every_catalogued_module_has_its_section_on_its_kinds_page(site: Path) -> None:
    from airflow_provider_ozzy.engine.registry import CATALOGUE

    pages = {page: _anchors(page) for page in (site / "modules").glob("*.html")}
    for kind, classes in CATALOGUE.items():
        holding = [page for page, anchors in pages.items() if set(map(str.lower, classes)) <= anchors]
        assert holding, f"no page of docs/sphinx/modules shows every {kind} module"
    readers = (site / "modules" / "readers.html").read_text()
    assert (
        '<code class="docutils literal notranslate"><span class="pre">bucket</span></code>' in readers
    )  # options table


def test_cli_connections_and_operator_pages_come_from_the_code(site: Path) -> None:
    cli = (site / "cli.html").read_text()
    for command in ("run", "validate", "resume", "modules", "schema"):
        assert f"ozzy {command}" in cli and f"usage: ozzy {command}" in cli, command
    connections = (site / "connections.html").read_text()
    assert "ozzy_kafka" in connections and "ozzy_scrapy_cloud" in connections
    operator = (site / "operator.html").read_text()
    assert 'id="airflow_provider_ozzy.operators.ozzy_export.OzzyExportOperator"' in operator  # autodoc ran
    assert "exporter_options.strict" in operator  # the class docstring, rendered


def test_existing_docs_are_included_not_copied(site: Path) -> None:
    assert "Exactly once: a ledger of files" in (site / "design.html").read_text()
    assert "The check and the manifest" in (site / "scale-out.html").read_text()
    assert not list(SPHINX.glob("**/*.html")), "build output inside the sources"


def test_how_to_dags_import_with_their_tasks(tmp_path: Path) -> None:
    script = (
        "import importlib.util, json, sys\n"
        "found = {}\n"
        "for path in sys.argv[1:]:\n"
        "    spec = importlib.util.spec_from_file_location('howto', path)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "    found[module.dag.dag_id] = sorted(module.dag.task_ids)\n"
        "print(json.dumps(found))\n"
    )
    files = sorted(str(path) for path in (SPHINX / "howto").glob("*.py"))
    done = run([sys.executable, "-c", script, *files], timeout=300, env=_env(tmp_path))
    dags = json.loads(done.stdout.splitlines()[-1])
    assert dags == {
        "ozzy_howto_incremental_s3": ["export_new_orders"],
        "ozzy_howto_kafka_to_s3": ["archive_orders_topic"],
        "ozzy_howto_sql_load": ["load_orders"],
        "ozzy_howto_sharded_export": ["export", "export_check", "export_plan"],
    }
    pages = "".join(path.read_text() for path in (SPHINX / "howto").glob("*.md"))
    for path in files:
        assert f"{{literalinclude}} {Path(path).name}" in pages, f"{path} is shown by no how-to page"


def test_home_page_names_every_extra() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    intro = (SPHINX / "index.md").read_text().split("```{toctree}", 1)[0]
    named = set(re.findall(r"`(\w+)`", intro.split("extras of the services you use", 1)[1].split(":", 1)[0]))
    assert named == set(extras), (
        f"docs/sphinx/index.md names {sorted(named)}, pyproject.toml has {sorted(extras)}"
    )
