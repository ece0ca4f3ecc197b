"""JqTransform: first or all outputs, select drops, errors located, no environment access."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.engine.registry import resolve
from airflow_provider_ozzy.errors import ConfigurationError, OzzyError
from airflow_provider_ozzy.transform.jq_transform import JqTransform

ITEMS = [
    {"id": 1, "name": "Ana", "user": {"geo": {"lat": 1.5}}, "kids": [{"k": 1}, {"k": 2}], "price": 10},
    {"id": 2, "name": "Björn 東京", "kids": [], "price": None},
    {"id": 3, "name": None, "kids": [{"k": 3}], "price": 30.5},
]


def run(program: str, outputs: str = "first") -> list[dict]:
    return JqTransform({"jq_filter": program, "outputs": outputs}).transform_batch(
        [dict(item) for item in ITEMS]
    )


def test_projection_nested_missing_and_unicode() -> None:
    assert run("{id, name, lat: .user.geo.lat}") == [
        {"id": 1, "name": "Ana", "lat": 1.5},
        {"id": 2, "name": "Björn 東京", "lat": None},
        {"id": 3, "name": None, "lat": None},
    ]


def test_select_drops_items() -> None:
    assert [item["id"] for item in run("select(.price != null and .price > 20)")] == [3]


def test_first_or_all_outputs() -> None:
    assert run(".kids[]") == [{"k": 1}, {"k": 3}]  # first output only; no output drops the item
    assert run(".kids[]", outputs="all") == [{"k": 1}, {"k": 2}, {"k": 3}]


def test_program_with_a_trailing_comment() -> None:
    assert run("{id} # just the id") == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert run(".kids[] # every kid", outputs="all") == [{"k": 1}, {"k": 2}, {"k": 3}]


def test_empty_batch() -> None:
    assert JqTransform({"jq_filter": "."}).transform_batch([]) == []


def test_environment_and_other_inputs_are_not_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZZY_SECRET_FOR_TEST", "s3cr3t")
    assert run("{e: env.OZZY_SECRET_FOR_TEST, E: $ENV.OZZY_SECRET_FOR_TEST}")[0] == {"e": None, "E": None}
    with pytest.raises(OzzyError, match="input is not available"):
        run("input")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"jq_filter": "{"}, "option 'jq_filter': '{' does not compile"),
        ({"jq_filter": 'import "x" as y; .'}, "does not compile"),
        ({"jq_filter": ".", "outputs": "some"}, "option 'outputs' must be one of first, all"),
    ],
)
def test_bad_options_are_configuration_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        JqTransform(options)
    assert "transform JqTransform" in str(raised.value) and message in str(raised.value)


def test_runtime_failure_names_the_item() -> None:
    module = JqTransform({"jq_filter": "{n: (.name | ascii_downcase)}"})
    with pytest.raises(OzzyError, match="failed on item 3: explode input must be a string"):
        module.transform_batch([dict(item) for item in ITEMS])


def test_non_object_output_is_a_clear_error() -> None:
    with pytest.raises(OzzyError, match="produced 10, which is not an object"):
        run(".price")


def test_legacy_name() -> None:
    assert resolve("exporters.transform.jq_transform.JQTransform", "transform") is JqTransform
