"""Every code block of README.md and docs/ runs, or says why not.

A fenced block runs according to its language: ``python`` DAG snippets are parsed the way the
dag-processor parses DAG files (``DagBag``, in a child process on a throw-away AIRFLOW_HOME), other
Python is executed; a ``yaml``/``json`` export config is validated with ``ozzy validate`` and run
with ``ozzy run`` on generated input when its reader is local; ``sh`` blocks run in a temporary
folder with ``ozzy`` as the command of this checkout. A block that cannot run says why on the line
before it: ``<!-- not run: reason -->``; those are counted, and the ``ozzy`` subcommands they name
must exist. Indented code blocks would escape all this, so there are none.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import OZZY, run_ozzy

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NOT_RUN = re.compile(r"^<!-- not run: (?P<reason>.+?) -->$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<language>[\w+-]*)")
LIST_ITEM = re.compile(r"^(\s*[-*+]\s|\s*\d+[.)]\s|\s)")
CONFIG_LANGUAGES = {"yaml", "yml", "json"}
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    not_run: str | None  # the reason given, for a block that does not run

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _blocks(page: Path) -> list[Block]:
    lines = page.read_text().splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(
            (at for at in range(index + 1, len(lines)) if lines[at].startswith(opening.group("fence"))),
            None,
        )
        assert end is not None, f"{page.name}:{index + 1}: the code block is never closed"
        marker = NOT_RUN.match(lines[index - 1].strip()) if index else None
        if lines[index][len(opening.group("fence")) :].lstrip().startswith("{"):
            index = end + 1  # a MyST directive of the Sphinx site ({include}, ...): built by test_docs_build
            continue
        blocks.append(
            Block(
                page,
                index + 1,
                opening.group("language").lower(),
                "\n".join(lines[index + 1 : end]) + "\n",
                marker.group("reason").strip() if marker else None,
            )
        )
        index = end + 1
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in _blocks(page)]
RUN = [block for block in ALL_BLOCKS if block.not_run is None]


def _is_dag(block: Block) -> bool:
    return block.language == "python" and "DAG(" in block.text


def _of(languages: set[str]) -> list[Any]:
    """The blocks that run, of these languages, as test parameters (DAG snippets have their test)."""
    return [
        pytest.param(block, id=block.name)
        for block in RUN
        if block.language in languages and not _is_dag(block)
    ]


def test_every_code_block_runs_or_says_why_not() -> None:
    known = {"python", *CONFIG_LANGUAGES, *SHELL_LANGUAGES}
    assert RUN, "no code block runs"
    for block in RUN:
        assert block.language in known, (
            f"{block.name}: a {block.language or 'plain'} block runs nowhere; give it a language this "
            "test runs (python, yaml, json, sh) or mark it <!-- not run: reason -->"
        )
    not_run = [block for block in ALL_BLOCKS if block.not_run is not None]
    for block in not_run:
        assert len(block.not_run or "") >= 5, f"{block.name}: say why it does not run"
    # a page's reader sees the count in the test log (-rA), the rest run
    print(f"{len(RUN)} code blocks run, {len(not_run)} not run: " + ", ".join(b.name for b in not_run))


def test_no_page_has_an_indented_code_block() -> None:
    """Markdown shows a paragraph indented by four spaces as code: it would run nowhere."""
    for page in PAGES:
        lines = page.read_text().splitlines()
        fenced = False
        previous = ""  # the last non-blank line outside fences
        for number, line in enumerate(lines, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if fenced or not line.strip():
                continue
            blank_before = number > 1 and not lines[number - 2].strip()
            if blank_before and line.startswith("    ") and not LIST_ITEM.match(previous):
                pytest.fail(f"{page.relative_to(ROOT)}:{number}: indented code block; fence it: {line!r}")
            previous = line


def test_commands_and_files_named_in_code_blocks_exist() -> None:
    """What a block names, even one that does not run: ``ozzy`` subcommands, and the repository's
    test files and scripts (``tests/...py``, ``scripts/...``)."""
    from airflow_provider_ozzy.cli import _parser

    commands = next(
        action.choices for action in _parser()._actions if isinstance(getattr(action, "choices", None), dict)
    )
    for block in ALL_BLOCKS:
        for named in re.findall(r"^\$?\s*ozzy\s+(\w[\w-]*)", block.text, re.MULTILINE):
            assert named in commands, f"{block.name}: 'ozzy {named}' is no subcommand"
        for path in re.findall(r"(?<![\w/.])((?:tests|scripts|benchmarks|dags)/[\w./-]*\w)", block.text):
            assert (ROOT / path).exists(), f"{block.name}: {path} does not exist"


DAG_PARSER = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

found = {}
for folder in sys.argv[1:]:
    bag = DagBag(dag_folder=folder, safe_mode=False)
    found[folder] = {
        "errors": {path: str(error) for path, error in bag.import_errors.items()},
        "dags": {dag_id: sorted(task.task_id for task in dag.tasks) for dag_id, dag in bag.dags.items()},
    }
print("PARSED " + json.dumps(found))
"""


def test_python_blocks_compile() -> None:
    for block in RUN:
        if block.language == "python":
            compile(block.text, block.name, "exec")


def test_dag_snippets_parse_as_the_dag_processor_parses_them(tmp_path: Path) -> None:
    snippets = [block for block in RUN if _is_dag(block)]
    if not snippets:
        pytest.skip("no DAG snippet in the pages")
    folders = []
    for number, block in enumerate(snippets):
        folder = tmp_path / f"snippet_{number}"  # one folder each: snippets may share a dag_id
        folder.mkdir()
        (folder / "snippet_dag.py").write_text(block.text)
        folders.append(str(folder))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }
    result = subprocess.run(
        [sys.executable, "-c", DAG_PARSER, *folders],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout.split("PARSED ", 1)[1])
    for block, folder in zip(snippets, folders, strict=True):
        assert parsed[folder]["errors"] == {}, f"{block.name}: {parsed[folder]['errors']}"
        assert parsed[folder]["dags"], f"{block.name}: defines no DAG"
        assert all(parsed[folder]["dags"].values()), f"{block.name}: a DAG without tasks"


@pytest.mark.parametrize("block", _of({"python"}))
def test_other_python_blocks_run(block: Block, tmp_path: Path) -> None:
    (tmp_path / "snippet.py").write_text(block.text)
    result = subprocess.run(
        [sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{block.name}:\n{result.stderr[-3000:]}"


def _field_names(config: dict[str, Any]) -> set[str]:
    """Fields the config's formatter, grouper and filters name: what generated items must have."""
    formatter = (config.get("exporter_options") or {}).get("formatter") or {}
    fields = set((formatter.get("options") or {}).get("fields") or [])
    fields |= set(((config.get("grouper") or {}).get("options") or {}).get("keys") or [])
    return {name.split(".")[0] for name in fields}


def _write_local_input(config: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Gzip JSON lines items in the FSReader's relative input folder, named to match its pattern."""
    source = config["reader"]["options"]["input"]
    directory = folder / source["dir"]
    directory.mkdir(parents=True)
    fields = _field_names(config) | {"id"}
    items = [
        {name: (number if name == "id" else f"{name}-{number % 3}") for name in sorted(fields)}
        for number in range(30)
    ]
    name = "part-0.jl.gz"
    assert re.search(source.get("pattern", ""), name), f"generated input {name} misses the pattern"
    with gzip.open(directory / name, "wt") as stream:
        stream.writelines(json.dumps(item) + "\n" for item in items)
    return items


@pytest.mark.parametrize("block", _of(CONFIG_LANGUAGES))
def test_config_blocks_validate_and_local_ones_run(block: Block, tmp_path: Path) -> None:
    config = yaml.safe_load(block.text)  # JSON is YAML too
    assert isinstance(config, dict) and "reader" in config, f"{block.name}: not an export config"
    path = tmp_path / ("config.json" if block.language == "json" else "config.yaml")
    path.write_text(block.text)
    validated = run_ozzy("validate", path.name, cwd=tmp_path)
    assert validated.returncode == 0, f"{block.name}:\n{validated.stdout}{validated.stderr}"
    reader = config["reader"]
    source = (reader.get("options") or {}).get("input")
    if reader["name"] != "FSReader" or not isinstance(source, dict) or Path(source["dir"]).is_absolute():
        return  # its data lives elsewhere: validating is what can be done here
    items = _write_local_input(config, tmp_path)
    ran = run_ozzy("run", path.name, "--quiet", cwd=tmp_path)
    assert ran.returncode == 0, f"{block.name}:\n{ran.stderr[-3000:]}"
    stats = json.loads(ran.stdout.strip().splitlines()[-1])
    assert stats["items_read"] == stats["items_written"] == len(items), stats
    assert stats["files_written"] >= 1 and stats["finished"], stats


@pytest.mark.parametrize("block", _of(SHELL_LANGUAGES))
def test_shell_blocks_run_in_a_temporary_folder(block: Block, tmp_path: Path) -> None:
    command = " ".join([*OZZY[:1], "-m", "airflow_provider_ozzy.cli"])
    script = f'ozzy() {{ {command} "$@"; }}\nset -euo pipefail\n' + re.sub(
        r"^\$ ", "", block.text, flags=re.MULTILINE
    )
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{block.name}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
