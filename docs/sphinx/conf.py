"""Sphinx configuration of Ozzy's documentation site.

Build it with ``sphinx-build -W docs/sphinx docs/_build/html`` (``tests/test_docs_build.py`` does,
warnings as errors). Pages are Markdown (MyST); the existing ``docs/*.md`` files are included, not
copied; the module reference and the CLI page are generated from the code (``_ext/ozzy_pages.py``).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE / "_ext")]

import airflow_provider_ozzy  # noqa: E402  (after the checkout is on the path)

_project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

project = "Ozzy"
author = "Ozzy developers"
copyright = "2026, Ozzy developers"
release = version = airflow_provider_ozzy.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "ozzy_pages",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "howto/*.py"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # the included docs/*.md link to their own headings (#the-commit-protocol)

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": False}

html_theme = "furo"
html_title = f"Ozzy {release}"
html_theme_options = {
    "source_repository": _project["urls"]["Source"] + "/",
    "source_branch": "main",
    "source_directory": "docs/sphinx/",
}
html_static_path: list[str] = []
