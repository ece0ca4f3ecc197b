"""``Filebase`` as the one reading of ``filebase``: names of a run, their pattern, shards, lineage.

The shard check lists a shard's files with ``Filebase.regex``; it must match every path
``Filebase.path`` gives (shortened names included) and, for a shard, no other shard's path.
"""

from __future__ import annotations

import datetime
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_ozzy.core.filebase import Filebase
from airflow_provider_ozzy.core.path_safety import safe_segment
from airflow_provider_ozzy.sharding.check import local_directory

GROUPS = 3
MOMENT = datetime.datetime(2024, 2, 29, 13, 5, 9, tzinfo=datetime.UTC)

_literals = st.text(alphabet="ab_-.x0", min_size=1, max_size=3)
_groups = st.integers(0, GROUPS - 1).map(lambda index: f"{{groups[{index}]}}")
_numbers = st.sampled_from(["{file_number}", "{file_number:04d}", "{file_number:d}"])
_directory_segments = st.lists(st.one_of(_literals, _groups), max_size=3).map("".join)
_name_segments = st.lists(st.one_of(_literals, _groups, _numbers), max_size=4).map("".join)


@st.composite
def options(draw: st.DrawFn) -> str:
    """A valid raw ``filebase`` of up to three directory segments and a file-name part."""
    directory = draw(st.lists(_directory_segments, max_size=3))
    option = "/".join([*directory, draw(_name_segments)])
    if draw(st.booleans()):
        option = "/" + option
    if Filebase.problems(option):
        option = "out/{groups[0]}/items_"
    return option


# group values: short ones near the literals (to break readability), any text, and long ones
# (several in one segment go over 240 bytes: the name is shortened)
_values = st.one_of(
    st.text(alphabet="ab_-.x0123456789", max_size=6),
    st.text(max_size=20),
    st.text(alphabet="ab", min_size=90, max_size=100),
)
_group_texts = st.lists(_values, min_size=GROUPS, max_size=GROUPS).map(
    lambda values: tuple(safe_segment(value) for value in values)
)
_tails = st.sampled_from([".jl", ".jl.gz", ".parquet.zstd", ".csv.bz2"])

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(options(), _group_texts, st.integers(0, 10**6), _tails)
def test_the_regex_matches_every_path_the_filebase_gives(
    option: str, groups: tuple[str, ...], number: int, tail: str
) -> None:
    filebase = Filebase(option)
    path = filebase.path(groups, number, tail)
    assert filebase.regex().match(path), (option, path)


@_SETTINGS
@given(options(), _group_texts, st.integers(0, 10**6), _tails, st.integers(2, 1200), st.data())
def test_a_shards_regex_matches_its_own_paths_and_no_other_shards(
    option: str, groups: tuple[str, ...], number: int, tail: str, count: int, data: st.DataObject
) -> None:
    mine, other = data.draw(st.lists(st.integers(0, count - 1), min_size=2, max_size=2, unique=True))
    path = Filebase(Filebase.sharded(option, mine, count)).path(groups, number, tail)
    assert Filebase(Filebase.sharded(option, mine, count)).regex().match(path)
    assert not Filebase(Filebase.sharded(option, other, count)).regex().match(path), (option, path)


def test_shortened_names_keep_the_shard_tag() -> None:
    # the tag used to go at the end of a name without {file_number}: cut off when the groups made
    # the name too long, so two shards wrote one name
    option = "out/items_{groups[0]}_{groups[1]}_{groups[2]}_"
    groups = tuple(safe_segment(letter * 100) for letter in "abc")
    paths = {Filebase(Filebase.sharded(option, index, 4)).path(groups, 0, ".jl") for index in range(4)}
    assert len(paths) == 4
    assert all("~" in path for path in paths)
    assert Filebase.sharded(option, 1, 4) == "out/items_shard001_{groups[0]}_{groups[1]}_{groups[2]}_"


@pytest.mark.parametrize(
    ("option", "sharded"),
    [
        ("out/items_", "out/items_shard002_"),
        ("out/", "out/shard002_"),
        ("out/{groups[0]}/x_{file_number:04d}.part", "out/{groups[0]}/x_shard002_{file_number:04d}.part"),
        ("out/{groups[0]}-{file_number}", "out/shard002_{groups[0]}-{file_number}"),
        ("out/a{{b}}_{file_number}", "out/a{{b}}_shard002_{file_number}"),
        ("%Y/{groups[0]}/%m_{file_number}", "%Y/{groups[0]}/%m_shard002_{file_number}"),
    ],
)
def test_the_shard_tag_goes_before_the_first_placeholder_of_the_file_name(option: str, sharded: str) -> None:
    assert Filebase.sharded(option, 2, 10) == sharded


def test_the_regex_reads_numbers_with_a_width_and_unnamed_groups() -> None:
    pattern = Filebase("out/x_{file_number:04d}").regex()
    assert pattern.match("out/x_0003.jl")
    assert pattern.match("out/x_0003-ES-Madrid.jl.gz")
    assert not pattern.match("out/x_.jl")
    assert not pattern.match("out/y_0003.jl")
    assert Filebase("out/").regex().match("out/0000-ES.jl.gz")
    assert not Filebase("out/").regex().match("out/.0000.jl.gz.ozzy-partial")


def test_the_effective_name_is_the_option_at_a_moment() -> None:
    assert Filebase.effective_at("out/%Y-%m-%d/items_%H%%_", MOMENT) == "out/2024-02-29/items_13%_"
    assert Filebase.at("out/%Y/{groups[0]}/", MOMENT).static_directory() == "out/2024"
    today = datetime.datetime.now(datetime.UTC).strftime("%Y")
    assert Filebase.effective_at("out/%Y/") in (f"out/{today}/", f"out/{int(today) + 1}/")


def test_the_shard_check_lists_from_the_static_directory() -> None:
    def static_directory(filebase: str) -> str:
        return local_directory(Filebase(filebase))

    assert static_directory("out/x{groups[0]}/y/p_") == "out"
    assert static_directory("/{groups[0]}/p_") == "/"
    assert static_directory("p_") == "."
    assert static_directory("{groups[0]}/p_") == "."
    assert static_directory("out/{{literal}}/p_") == "out/{literal}"


@pytest.mark.parametrize(
    ("option", "root", "directory"),
    [
        ("out/%Y/{groups[0]}/items_", "/", "out"),
        ("/data/out/{groups[0]}/%Y_items_", "/", "/data/out"),
        ("exports/%Y/%m/items_", "/", "exports"),
        ("out/sub/items_", "/", "out/sub"),
        ("orders/", "/", "orders"),
        ("items_", "/", "/"),
        ("items_", ".", "."),
        ("items_", "", ""),
        ("/items_", "", "/"),
        ("/", "/", "/"),
        ("out//items_", "/", "out"),
        # a writer writes these literally: the dataset is the directory it writes to
        ("out/a*b/items_", "/", "out/a*b"),
        ("out/[x]/items_", "/", "out/[x]"),
        ("out/100%%/items_", "/", "out/100%"),
        ("out/{{x}}/items_", "/", "out/{x}"),
        ("out/x%Y/items_", "/", "out"),
    ],
)
def test_lineage_names_the_directory_every_run_writes_under(option: str, root: str, directory: str) -> None:
    assert Filebase.lineage_directory(option, root) == directory


def test_matching_a_hostile_name_ends_at_once() -> None:
    """A listed name of 240 characters against a pattern with groups side by side: the pattern of
    each group (``[^/]+``) used to backtrack through every split of a name that does not match
    (hours for six groups: the shard check hung on a foreign file). Run in a child process so a
    regression fails here instead of hanging the suite."""
    code = (
        "from airflow_provider_ozzy.core.filebase import Filebase\n"
        "option = 'out/{groups[0]}_.-{groups[1]}/' + '{groups[1]}{groups[2]}' * 3\n"
        "regex = Filebase(Filebase.sharded(option, 8, 1000)).regex()\n"
        "assert not regex.match('out/a_.-b/shard008_' + '-a' * 120)\n"
        "assert regex.match(Filebase(Filebase.sharded(option, 8, 1000)).path(('a', 'b', 'c' * 90), 3, '.jl'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
