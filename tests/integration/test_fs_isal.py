"""FS -> FS exports with the isal choice (``compression_engine: isal``) through the real ``ozzy run``.

The output is read back by Python's gzip module and by ``gzip -t`` / ``zcat``; the bytes must not
depend on the batch size (a resume rewrites a file from other batches than the first run).
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.core.compression import ISAL_BLOCK
from tests.helpers import output_files, run_ozzy, write_config, write_json_lines_gz

WORDS = ["alpha", "beta", "gamma", "Madrid", "caf\u00e9", "x" * 17]
# random words: on very regular items isal happens to write the same bytes however the input is cut
RNG = random.Random(3)
ITEMS = [
    {"id": n, "name": " ".join(RNG.choices(WORDS, k=RNG.randint(1, 6))), "score": RNG.random()}
    for n in range(30_000)
]


def run(tmp_path: Path, name: str, **writer: Any) -> subprocess.CompletedProcess[str]:
    batch_size = writer.pop("batch_size", 10_000)
    config = {
        "reader": {"name": "FSReader", "options": {"input": "in/items.jl.gz", "batch_size": batch_size}},
        "writer": {
            "name": "FSWriter",
            "options": {"filebase": f"{name}/items_", "compression": "gz", **writer},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": f"state-{name}"}},
    }
    return run_ozzy("run", str(write_config(tmp_path / f"{name}.json", config)), "--quiet", cwd=tmp_path)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_json_lines_gz(tmp_path / "in/items.jl.gz", ITEMS)


def test_an_isal_export_is_standard_gzip(tmp_path: Path, source: Path) -> None:
    result = run(
        tmp_path, "out", compression_engine="isal", compression_level=1, items_per_buffer_write=20_000
    )
    assert result.returncode == 0, result.stderr
    assert output_files(tmp_path / "out") == ["items_0000.jl.gz", "items_0001.jl.gz"]
    read = []
    for name in output_files(tmp_path / "out"):
        path = tmp_path / "out" / name
        text = gzip.decompress(path.read_bytes())
        read += [json.loads(line) for line in text.splitlines()]
        if shutil.which("gzip"):
            subprocess.run(["gzip", "-t", str(path)], check=True)
            assert subprocess.run(["zcat", str(path)], capture_output=True, check=True).stdout == text
    assert read == ITEMS


def test_isal_output_does_not_depend_on_the_batch_size(tmp_path: Path, source: Path) -> None:
    for name, batch_size in (("big", 10_000), ("small", 777)):
        result = run(tmp_path, name, compression_engine="isal", batch_size=batch_size)
        assert result.returncode == 0, result.stderr
    big, small = (tmp_path / name / "items_0000.jl.gz" for name in ("big", "small"))
    assert len(gzip.decompress(big.read_bytes())) > 2 * ISAL_BLOCK  # several blocks, batches across them
    assert big.read_bytes() == small.read_bytes()


@pytest.mark.parametrize(
    ("writer", "message"),
    [
        (
            {"compression": "bz2", "compression_engine": "isal"},
            "option 'compression_engine' 'isal' applies to compression 'gz' only, got 'bz2'",
        ),
        (
            {"compression_engine": "isal", "compression_level": 6},
            "option 'compression_level' must be from 0 to 3 with compression 'gz' and compression_engine "
            "'isal', got 6",
        ),
    ],
)
def test_a_choice_isal_cannot_make_is_refused_naming_the_option(
    tmp_path: Path, source: Path, writer: dict[str, Any], message: str
) -> None:
    result = run(tmp_path, "out", **writer)
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if message in line]
    assert "out.json:" in line  # the file and line of the option
    assert not (tmp_path / "out").exists()
