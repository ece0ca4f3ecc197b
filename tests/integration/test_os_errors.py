"""Operating-system errors end in one line, ``ozzy: export failed: <what, where, what to do>``.

Disk full (a 1 MiB tmpfs), read-only folders (a tmpfs remounted read-only), a file where a folder
must go, a ``filebase`` that cannot exist, and a bad ``OZZY_STATE_DIR`` (a configuration problem:
exit 2). After the cause is fixed, ``ozzy resume`` finishes the job with exactly the input items.
Mounting needs root: without it the tmpfs cases are skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import output_files, read_json_lines, run_ozzy, write_config

ITEMS = [{"n": number, "text": "x" * 60} for number in range(20_000)]  # ~1.5 MB of JSON lines


def mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Any]:
    mounted: list[Path] = []

    def make(name: str, size: str = "1m") -> Path:
        folder = tmp_path / name
        mount_tmpfs(folder, size)
        mounted.append(folder)
        return folder

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)


def job(tmp_path: Path, filebase: str, **writer: Any) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / "a.jl").write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(folder)}, "batch_size": 1000}},
        "writer": {
            "name": "FSWriter",
            "options": {
                "filebase": filebase,
                "compression": "none",
                "items_per_buffer_write": 5000,
                **writer,
            },
        },
    }
    return write_config(tmp_path / "job.yaml", config)


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("ozzy:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def resume_uri(stderr: str) -> str:
    found = re.search(r"resume with: ozzy resume (\S+)\)", stderr)
    assert found, stderr
    return found.group(1)


def read_back(folder: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for name in output_files(folder):
        items.extend(read_json_lines(folder / name))
    return items


def test_disk_full_at_the_destination_then_resume_is_exact(tmp_path: Path, tmpfs: Any) -> None:
    dest = tmpfs("dest", "1m")
    path = job(tmp_path, str(dest / "part-"))
    result = run_ozzy("run", str(path), cwd=tmp_path, timeout=120)
    line = one_line(result, 1)
    assert line.startswith("ozzy: export failed: ") and "No space left on device" in line, line
    assert str(dest) in line and "resume" in line, line
    remount(dest, "size=20m")
    again = run_ozzy("resume", resume_uri(result.stderr), cwd=tmp_path, timeout=120)
    assert again.returncode == 0, again.stderr
    assert read_back(dest) == ITEMS
    assert not [name for name in os.listdir(dest) if name.endswith(".ozzy-partial")]


def test_disk_full_in_the_state_folder_then_resume_is_exact(tmp_path: Path, tmpfs: Any) -> None:
    state = tmpfs("state", "64k")
    path = job(tmp_path, str(tmp_path / "out" / "part-"))
    filler = state / "filler"
    with open(filler, "wb") as handle, pytest.raises(OSError):
        handle.write(b"\0" * 1024 * 1024)  # fills the folder to the last block
    result = run_ozzy("run", str(path), cwd=tmp_path, timeout=120, env={"OZZY_STATE_DIR": str(state)})
    line = one_line(result, 1)
    assert "No space left on device" in line and str(state) in line, line
    filler.unlink()
    env = {"OZZY_STATE_DIR": str(state)}
    if "resume with:" in result.stderr:  # the job state was saved before the disk filled up
        uri = f"pickle:{state}/{resume_uri(result.stderr).rsplit('/', 1)[1]}"
        again = run_ozzy("resume", uri, cwd=tmp_path, timeout=120, env=env)
    else:  # the first state could not be saved: nothing ran, so the job starts over
        assert not (tmp_path / "out").exists()
        again = run_ozzy("run", str(path), cwd=tmp_path, timeout=120, env=env)
    assert again.returncode == 0, again.stderr
    assert read_back(tmp_path / "out") == ITEMS


def test_read_only_state_folder_is_a_configuration_error(tmp_path: Path, tmpfs: Any) -> None:
    state = tmpfs("state", "1m")
    remount(state, "ro")
    path = job(tmp_path, str(tmp_path / "out" / "part-"))
    result = run_ozzy("run", str(path), cwd=tmp_path, timeout=120, env={"OZZY_STATE_DIR": str(state)})
    line = one_line(result, 2)
    assert "OZZY_STATE_DIR" in line and str(state) in line and "read-only" in line.lower(), line


@pytest.mark.parametrize("kind", ["empty", "file"])
def test_bad_ozzy_state_dir_is_a_configuration_error(tmp_path: Path, kind: str) -> None:
    path = job(tmp_path, str(tmp_path / "out" / "part-"))
    value = ""
    if kind == "file":
        (tmp_path / "state-file").write_text("not a folder")
        value = str(tmp_path / "state-file")
    result = run_ozzy("run", str(path), cwd=tmp_path, timeout=120, env={"OZZY_STATE_DIR": value})
    line = one_line(result, 2)
    assert "OZZY_STATE_DIR" in line, line
    assert not (tmp_path / "out").exists()


def test_a_file_where_a_folder_must_go_then_resume_is_exact(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "sub").write_text("in the way")
    path = job(tmp_path, str(tmp_path / "out" / "sub" / "part-"))
    result = run_ozzy("run", str(path), cwd=tmp_path, timeout=120)
    line = one_line(result, 1)
    assert str(tmp_path / "out" / "sub") in line and "resume" in line, line
    (tmp_path / "out" / "sub").unlink()
    again = run_ozzy("resume", resume_uri(result.stderr), cwd=tmp_path, timeout=120)
    assert again.returncode == 0, again.stderr
    assert read_back(tmp_path / "out" / "sub") == ITEMS


def test_a_filebase_that_cannot_exist_is_one_line(tmp_path: Path) -> None:
    path = job(tmp_path, "/proc/nope/x_")
    result = run_ozzy("run", str(path), cwd=tmp_path, timeout=120)
    line = one_line(result, 1)
    assert "/proc/nope" in line, line
