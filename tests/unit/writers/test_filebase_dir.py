"""``Filebase`` with no file-name prefix (``out/``, issue 18): exporters' names, still never shared.

exporters' ``formatted_prefix`` with an empty prefix gives the file number (``0000``) and then
``-value`` for every group ``filebase`` does not name. The property test draws hostile group values
and checks the contract of ``Filebase.path``: two (group, file number) pairs never share a path.
End-to-end cases are in tests/integration/test_filebase_dir.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_ozzy.bypasses.base_bypass import BypassNotApplicable
from airflow_provider_ozzy.bypasses.object_copy import copy_targets
from airflow_provider_ozzy.core.filebase import MD5_FILE_NAME, SEGMENT_BYTES, Filebase
from airflow_provider_ozzy.core.path_safety import safe_segment
from airflow_provider_ozzy.readers.base_stream_reader import Stream

TAIL = ".jl.gz"


def path(filebase: str, *groups: Any, number: int = 0) -> str:
    return Filebase(filebase).path(tuple(safe_segment(value) for value in groups), number, TAIL)


@pytest.mark.parametrize(
    "filebase", ["out/", "some_prefix/", "tests/", "/tmp/", "some_path/%Y-%m-%d/", "out/{groups[0]}/", "/"]
)
def test_exporters_dir_filebases_are_accepted(filebase: str):
    assert Filebase.problems(filebase) == []


@pytest.mark.parametrize(
    ("filebase", "message"),
    [
        ("out/../", "must not contain '..'"),
        ("out/{file_number}/", "must not use {file_number} in its directory part"),
        ("x" * 256 + "/", "bytes"),
    ],
)
def test_dir_filebases_keep_the_other_checks(filebase: str, message: str):
    problems = Filebase.problems(filebase)
    assert len(problems) == 1 and message in problems[0], problems


def test_exporters_names_for_a_dir():
    assert path("out/") == "out/0000.jl.gz"
    assert path("out/", number=12) == "out/0012.jl.gz"
    assert path("/tmp/", number=1) == "/tmp/0001.jl.gz"
    assert path("/", number=1) == "/0001.jl.gz"
    assert path("out/", "ES") == "out/0000-ES.jl.gz"
    assert path("out/", "ES", "Madrid", number=3) == "out/0003-ES-Madrid.jl.gz"
    assert path("out/{groups[0]}/", "ES", number=2) == "out/ES/0002.jl.gz"
    assert path("out/{groups[1]}/", "ES", "Madrid") == "out/Madrid/0000-ES.jl.gz"
    assert Filebase("out/").path((), 0, ".jl") == "out/0000.jl"


def test_static_directory_of_a_dir_is_the_dir():
    assert Filebase("out/").static_directory() == "out"
    assert Filebase("/tmp/").static_directory() == "/tmp"
    assert Filebase("/").static_directory() == "/"
    assert Filebase("out/{groups[0]}/").static_directory() == "out"
    assert Filebase("out/").names_no_file_prefix and not Filebase("out/p_").names_no_file_prefix


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("x-y", "z", 0), ("x", "y-z", 0)),
        (("0001", "", 0), ("", "", 1)),
        (("1", "", 10), ("11", "", 0)),
    ],
)
def test_look_alikes_in_a_dir_get_different_paths(first: tuple[Any, Any, int], second: tuple[Any, Any, int]):
    assert path("out/", *first[:2], number=first[2]) != path("out/", *second[:2], number=second[2])


DIR_FILEBASES = ["out/", "out/{groups[0]}/", "out/{groups[1]}/", "/", "out/x{groups[0]}y/"]
VALUES = st.one_of(
    st.text(alphabet="a-1", max_size=3),
    st.text(alphabet="ab-_.~/ 01", max_size=6),
    st.sampled_from(["", ".", "..", MD5_FILE_NAME, "0000", "0001-x", safe_segment("a/b"), "a_b"]),
    st.text(alphabet="\u4e2d\u6587x-", min_size=60, max_size=120),
    st.integers(min_value=0, max_value=120).map(str),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(
    filebase=st.sampled_from(DIR_FILEBASES),
    keys=st.lists(st.tuples(VALUES, VALUES, st.sampled_from([0, 1, 10, 11, 110])), min_size=2, max_size=40),
)
def test_different_files_in_a_dir_never_share_a_path(filebase: str, keys: list[tuple[Any, Any, int]]):
    named: dict[str, tuple[tuple[str, str], int]] = {}
    for first, second, number in keys:
        groups = (safe_segment(first), safe_segment(second))
        name = Filebase(filebase).path(groups, number, TAIL)
        assert named.setdefault(name, (groups, number)) == (groups, number), f"{name} named twice"
        segments = name.split("/")
        for segment in segments[1:]:
            assert len(segment.encode("utf-8", "surrogatepass")) <= SEGMENT_BYTES
            assert segment not in ("", ".", "..", MD5_FILE_NAME)
        assert not segments[-1].startswith(".")


# -- where a bypass copies each object ---------------------------------------------------------------------


class FakeWriter:
    """What ``copy_targets`` asks a writer: its parsed filebase and its pipeline names."""

    case_insensitive_names = False

    def __init__(self, filebase: str) -> None:
        self.filebase = Filebase(filebase)

    def destination_name(self, group: tuple[str, ...], number: int) -> str:
        return self.filebase.path(group, number, TAIL)


def streams(*names: str) -> list[Stream]:
    return [Stream(name, 10, "etag") for name in names]


def test_bypass_targets_of_a_dir_are_the_source_basenames():
    assert copy_targets(FakeWriter("out/"), streams("src/a.jl.gz", "src/x/b.jl.gz")) == [
        "out/a.jl.gz",
        "out/b.jl.gz",
    ]
    assert copy_targets(FakeWriter("/"), streams("src/a.jl.gz")) == ["/a.jl.gz"]


def test_bypass_targets_with_a_prefix_are_the_pipeline_names():
    assert copy_targets(FakeWriter("out/p_"), streams("src/a.jl.gz", "src/b.jl.gz")) == [
        "out/p_0000.jl.gz",
        "out/p_0001.jl.gz",
    ]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("src/x/part.jl.gz", "src/y/part.jl.gz"), "part.jl.gz"),
        (("src/" + "x" * 300 + ".jl.gz",), "bytes"),
        (("src/md5checksum.md5",), MD5_FILE_NAME),
    ],
)
def test_bypass_declines_basenames_that_cannot_name_distinct_files(names: tuple[str, ...], message: str):
    with pytest.raises(BypassNotApplicable, match=message):
        copy_targets(FakeWriter("out/"), streams(*names))


def test_case_insensitive_destinations_decline_basenames_differing_in_case():
    writer = FakeWriter("out/")
    assert len(copy_targets(writer, streams("src/A.jl.gz", "src/a.jl.gz"))) == 2
    writer.case_insensitive_names = True
    with pytest.raises(BypassNotApplicable, match="case"):
        copy_targets(writer, streams("src/A.jl.gz", "src/a.jl.gz"))
