"""``docs/modules.md`` is generated from the code; this fails when the committed file is stale."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_ozzy.core.options import merged_options
from airflow_provider_ozzy.engine.docs_gen import KIND_TITLES, REGENERATE, render_markdown
from airflow_provider_ozzy.engine.registry import all_modules

ROOT = Path(__file__).parents[3]
REFERENCE = ROOT / "docs" / "modules.md"


@pytest.fixture(scope="module")
def generated() -> str:
    return render_markdown()


def test_docs_modules_md_is_up_to_date(generated: str) -> None:
    committed = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    if committed != generated:
        diff = difflib.unified_diff(
            committed.splitlines(), generated.splitlines(), "docs/modules.md", "generated", lineterm="", n=1
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(
            f"docs/modules.md is stale; regenerate it from the repository root with:\n\n    .venv/bin/{REGENERATE}\n\n{shown}"
        )


def test_the_regenerate_command_prints_the_reference(generated: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_ozzy.cli", "modules", "--markdown"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == generated


def test_every_module_and_option_is_described(generated: str) -> None:
    kinds = {part.split("\n", 1)[0]: part for part in generated.split("\n## ")[1:]}
    for kind, class_name, cls in all_modules():
        chunk = kinds[KIND_TITLES[kind]]
        common = chunk.split("\n### ", 1)[0]  # options every module of the kind takes
        (section,) = [each for each in chunk.split("\n### ")[1:] if each.startswith(f"{class_name}\n")]
        first_line = (cls.__doc__ or "").strip().splitlines()[0]
        assert first_line in section, class_name
        for option in merged_options(cls):
            assert f"| `{option}` |" in section + common, (kind, class_name, option)


def test_option_columns(generated: str) -> None:
    s3_reader = generated.split("\n### S3Reader\n", 1)[1].split("\n### ", 1)[0]
    row = next(line for line in s3_reader.splitlines() if line.startswith("| `aws_secret_access_key` |"))
    cells = [cell.strip() for cell in row.strip("|").split(" | ")]
    assert cells == [
        "`aws_secret_access_key`",
        "string or null",
        "`null`",
        "no",
        "yes",
        "`EXPORTERS_S3READER_AWS_SECRET`",
        "Legacy: AWS secret access key (prefer aws_conn_id).",
    ]
    bucket = next(line for line in s3_reader.splitlines() if line.startswith("| `bucket` |"))
    assert " | string |  | yes |  |  | " in bucket
    writers = generated.split("\n## Writers\n", 1)[1].split("\n### ", 1)[0]
    assert '| `compression` | string: `gz`, `bz2`, `zip`, `zstd`, `none` | `"gz"` | no |' in writers
