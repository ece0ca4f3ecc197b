"""exporters tests/test_readers.py, test_readers_fs.py, test_decompressors.py and
test_deserializer_csv.py, on exporters' own test data (tests/compat/data)."""

from __future__ import annotations

import bz2
import gzip
import shutil
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import EXPORTERS_DATA, RunOzzy, console, random_reader

ITEMS = [{"item": "value1"}, {"item": "value2"}, {"item": "value3"}]
ITEMS_2 = [{"item2": "value1"}, {"item2": "value2"}, {"item2": "value3"}]


@pytest.fixture
def data(work: Path) -> Path:
    """exporters' tests/data, where its tests expected it (``./tests/data``)."""
    shutil.copytree(EXPORTERS_DATA, work / "tests/data")
    shutil.copytree(
        EXPORTERS_DATA / "fs_reader_test", work / "tests/data/fs_reader_test2"
    )  # the pointer's target
    return work / "tests/data"


def fs_reader(options: dict[str, Any]) -> dict[str, Any]:
    return {"name": "exporters.readers.fs_reader.FSReader", "options": options}


@pytest.mark.parametrize(
    ("case", "options", "expected"),
    [
        ("test_read_from_folder", {"input": {"dir": "./tests/data/fs_reader_test"}}, ITEMS + ITEMS_2),
        (
            "test_read_from_pointer",
            {"input": {"dir_pointer": "./tests/data/fs_reader_pointer"}},
            ITEMS + ITEMS_2,
        ),
        ("test_read_from_file", {"input": "./tests/data/fs_reader_test/fs_test_data.jl.gz"}, ITEMS),
        (
            "test_read_from_multiple_files",
            {
                "input": [
                    "./tests/data/fs_reader_test/fs_test_data.jl.gz",
                    "./tests/data/fs_reader_test/fs_test_data_2.jl.gz",
                ]
            },
            ITEMS + ITEMS_2,
        ),
        (
            # a file named twice (alone and in its folder) is read once
            "test_read_from_file_and_dir",
            {
                "input": [
                    "./tests/data/fs_reader_test/fs_test_data.jl.gz",
                    {"dir": "./tests/data/fs_reader_test"},
                ]
            },
            ITEMS + ITEMS_2,
        ),
        (
            "test_dir_specification_with_pattern",
            {"input": {"dir": "./tests/data/fs_reader_test/", "pattern": r"fs_reader_test/[^/]+2\.jl\.gz$"}},
            ITEMS_2,
        ),
        ("DecompressorsTest/gzip of test_data.jl.gz", {"input": "./tests/data/test_data.jl.gz"}, ITEMS),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_fs_reader(
    run_ozzy: RunOzzy, data: Path, case: str, options: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    result = run_ozzy({"reader": fs_reader(options), "writer": console()})
    assert result.code == 0, result.err
    assert result.printed_items == expected
    assert result.stats["items_read"] == len(expected)


def test_fs_reader_empty_folder(run_ozzy: RunOzzy, data: Path) -> None:
    """FSReaderTest.test_read_from_empty_folder, on a folder that exists and is empty."""
    (data / "fs_reader_empty_folder").mkdir()
    result = run_ozzy(
        {"reader": fs_reader({"input": {"dir": "./tests/data/fs_reader_empty_folder"}}), "writer": console()}
    )
    assert result.code == 0, result.err
    assert result.stats["items_read"] == 0
    assert result.stats["finished"] is True


def test_fs_reader_missing_folder(run_ozzy: RunOzzy, data: Path) -> None:
    """FSReaderTest.test_read_from_empty_folder named ``./tests/data/fs_reader_empty_folder``, which
    is not in exporters' repository (git keeps no empty folder): exporters read nothing and finished.
    Ozzy too, with a warning naming the folder (docs/design.md, "Configs exporters ran")."""
    result = run_ozzy(
        {"reader": fs_reader({"input": {"dir": "./tests/data/fs_reader_empty_folder"}}), "writer": console()}
    )
    assert result.code == 0, result.err
    assert result.stats["items_read"] == 0
    assert "fs_reader_empty_folder" in result.err
    assert "WARNING" in result.err


@pytest.mark.parametrize(
    ("case", "input_", "message"),
    [
        ("test_dir_specification_no_dir_or_dir_pointer", {}, "dir"),
        (
            "test_dir_specification_both_dir_and_dir_pointer",
            {"dir": "./foo", "dir_pointer": "./bar"},
            "dir_pointer",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_fs_reader_bad_input_is_a_configuration_error(
    run_ozzy: RunOzzy, data: Path, case: str, input_: Any, message: str
) -> None:
    result = run_ozzy({"reader": fs_reader({"input": input_}), "writer": console()})
    assert result.code == 2
    assert message in result.err
    assert not result.out.strip()


@pytest.fixture
def dotfiles(work: Path) -> Path:
    folder = work / "dots"
    folder.mkdir()
    (folder / ".foo.jl.gz").write_bytes(gzip.compress(b'{"foo": 1}'))
    (folder / "bar.jl.gz").write_bytes(gzip.compress(b'{"bar": 1}'))
    return folder


@pytest.mark.parametrize(
    ("case", "extra", "expected"),
    [
        ("test_dot_files_ignored_by_default", {}, [{"bar": 1}]),
        ("test_dot_files_ignored_by_default[pattern]", {"pattern": r"/\.[^/]*$"}, []),
        (
            "test_dot_files_included_with_flag[pattern]",
            {"pattern": r"/\.[^/]*$", "include_dot_files": True},
            [{"foo": 1}],
        ),
        # Departure (docs/design.md, "Smaller departures": FSReader lists files once, sorted): files in one sorted order, ``.foo``
        # before ``bar``, as exporters happened to list them here
        ("test_dot_files_included_with_flag", {"include_dot_files": True}, [{"foo": 1}, {"bar": 1}]),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_fs_reader_dot_files(
    run_ozzy: RunOzzy, dotfiles: Path, case: str, extra: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    result = run_ozzy({"reader": fs_reader({"input": {"dir": str(dotfiles), **extra}}), "writer": console()})
    assert result.code == 0, result.err
    assert result.printed_items == expected


def test_csv_deserializer(run_ozzy: RunOzzy, data: Path) -> None:
    """DecompressorsTest.test_deserializer (test_deserializer_csv.py) on tests/data/dummy_data.csv
    (its last row has no line end)."""
    result = run_ozzy(
        {
            "reader": fs_reader({"input": "./tests/data/dummy_data.csv"}),
            "decompressor": {"name": "exporters.decompressors.NoDecompressor"},
            "deserializer": {"name": "exporters.deserializers.CSVDeserializer"},
            "writer": console(),
        }
    )
    assert result.code == 0, result.err
    assert result.printed_items == [
        {"id": "1", "bar": "hello", "baz": "world"},
        {"id": "2", "bar": "foo", "baz": "bar"},
        {"id": "3", "bar": "xdxd", "baz": "xdxd"},
    ]


@pytest.mark.parametrize(
    ("case", "pack", "decompressor"),
    [
        ("test_zlib_decompressor[one stream]", lambda text: zlib.compress(text), "ZLibDecompressor"),
        # several members (exporters: "Mutiple headers"), parts longer than one read chunk
        (
            "test_zlib_decompressor[members]",
            lambda text: b"".join(zlib.compress(text[i : i + 700]) for i in range(0, len(text), 700)),
            "ZLibDecompressor",
        ),
        (
            "gzip members",
            lambda text: b"".join(gzip.compress(text[i : i + 700]) for i in range(0, len(text), 700)),
            "ZLibDecompressor",
        ),
        ("bz2", bz2.compress, None),
        ("test_no_compression", lambda text: text, "NoDecompressor"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_decompressors(run_ozzy: RunOzzy, work: Path, case: str, pack: Any, decompressor: str | None) -> None:
    items = [{"n": n, "text": "x" * (n % 50)} for n in range(200)]
    text = "".join(f'{{"n": {i["n"]}, "text": "{i["text"]}"}}\n' for i in items).encode()
    suffix = {"bz2": ".jl.bz2"}.get(case, ".jl")
    (work / f"in{suffix}").write_bytes(pack(text))
    config: dict[str, Any] = {"reader": fs_reader({"input": f"in{suffix}"}), "writer": console()}
    if decompressor:
        config["decompressor"] = {"name": f"exporters.decompressors.{decompressor}"}
    result = run_ozzy(config)
    assert result.code == 0, result.err
    assert result.printed_items == items


@pytest.mark.parametrize(
    ("case", "number", "batch", "batches"),
    [
        ("RandomReaderTest.test_get_all", 1000, 100, 10),
        ("test_get_next_batch", 100, 100, 1),
        ("test_read_goes_into_written", 123, 7, 18),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_random_reader(
    run_ozzy: RunOzzy, work: Path, case: str, number: int, batch: int, batches: int
) -> None:
    """RandomReaderTest: every item read is written; batches of ``batch_size``."""
    result = run_ozzy(
        {
            "reader": random_reader(number, batch),
            "writer": {"name": "FSWriter", "options": {"filebase": "out/r_"}},
        }
    )
    assert result.code == 0, result.err
    assert result.stats["items_read"] == number
    assert result.stats["items_written"] == number


def test_random_reader_values(run_ozzy: RunOzzy, work: Path) -> None:
    """Departure (docs/design.md, "Departures from exporters' output": RandomReader): reproducible items with a seed; exporters'
    values were random at every run. Two runs print the same items."""
    first = run_ozzy({"reader": random_reader(5, 2), "writer": console()}).printed_items
    second = run_ozzy({"reader": random_reader(5, 2), "writer": console()}).printed_items
    assert first == second
    assert [item["key"] for item in first] == [0, 1, 2, 3, 4]
    assert {"country_code", "state", "city", "value"} <= set(first[0])
