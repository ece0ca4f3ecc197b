"""``supported_options``: inheritance, env fallbacks, coercion, type errors, mandatory and unknown options."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from airflow_provider_ozzy.core.options import (
    DICT_LIST,
    INT_LIST,
    STR_LIST,
    Problem,
    coerce,
    is_mandatory,
    merged_options,
    option_schema,
    resolve_options,
    type_name,
)
from airflow_provider_ozzy.core.pipeline_item import PipelineItem
from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.readers.fs_reader import FSReader
from airflow_provider_ozzy.writers.fs_writer import FSWriter


class Base(PipelineItem):
    kind = "filter"
    supported_options: ClassVar[dict[str, dict[str, Any]]] = {
        "size": {"type": int, "default": 10, "help": "base size"},
        "name": {"type": str, "help": "mandatory in the base"},
        "shared": {"type": str, "default": "base"},
    }


class Middle(Base):
    supported_options: ClassVar[dict[str, dict[str, Any]]] = {
        "ratio": {"type": float, "default": 0.5},
        "shared": {"type": str, "default": "middle"},  # overrides the base declaration
    }


class Leaf(Middle):
    supported_options: ClassVar[dict[str, dict[str, Any]]] = {
        "tags": {"type": STR_LIST, "default": []},
        "secret_key": {"type": str, "env_fallback": "OZZY_TEST_SECRET", "secret": True},
    }


class Checked(PipelineItem):
    """A module with a cross-option check."""

    supported_options: ClassVar[dict[str, dict[str, Any]]] = {
        "low": {"type": int, "default": 0},
        "high": {"type": int, "default": 10},
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        if values["low"] > values["high"]:
            return [Problem("low", "option 'low' must not exceed 'high'")]
        return []


# -- inheritance -------------------------------------------------------------------------------------------


def test_options_are_inherited_and_overridden_in_mro_order():
    options = merged_options(Leaf)
    assert set(options) == {"size", "name", "shared", "ratio", "tags", "secret_key"}
    assert options["shared"]["default"] == "middle"
    assert merged_options(Base)["shared"]["default"] == "base"
    assert "ratio" not in merged_options(Base)  # a subclass never changes its base


def test_inherited_options_resolve_with_defaults(monkeypatch):
    monkeypatch.setenv("OZZY_TEST_SECRET", "s3cr3t")
    module = Leaf({"name": "x"})
    assert module.options == {
        "size": 10,
        "name": "x",
        "shared": "middle",
        "ratio": 0.5,
        "tags": [],
        "secret_key": "s3cr3t",
    }


def test_real_modules_inherit_writer_and_reader_options():
    writer = merged_options(FSWriter)
    for name in ("items_per_buffer_write", "size_per_buffer_write", "items_limit", "compression", "filebase"):
        assert name in writer
    reader = merged_options(FSReader)
    assert {"batch_size", "input"} <= set(reader)


def test_defaults_are_copied_not_shared():
    first, second = Leaf({"name": "a", "secret_key": "k"}), Leaf({"name": "b", "secret_key": "k"})
    first.options["tags"].append("changed")
    assert second.options["tags"] == []
    assert Leaf.supported_options["tags"]["default"] == []


# -- mandatory and unknown options -------------------------------------------------------------------------


def test_mandatory_means_no_default_and_no_env_fallback():
    options = merged_options(Leaf)
    assert is_mandatory(options["name"])
    assert not is_mandatory(options["size"])
    assert not is_mandatory(options["secret_key"])


def test_missing_mandatory_options_are_all_reported(monkeypatch):
    monkeypatch.delenv("OZZY_TEST_SECRET", raising=False)
    _, problems = Leaf.resolve({})
    assert sorted(problems) == [
        Problem("name", "missing mandatory option 'name'"),
        Problem(
            "secret_key",
            "missing mandatory option 'secret_key' (also tried environment variable OZZY_TEST_SECRET)",
        ),
    ]


def test_unknown_options_are_rejected_with_the_supported_list():
    _, problems = Base.resolve({"name": "x", "sise": 3, "colour": "red"})
    assert [problem.option for problem in problems] == ["sise", "colour"]
    assert (
        problems[0].message
        == "unknown option 'sise' (did you mean 'size'? supported options: name, shared, size)"
    )


def test_construction_raises_every_problem_at_once(monkeypatch):
    monkeypatch.delenv("OZZY_TEST_SECRET", raising=False)
    with pytest.raises(ConfigurationError) as raised:
        Leaf({"size": "big", "bogus": 1, "tags": "not a list"})
    errors = raised.value.errors
    assert len(errors) == 5
    assert all(error.startswith("filter Leaf: ") for error in errors)
    text = str(raised.value)
    assert text.startswith("invalid configuration: 5 errors")
    for fragment in (
        "'bogus'",
        "'size' must be an integer",
        "'tags' must be a list of strings",
        "'name'",
        "'secret_key'",
    ):
        assert fragment in text


def test_cross_option_checks_run_after_resolution():
    assert Checked.resolve({"low": 1, "high": 2})[1] == []
    assert Checked.resolve({"low": 5, "high": 2})[1] == [
        Problem("low", "option 'low' must not exceed 'high'")
    ]
    with pytest.raises(ConfigurationError, match="must not exceed"):
        Checked({"low": 5, "high": 2})


# -- types and coercion ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "option_type", "expected"),
    [
        (["a", "b"], STR_LIST, ["a", "b"]),
        (("a", "b"), STR_LIST, ["a", "b"]),
        ([], STR_LIST, []),
        ([1, 2], INT_LIST, [1, 2]),
        ((3,), INT_LIST, [3]),
        ([{"a": 1}, {}], DICT_LIST, [{"a": 1}, {}]),
        (3, float, 3.0),
        (2.5, float, 2.5),
        (7, int, 7),
        (2**80, int, 2**80),
        (True, bool, True),
        ("x", str, "x"),
        ({"k": 1}, dict, {"k": 1}),
        ([1, "a"], list, [1, "a"]),
        (None, (int, type(None)), None),
        (4, (int, type(None)), 4),
        ("s", (str, dict, list), "s"),
        (["s"], (str, dict, list), ["s"]),
        (object(), object, None),  # anything goes; checked below by identity
    ],
)
def test_coerce_accepts(value, option_type, expected):
    result = coerce(value, option_type)
    if option_type is object:
        assert result is value
    else:
        assert result == expected
        assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "option_type"),
    [
        ("a", STR_LIST),  # a string is not a list of strings
        (["a", 1], STR_LIST),
        ([1, "2"], INT_LIST),
        ([1, True], INT_LIST),  # booleans are not integers
        ([1.5], INT_LIST),
        ([{"a": 1}, "b"], DICT_LIST),
        ({"a": 1}, DICT_LIST),
        (True, int),
        ("3", int),
        (3.0, int),
        (1, bool),
        ("true", bool),
        (True, float),
        ("1.5", float),
        (3, str),
        (None, str),
        ([], dict),
        ("x", (int, type(None))),
    ],
)
def test_coerce_rejects(value, option_type):
    _, problems = resolve_options({"opt": {"type": option_type, "default": "unused"}}, {"opt": value})
    assert len(problems) == 1 and problems[0].option == "opt"
    expected = type_name(option_type)
    article = "an" if expected[0] in "aeiou" else "a"
    assert problems[0].message.startswith(f"option 'opt' must be {article} {expected}, got ")
    assert problems[0].message.endswith(" from value")


def test_type_error_message_names_type_and_value():
    _, problems = resolve_options({"count": {"type": int, "default": 1}}, {"count": "ten"})
    assert problems == [Problem("count", "option 'count' must be an integer, got string 'ten' from value")]
    _, problems = resolve_options({"keys": {"type": STR_LIST}}, {"keys": ["a", 2]})
    assert problems == [
        Problem("keys", "option 'keys' must be a list of strings, got list ['a', 2] from value")
    ]
    _, problems = resolve_options({"level": {"type": (int, type(None)), "default": None}}, {"level": "x"})
    assert problems[0].message == "option 'level' must be an integer or null, got string 'x' from value"


def test_long_values_are_shortened_in_messages():
    _, problems = resolve_options({"name": {"type": int, "default": 0}}, {"name": "x" * 500})
    assert len(problems[0].message) < 150 and "..." in problems[0].message


def test_secret_values_never_appear_in_messages(monkeypatch):
    spec = {"password": {"type": str, "secret": True, "env_fallback": "OZZY_TEST_PASSWORD"}}
    _, problems = resolve_options(spec, {"password": 123456789})
    assert problems and "123456789" not in problems[0].message
    monkeypatch.setenv("OZZY_TEST_PASSWORD", "hunter2")
    values, problems = resolve_options(spec, {})
    assert values == {"password": "hunter2"} and problems == []


def test_explicit_null_allowed_only_when_the_default_is_null():
    declared = {"maybe": {"type": int, "default": None}, "never": {"type": int, "default": 3}}
    values, problems = resolve_options(declared, {"maybe": None})
    assert values["maybe"] is None and problems == []
    _, problems = resolve_options(declared, {"never": None})
    assert [problem.option for problem in problems] == ["never"]
    assert problems[0].message.startswith("option 'never' must be an integer, got null")


# -- environment fallbacks ---------------------------------------------------------------------------------

ENV_DECLARED = {
    "text": {"type": str, "env_fallback": "OZZY_T_TEXT"},
    "number": {"type": int, "default": 1, "env_fallback": "OZZY_T_NUMBER"},
    "flag": {"type": bool, "default": False, "env_fallback": "OZZY_T_FLAG"},
    "names": {"type": STR_LIST, "default": [], "env_fallback": "OZZY_T_NAMES"},
    "either": {"type": (str, int), "default": 0, "env_fallback": "OZZY_T_EITHER"},
}


@pytest.fixture
def clean_env(monkeypatch):
    for spec in ENV_DECLARED.values():
        monkeypatch.delenv(spec["env_fallback"], raising=False)
    return monkeypatch


def test_env_fallback_used_when_option_absent(clean_env):
    clean_env.setenv("OZZY_T_TEXT", "from-env")
    clean_env.setenv("OZZY_T_NUMBER", "42")
    clean_env.setenv("OZZY_T_FLAG", "yes")
    clean_env.setenv("OZZY_T_NAMES", "a, b,,c ")
    clean_env.setenv("OZZY_T_EITHER", "7")
    values, problems = resolve_options(ENV_DECLARED, {})
    assert problems == []
    assert values == {"text": "from-env", "number": 42, "flag": True, "names": ["a", "b", "c"], "either": "7"}


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False)]
)
def test_env_booleans(clean_env, raw, expected):
    clean_env.setenv("OZZY_T_TEXT", "t")
    clean_env.setenv("OZZY_T_FLAG", raw)
    assert resolve_options(ENV_DECLARED, {})[0]["flag"] is expected


def test_explicit_value_beats_env_beats_default(clean_env):
    assert resolve_options(ENV_DECLARED, {"text": "t"})[0]["number"] == 1  # default
    clean_env.setenv("OZZY_T_NUMBER", "5")
    assert resolve_options(ENV_DECLARED, {"text": "t"})[0]["number"] == 5  # env
    assert resolve_options(ENV_DECLARED, {"text": "t", "number": 9})[0]["number"] == 9  # value


def test_env_set_to_empty_string_counts_as_set(clean_env):
    clean_env.setenv("OZZY_T_TEXT", "")
    values, problems = resolve_options(ENV_DECLARED, {})
    assert problems == [] and values["text"] == ""


def test_env_value_of_the_wrong_type_names_the_variable(clean_env):
    clean_env.setenv("OZZY_T_TEXT", "t")
    clean_env.setenv("OZZY_T_NUMBER", "lots")
    _, problems = resolve_options(ENV_DECLARED, {})
    assert problems == [
        Problem(
            "number",
            "option 'number' must be an integer, got string 'lots' from environment variable OZZY_T_NUMBER",
        )
    ]


def test_env_fallback_of_a_real_module(monkeypatch, tmp_path):
    from airflow_provider_ozzy.persistence.pickle_persistence import PicklePersistence

    monkeypatch.setenv("OZZY_STATE_DIR", str(tmp_path / "states"))
    assert PicklePersistence({}).options["file_path"] == str(tmp_path / "states")
    assert PicklePersistence({"file_path": "explicit"}).options["file_path"] == "explicit"
    monkeypatch.delenv("OZZY_STATE_DIR")
    assert PicklePersistence({}).options["file_path"] == ".ozzy-state"


# -- option schema fragments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": str}, {"type": "string"}),
        ({"type": int, "default": 3, "help": "h"}, {"type": "integer", "default": 3, "description": "h"}),
        ({"type": STR_LIST}, {"type": "array", "items": {"type": "string"}}),
        ({"type": INT_LIST}, {"type": "array", "items": {"type": "integer"}}),
        ({"type": DICT_LIST}, {"type": "array", "items": {"type": "object"}}),
        (
            {"type": (int, type(None)), "default": None},
            {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        ),
        ({"type": (str, dict, list)}, {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}]}),
    ],
)
def test_option_schema(spec, expected):
    assert option_schema(spec) == expected


def test_choices_are_checked_where_they_are_declared():
    """One rule for every option with ``choices`` (modules no longer repeat it in check_values)."""
    declared = {
        "codec": {"type": str, "default": "gz", "choices": ("gz", "zstd")},
        "n": {"type": int, "default": 1},
    }
    values, problems = resolve_options(declared, {"codec": "rar"})
    assert [(problem.option, problem.message) for problem in problems] == [
        ("codec", "option 'codec' must be one of gz, zstd, got 'rar'")
    ]
    assert values == {"codec": "rar", "n": 1}  # kept, so cross-option checks still run
    assert resolve_options(declared, {"codec": "zstd"})[1] == []
