"""End to end: ``ozzy run`` of FSReader -> FSWriter over a good file followed by a damaged one.

What docs/design.md (and ``tests/integration/test_bad_input.py::test_good_file_then_broken_file``)
promises, checked here for random damage: the export either reads everything (exit 0, every item
exactly once, the md5 manifest written), or fails with exit 1 and one message naming the broken
file, leaving only *complete* destination files (each a whole buffer of valid items, in input
order, none twice), no manifest (the mark of a finished export) and no buffer file behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_ozzy.cli import main
from tests.helpers import output_files, read_json_lines, write_json_lines_gz
from tests.integration.object_store_cases import INPUT_FORMATS as FORMATS  # the compressions readers detect
from tests.property.inputs import tried

PER_FILE = 4
GOOD_ITEMS = 10


def lines(first: int, count: int) -> bytes:
    return b"".join(
        json.dumps({"n": number, "text": f"item {number}"}).encode() + b"\n"
        for number in range(first, first + count)
    )


@st.composite
def broken_inputs(draw: st.DrawFn) -> tuple[str, bytes, int]:
    """(format, damaged bytes of the second input file, items in it when undamaged)."""
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    count = draw(st.integers(1, 60))
    data = FORMATS[fmt][1](lines(GOOD_ITEMS + 1, count))
    kind = draw(st.sampled_from(["truncate", "flip", "garbage", "bad line"]))
    if kind == "truncate":
        data = data[: draw(st.integers(1, len(data) - 1))]
    elif kind == "flip":
        buffer = bytearray(data)
        for bit in draw(st.lists(st.integers(0, len(data) * 8 - 1), min_size=1, max_size=3)):
            buffer[bit // 8] ^= 1 << (bit % 8)
        data = bytes(buffer)
    elif kind == "garbage":
        data += draw(st.binary(min_size=1, max_size=20))
    else:
        raw = lines(GOOD_ITEMS + 1, count).split(b"\n")
        raw[draw(st.integers(0, count - 1))] = draw(st.sampled_from([b"{", b"[1]", b"\xff\xfe", b'{"n": }']))
        data = FORMATS[fmt][1](b"\n".join(raw))
    return fmt, data, count


@contextlib.contextmanager
def private_run_environment() -> Iterator[Path]:
    """A fresh folder, its own system temporary folder, pytest's signal handlers kept."""
    saved_handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    saved_tempdir = tempfile.tempdir
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "tmp").mkdir()
        tempfile.tempdir = str(root / "tmp")
        try:
            yield root
        finally:
            tempfile.tempdir = saved_tempdir
            for number, handler in saved_handlers.items():
                signal.signal(number, handler)


def _config(root: Path) -> dict[str, Any]:
    return {
        "reader": {
            "name": "FSReader",
            "options": {"input": {"dir": str(root / "in")}, "batch_size": PER_FILE},
        },
        "writer": {
            "name": "FSWriter",
            "options": {
                "filebase": str(root / "out" / "part-"),
                "items_per_buffer_write": PER_FILE,
                "generate_md5": True,
            },
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(root / "state")}},
    }


@given(broken_inputs())
def test_damaged_input_fails_clearly_and_leaves_only_complete_files(case: tuple[str, bytes, int]) -> None:
    fmt, damaged, count = case
    tried(f"FS exports of damaged {fmt} input")
    with private_run_environment() as root:
        write_json_lines_gz(
            root / "in" / "a.jl.gz", [json.loads(line) for line in lines(1, GOOD_ITEMS).splitlines()]
        )
        broken = root / "in" / ("b" + FORMATS[fmt][0])
        broken.write_bytes(damaged)
        config = root / "job.json"
        config.write_text(json.dumps(_config(root)))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["run", str(config), "--quiet", "--job-id", "hostile"])
        message = err.getvalue()
        files = output_files(root / "out") if (root / "out").exists() else []
        items = [
            item
            for name in files
            if name != "md5checksum.md5"
            for item in read_json_lines(root / "out" / name)
        ]
        delivered = [item.get("n") for item in items]
        leftovers = [name for name in os.listdir(root / "tmp") if name.startswith("ozzy-buffers-")]
        assert not leftovers, f"buffer files left behind: {leftovers}"
        assert "Traceback" not in message + out.getvalue()
        if code == 0 and fmt == "none":  # no checksum: damage may leave valid JSON lines, just other ones
            plain = lines(1, GOOD_ITEMS) + damaged
            assert items == [json.loads(line) for line in plain.splitlines() if line.strip()]
            return
        if code == 0:
            assert delivered == list(range(1, GOOD_ITEMS + count + 1)), (
                f"a damaged {fmt} file was read as complete: {len(delivered)} items, {message}"
            )
            assert "md5checksum.md5" in files
            return
        assert code == 1, f"exit {code}: {message}"
        assert str(broken) in message, f"the error does not name the broken file: {message}"
        assert "md5checksum.md5" not in files, "the manifest marks a finished export"
        for name in files:
            assert len(read_json_lines(root / "out" / name)) == PER_FILE, f"{name} is not a complete file"
        assert delivered == list(range(1, len(delivered) + 1)), "items out of order, missing or repeated"
