"""Test helpers: run the real ``ozzy`` command, write configs, read back what exports produced."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import zstandard

OZZY = [sys.executable, "-m", "airflow_provider_ozzy.cli"]


def run_ozzy(
    *args: str, cwd: str | os.PathLike[str], timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``ozzy ARGS`` in a child process, as a user would."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [*OZZY, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )


def write_config(path: str | os.PathLike[str], config: dict[str, Any]) -> Path:
    path = Path(path)
    if path.suffix in (".yaml", ".yml"):
        import yaml

        path.write_text(yaml.safe_dump(config, sort_keys=False))
    else:
        path.write_text(json.dumps(config, indent=2))
    return path


def decompress(path: str | os.PathLike[str]) -> bytes:
    """The uncompressed bytes of an output file, by its suffix."""
    data = Path(path).read_bytes()
    name = str(path)
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".bz2"):
        return bz2.decompress(data)
    if name.endswith(".zstd") or name.endswith(".zst"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"".join(archive.read(member) for member in archive.namelist())
    return data


def read_json_lines(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in decompress(path).decode("utf-8").splitlines() if line.strip()]


def output_files(folder: str | os.PathLike[str]) -> list[str]:
    """Every visible file under ``folder``, as sorted paths relative to it."""
    found = []
    for root, _, files in os.walk(folder):
        for name in files:
            if not name.startswith("."):
                found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def write_json_lines_gz(path: str | os.PathLike[str], items: list[dict[str, Any]]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as handle:
        for item in items:
            handle.write(json.dumps(item).encode() + b"\n")
    return path
