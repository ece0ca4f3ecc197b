"""``format_joined`` (the write buffers' fast path) gives exactly the joined ``format_items`` bytes.

The CSV formatter builds joined rows column by column instead of through the csv module; these
tests compare both on generated items: every value type, missing fields, dotted paths, quotes,
line breaks, non-ASCII text, and delimiters that need care.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_ozzy.export_formatter.csv_export_formatter import CSVExportFormatter
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from airflow_provider_ozzy.export_formatter.xml_export_formatter import XMLExportFormatter

FIELDS = ["id", "name", "price", "flag", "tags", "meta", "city.name", "absent", "mixed"]

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ['say "hi"', "a,b", "a;b", "line\nbreak", "cr\rlf", "", " ", "{}", "{0}", "tab\there", "ñandú €"]
)
scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
cell = scalar | st.lists(json_value, max_size=3) | st.dictionaries(text, json_value, max_size=3)


@st.composite
def items(draw: Any) -> list[dict[str, Any]]:
    """Items whose columns are often of one type (the fast path) and sometimes mixed or missing."""
    count = draw(st.integers(min_value=1, max_value=25))
    kinds = {
        field: draw(st.sampled_from([scalar, text, st.integers(), st.floats(), cell])) for field in FIELDS
    }
    result = []
    for _ in range(count):
        item: dict[str, Any] = {}
        for field in FIELDS:
            if field == "absent" or draw(st.integers(0, 9)) == 0:
                continue  # missing
            if field == "city.name":
                if draw(st.booleans()):
                    item["city"] = draw(st.dictionaries(st.just("name"), kinds[field], max_size=1) | cell)
                else:
                    item[field] = draw(kinds[field])
                continue
            item[field] = draw(cell if field == "mixed" else kinds[field])
        result.append(item)
    return result


def _csv_module_rows(fields: list[str], rows: list[list[Any]], delimiter: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "{", "."])
@settings(max_examples=80, deadline=None)
@given(batch=items())
def test_csv_joined_rows_are_the_csv_module_rows(delimiter: str, batch: list[dict[str, Any]]) -> None:
    formatter = CSVExportFormatter({"fields": FIELDS, "delimiter": delimiter})

    assert formatter.format_joined(batch) == b"".join(formatter.format_items(batch))


def test_csv_joined_rows_of_plain_columns() -> None:
    formatter = CSVExportFormatter({"fields": ["id", "name", "score", "ok", "tags", "address"]})
    batch = [
        {"id": 1, "name": 'a "b"', "score": 0.1, "ok": True, "tags": ["x"], "address": {"c": "d"}},
        {"id": 2, "name": "line\nbreak", "score": 1e16, "ok": False, "tags": [], "address": {}},
    ]

    assert formatter.format_joined(batch) == _csv_module_rows(
        formatter.fields,
        [
            [1, 'a "b"', 0.1, "true", '["x"]', '{"c":"d"}'],
            [2, "line\nbreak", 1e16, "false", "[]", "{}"],
        ],
        ",",
    )
    assert formatter.format_joined(batch) == b"".join(formatter.format_items(batch))


def test_csv_one_field_and_unusual_types_use_the_csv_module() -> None:
    import decimal

    one = CSVExportFormatter({"fields": ["id"]})
    assert one.format_joined([{"id": 1}, {"id": "x"}]) == b'1\n"x"\n'
    odd = CSVExportFormatter({"fields": ["a", "b"]})
    batch = [{"a": decimal.Decimal("1.50"), "b": 1}, {"a": 2, "b": True}]
    assert odd.format_joined(batch) == b"".join(odd.format_items(batch)) == b'1.50,1\n2,"true"\n'


@pytest.mark.parametrize(
    "formatter",
    [JsonExportFormatter({}), JsonExportFormatter({"jsonlines": False}), XMLExportFormatter({})],
)
def test_other_formatters_join_their_items(formatter: Any) -> None:
    batch = [{"a": 1, "b": [1, 2]}, {"c": {"d": None}}]

    assert formatter.format_joined(batch) == formatter.item_separator.join(formatter.format_items(batch))


def _reference_xml(item: dict[str, Any], attr_type: bool = True) -> bytes:
    """XMLExportFormatter's output as first written (one element at a time, no caches)."""
    import re
    from xml.sax.saxutils import escape, quoteattr

    invalid = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
    names = {str: "str", int: "int", float: "float", bool: "bool", dict: "dict", list: "list"}

    def clean(text: str) -> str:
        return invalid.sub("\ufffd", text)

    def element(key: str, value: Any) -> str:
        if re.match(r"^[A-Za-z_][\w.\-]*$", key) and not key.lower().startswith("xml"):
            tag, name_attr = key, ""
        else:
            tag, name_attr = "key", f" name={quoteattr(clean(key))}"
        kind = "null" if value is None else names.get(type(value), "str")
        type_attr = f' type="{kind}"' if attr_type else ""
        return f"<{tag}{name_attr}{type_attr}>{content(value)}</{tag}>"

    def content(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict):
            return "".join(element(str(key), each) for key, each in value.items())
        if isinstance(value, (list, tuple)):
            return "".join(element("item", each) for each in value)
        return escape(clean(str(value)))

    return ("<item>" + "".join(element(str(key), value) for key, value in item.items()) + "</item>").encode()


xml_key = text | st.sampled_from(["xmlns", "XMLish", "1st", "a b", "ok_name", "dotted.name", "tag-x"])
xml_value = st.recursive(
    scalar | st.tuples(st.integers(), text) | st.decimals(allow_nan=False, places=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(xml_key | st.integers(), inner, max_size=3),
    max_leaves=8,
)


@pytest.mark.parametrize("attr_type", [True, False])
@settings(max_examples=150, deadline=None)
@given(batch=st.lists(st.dictionaries(xml_key, xml_value, max_size=6), min_size=1, max_size=5))
def test_xml_elements_are_as_first_written(attr_type: bool, batch: list[dict[str, Any]]) -> None:
    formatter = XMLExportFormatter({"attr_type": attr_type})

    assert formatter.format_items(batch) == [_reference_xml(item, attr_type) for item in batch]
