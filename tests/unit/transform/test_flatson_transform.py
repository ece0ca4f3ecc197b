"""FlatsonTransform: dotted keys for nested objects, lists as JSON text, optional schema."""

from __future__ import annotations

import json

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.transform.flatson_transform import FlatsonTransform

ITEM = {
    "id": 1,
    "user": {"name": "Björn 東京", "geo": {"lat": 1.5, "lon": None}, "empty": {}},
    "tags": ["a", "ü"],
    "rows": [{"x": 1}],
    "ok": True,
}


def test_flattens_everything_by_default() -> None:
    assert FlatsonTransform({}).transform_batch([ITEM]) == [
        {
            "id": 1,
            "user.name": "Björn 東京",
            "user.geo.lat": 1.5,
            "user.geo.lon": None,
            "tags": '["a","ü"]',
            "rows": '[{"x":1}]',
            "ok": True,
        }
    ]
    assert json.loads(FlatsonTransform({}).transform_batch([ITEM])[0]["rows"]) == [{"x": 1}]


def test_separator_and_kept_lists() -> None:
    flat = FlatsonTransform({"separator": "__", "arrays": "keep"}).transform_batch([ITEM])[0]
    assert flat["user__geo__lat"] == 1.5 and flat["tags"] == ["a", "ü"]


def test_schema_fixes_fields_and_order() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ok": {"type": "boolean"},
            "user": {"type": "object", "properties": {"geo": {"properties": {"lat": {}}}, "missing": {}}},
            "tags": {"type": "array"},
            "absent": {"type": "string"},
        },
    }
    flat = FlatsonTransform({"flatson_schema": schema}).transform_batch([ITEM, {"id": 2}])
    assert [list(each) for each in flat] == [["ok", "user.geo.lat", "user.missing", "tags", "absent"]] * 2
    assert flat[0] == {
        "ok": True,
        "user.geo.lat": 1.5,
        "user.missing": None,
        "tags": '["a","ü"]',
        "absent": None,
    }
    assert flat[1] == dict.fromkeys(flat[1])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"arrays": "drop"}, "option 'arrays'"),
        ({"separator": ""}, "option 'separator'"),
        ({"flatson_schema": {"type": "object"}}, "no 'properties'"),
    ],
)
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        FlatsonTransform(options)
