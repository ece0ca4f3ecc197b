"""Buffer files compressed by ``CompressedFile``: gz by zlib or isal, read back by other tools.

Files are written for real (on the background thread, as exports do) and read back with Python's
gzip module and the ``gzip`` command, never with Ozzy's own decompressors.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from isal import isal_zlib

from airflow_provider_ozzy.core.compression import ISAL_BLOCK, CompressedFile, engine_problem, level_problem
from airflow_provider_ozzy.core.ordered_worker import OrderedWorker


def json_lines(count: int, seed: int = 7) -> bytes:
    """``count`` varied JSON lines: repetitive enough to compress, random enough to differ."""
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "Madrid", "caf\u00e9", "\u6771\u4eac", "x" * 17]
    lines = (
        json.dumps(
            {"id": n, "name": " ".join(rng.choices(words, k=rng.randint(1, 6))), "score": rng.random()},
            ensure_ascii=False,
        )
        for n in range(count)
    )
    return "".join(line + "\n" for line in lines).encode()


def write(path: Path, pieces: list[bytes], engine: str, level: int | None = None) -> CompressedFile:
    worker = OrderedWorker(max_pending=4, name="test-compress")
    try:
        file = CompressedFile(str(path), "gz", level, background=worker, engine=engine)
        for piece in pieces:
            file.write_pieces([piece])
        file.close()
    finally:
        worker.shutdown()
    return file


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` cut into pieces of the given sizes, repeated until it is used up."""
    pieces, start, index = [], 0, 0
    while start < len(data):
        size = sizes[index % len(sizes)]
        pieces.append(data[start : start + size])
        start += size
        index += 1
    return pieces


DATA = json_lines(40_000)  # about 3 MB: several isal blocks and a partial one


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_isal_writes_standard_gzip_that_gzip_and_zcat_read(tmp_path: Path, level: int) -> None:
    path = tmp_path / "items.jl.gz"
    file = write(path, split(DATA, [700_000, 12_345]), "isal", level)
    stored = path.read_bytes()
    assert gzip.decompress(stored) == DATA
    assert (file.size, file.md5) == (len(stored), hashlib.md5(stored).hexdigest())
    if shutil.which("gzip"):
        subprocess.run(["gzip", "-t", str(path)], check=True)
        assert subprocess.run(["zcat", str(path)], capture_output=True, check=True).stdout == DATA


def test_isal_bytes_do_not_depend_on_how_the_writes_fell(tmp_path: Path) -> None:
    """A resume rewrites a file from other batches: the same items must give the same bytes."""
    once = write(tmp_path / "once.gz", [DATA], "isal")
    for sizes in ([ISAL_BLOCK - 1], [7_777, 1_500_000], [ISAL_BLOCK, 3]):
        again = write(tmp_path / "again.gz", split(DATA, sizes), "isal")
        assert again.md5 == once.md5, sizes


def test_isal_writes_what_isal_writes_for_the_stream_in_blocks(tmp_path: Path) -> None:
    compressor = isal_zlib.compressobj(2, isal_zlib.DEFLATED, 31)
    blocks = [
        compressor.compress(DATA[start : start + ISAL_BLOCK]) for start in range(0, len(DATA), ISAL_BLOCK)
    ]
    expected = b"".join(blocks) + compressor.flush()
    write(tmp_path / "isal.gz", split(DATA, [100_000]), "isal")
    assert (tmp_path / "isal.gz").read_bytes() == expected
    zlib_file = write(tmp_path / "zlib.gz", [DATA], "zlib")
    assert zlib_file.size < len(expected) < zlib_file.size * 1.3  # larger than zlib 6, not by much


def test_an_empty_isal_file_is_an_empty_gzip_member(tmp_path: Path) -> None:
    path = tmp_path / "empty.gz"
    write(path, [], "isal")
    assert gzip.decompress(path.read_bytes()) == b""


def test_isal_levels_and_formats_are_checked() -> None:
    assert level_problem("gz", 3, "isal") is None
    assert level_problem("gz", 6, "isal") == (
        "option 'compression_level' must be from 0 to 3 with compression 'gz' and compression_engine "
        "'isal', got 6"
    )
    assert level_problem("gz", 6) is None
    assert engine_problem("gz", "isal") is None
    assert (
        engine_problem("bz2", "isal")
        == "option 'compression_engine' 'isal' applies to compression 'gz' only, got 'bz2'"
    )
    with pytest.raises(ValueError, match="applies to compression 'gz' only"):
        CompressedFile("unused", "zstd", engine="isal")
