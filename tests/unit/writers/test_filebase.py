"""``Filebase`` and ``path_safety``: validation messages, names, and that no two files share a name.

The property tests draw group values from hostile alphabets (separators, digits, dots, CJK, hash-like
tails) and check the contract directly: different (group, file number) pairs never get one path,
no segment passes ``SEGMENT_BYTES`` bytes, and no segment is ``.``, ``..`` or the md5 file.
End-to-end cases with real files are in tests/integration/test_file_name_collisions.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_ozzy.core.filebase import MD5_FILE_NAME, SEGMENT_BYTES, Filebase
from airflow_provider_ozzy.core.path_safety import safe_segment
from airflow_provider_ozzy.errors import ConfigurationError, WriterError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.groupers.base_grouper import GroupKey
from airflow_provider_ozzy.writers.fs_writer import FSWriter
from tests.helpers import write_json_lines_gz

TAIL = ".jl.gz"


def path(filebase: str, *groups: Any, number: int = 0) -> str:
    return Filebase(filebase).path(tuple(safe_segment(value) for value in groups), number, TAIL)


# -- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "filebase",
    [
        "out/items_",
        "out/{groups[0]}/{groups[1]}/file",
        "out/%Y-%m-%d/p-{file_number:03d}",
        "/abs/{groups[0]}_",
    ],
)
def test_plain_filebases_are_accepted(filebase: str):
    assert Filebase.problems(filebase) == []


@pytest.mark.parametrize(
    ("filebase", "message"),
    [
        ("out/{groups[0][0]}/p_", "only {groups[N]} and {file_number}"),
        ("out/{groups[0]:.1}/p_", "only {groups[N]} and {file_number}"),
        ("out/.{groups[0]:.0}./p_", "only {groups[N]} and {file_number}"),
        ("out/{groups[0]!s}/p_", "only {groups[N]} and {file_number}"),
        ("out/p_{file_number:.0e}", "only {groups[N]} and {file_number}"),
        ("out/p_{file_number: 5d}", "only {groups[N]} and {file_number}"),
        ("out/{foo}/p_", "unknown placeholder '{foo}'"),
        ("out/p_{}", "positional placeholder"),
        ("out/{file_number}/p_", "must not use {file_number} in its directory part"),
        ("out/../p_", "must not contain '..'"),
        ("out/p_{", "unbalanced braces"),
        ("out/{groups[0]}~/p_", "must not use '~' beside a placeholder"),
        ("out/" + "\u4e2d" * 70 + "_", "bytes"),
        ("x" * 256 + "/p_", "bytes"),
    ],
)
def test_filebases_that_cannot_give_distinct_names_are_refused(filebase: str, message: str):
    problems = Filebase.problems(filebase)
    assert len(problems) == 1 and message in problems[0], problems
    assert "\n" not in problems[0]


def test_negative_start_file_count_is_refused(tmp_path: Path):
    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 1}},
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "p_"), "start_file_count": -1}},
    }
    with pytest.raises(ConfigurationError, match="start_file_count"):
        BasicExporter(config)


# -- names ---------------------------------------------------------------------------------------------------


def test_exporters_names_are_kept():
    assert path("out/items_", number=3) == "out/items_0003.jl.gz"
    assert path("out/items_", "ES", number=3) == "out/items_0003-ES.jl.gz"
    assert path("out/items_", "ES", "Madrid") == "out/items_0000-ES-Madrid.jl.gz"
    assert (
        path("out/{groups[0]}/{groups[1]}/file", "ES", "Madrid", number=1) == "out/ES/Madrid/file0001.jl.gz"
    )
    assert path("out/{groups[0]}/p-{file_number:03d}", "ES", number=7) == "out/ES/p-007.jl.gz"
    assert path("out/g-{groups[0]}-{file_number}", "ok", number=12) == "out/g-ok-12.jl.gz"


def test_file_number_and_unnamed_groups_are_added():
    assert path("out/{groups[0]}_items_", "ES", number=1) == "out/ES_items_0001.jl.gz"
    assert path("out/p_{groups[0]}", "ES", number=1) == "out/p_ES-0001.jl.gz"
    assert path("out/{groups[0]}/p_", "ES", "Madrid") == "out/ES/p_0000-Madrid.jl.gz"


def test_static_directory_stops_at_the_first_segment_with_a_placeholder():
    assert Filebase("out/x{groups[0]}/y/p_").static_directory() == "out"
    assert Filebase("/abs/out/p_").static_directory() == "/abs/out"
    assert Filebase("/{groups[0]}/p_").static_directory() == "/"
    assert Filebase("p_").static_directory() == ""


def test_values_that_look_cleaned_are_cleaned_too():
    cleaned = safe_segment("a/b")
    assert cleaned.startswith("a_b-")
    assert safe_segment(cleaned) != cleaned


def test_md5_file_name_is_never_a_data_path():
    for filebase in ("out/{groups[0]}/p_", "out/md5{groups[0]}/p_", "out/{groups[0]}.md5/p_"):
        for value in (MD5_FILE_NAME, "checksum.md5", "md5checksum"):
            assert MD5_FILE_NAME not in path(filebase, value).split("/")


# -- the contract, on hostile values -------------------------------------------------------------------

FILEBASES = [
    "out/items_",
    "out/{groups[0]}/p_",
    "out/{groups[0]}_items_",
    "out/g{groups[0]}{file_number}",
    "out/{groups[0]}{groups[1]}/p_",
    "out/{groups[1]}-{groups[0]}/x_{file_number}_",
    "out/md5{groups[0]}/p_{groups[1]}",
    "out/{file_number:02d}{groups[1]}",
    ".{groups[0]}./{groups[1]}.",
]
VALUES = st.one_of(
    st.text(alphabet="a-1", max_size=3),  # small: concatenations that read alike are likely
    st.text(alphabet="ab-_.~/ 01", max_size=6),
    st.sampled_from(["", ".", "..", "md5checksum.md5", "checksum.md5", "md5", safe_segment("a/b"), "a_b"]),
    st.text(alphabet="\u4e2d\u6587x-", min_size=60, max_size=120),
    st.integers(min_value=0, max_value=120).map(str),
    st.none(),
)
KEYS = st.tuples(VALUES, VALUES, st.sampled_from([0, 1, 10, 11, 110]))


@settings(max_examples=300, deadline=None)
@given(filebase=st.sampled_from(FILEBASES), keys=st.lists(KEYS, min_size=2, max_size=40))
def test_different_files_never_share_a_path(filebase: str, keys: list[tuple[Any, Any, int]]):
    named: dict[str, tuple[tuple[str, str], int]] = {}
    for first, second, number in keys:
        groups = (safe_segment(first), safe_segment(second))
        name = Filebase(filebase).path(groups, number, TAIL)
        assert named.setdefault(name, (groups, number)) == (groups, number), f"{name} named twice"
        for segment in name.split("/"):
            assert len(segment.encode("utf-8", "surrogatepass")) <= SEGMENT_BYTES
            assert segment not in ("", ".", "..", MD5_FILE_NAME)


@settings(max_examples=300, deadline=None)
@given(
    filebase=st.sampled_from(FILEBASES),
    keys=st.lists(
        st.tuples(st.text("a-1", max_size=3), st.text("a-1", max_size=3), st.sampled_from([0, 1, 10])),
        min_size=20,
        max_size=60,
    ),
)
def test_texts_that_concatenate_alike_never_share_a_path(filebase: str, keys: list[tuple[Any, Any, int]]):
    test_different_files_never_share_a_path.hypothesis.inner_test(filebase, keys)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("filebase", "first", "second"),
    [
        ("out/items_", ("x-y", "z", 0), ("x", "y-z", 0)),
        ("out/g{groups[0]}{file_number}", ("1", "", 10), ("11", "", 0)),
        ("out/{groups[0]}{groups[1]}/p_", ("a", "1-", 0), ("a1", "-", 0)),
        ("out/{file_number:02d}{groups[1]}", ("", "1", 10), ("", "01", 1)),
        ("out/p_{groups[0]}", ("2", "", 1), ("2-0001", "", 0)),
    ],
)
def test_known_look_alikes_get_different_paths(
    filebase: str, first: tuple[Any, Any, int], second: tuple[Any, Any, int]
):
    assert path(filebase, *first[:2], number=first[2]) != path(filebase, *second[:2], number=second[2])


@settings(max_examples=300, deadline=None)
@given(first=st.text(max_size=130), second=st.text(max_size=130))
def test_safe_segment_is_injective(first: str, second: str):
    if first != second:
        assert safe_segment(first) != safe_segment(second)
    assert "/" not in safe_segment(first) and "~" not in safe_segment(first)


# -- a repeated name stops the run -----------------------------------------------------------------------


class OneNameWriter(FSWriter):
    """A third-party writer whose naming forgets the file number (the bug the guard is for)."""

    def destination_name(self, group: GroupKey, number: int) -> str:
        return super().destination_name(group, 0)


def test_a_name_given_twice_stops_the_export_instead_of_overwriting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    write_json_lines_gz("in/items.jl.gz", [{"id": number} for number in range(4)])
    config = {
        "reader": {"name": "FSReader", "options": {"input": "in/items.jl.gz", "batch_size": 2}},
        "writer": {
            "name": f"{__name__}.OneNameWriter",
            "options": {"filebase": "out/p_", "items_per_buffer_write": 2},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": ".state"}},
    }
    with pytest.raises(WriterError, match="already written in this run"):
        BasicExporter(config).export()
