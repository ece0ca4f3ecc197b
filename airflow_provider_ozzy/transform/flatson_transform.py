"""Flatten nested items into one level of dotted keys, so CSV (and SQL) output of nested data works.

``{"id": 1, "user": {"name": "Ana", "geo": {"lat": 1.5}}, "tags": ["a"]}`` becomes
``{"id": 1, "user.name": "Ana", "user.geo.lat": 1.5, "tags": "[\\"a\\"]"}``.

Without ``flatson_schema`` every nested object is flattened, keys in the item's order; an empty
object disappears. With ``flatson_schema`` (a JSON Schema, as exporters' Flatson took) the output
has exactly the schema's fields in the schema's order, ``null`` for the absent ones, as Flatson
did. Lists become compact JSON text (``arrays: "json"``, Flatson's way, one CSV cell each) or stay
lists (``arrays: "keep"``, for JSON output).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.transform.base_transform import BaseTransform

ARRAYS = ("json", "keep")


def _json_text(value: list[Any]) -> str:
    return orjson.dumps(value, default=str).decode("utf-8")


def _schema_fields(
    schema: dict[str, Any], separator: str, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Paths of the leaf fields of a JSON Schema, in its order."""
    fields: list[tuple[str, ...]] = []
    for name, spec in (schema.get("properties") or {}).items():
        path = (*prefix, str(name))
        if isinstance(spec, dict) and isinstance(spec.get("properties"), dict) and spec["properties"]:
            fields.extend(_schema_fields(spec, separator, path))
        else:
            fields.append(path)
    return fields


class FlatsonTransform(BaseTransform):
    """Nested objects become dotted keys; lists become JSON text (or stay lists)."""

    supported_options = {
        "flatson_schema": {
            "type": (dict, type(None)),
            "default": None,
            "help": "JSON Schema naming the output fields and their order (default: flatten whatever is there).",
        },
        "separator": {"type": str, "default": ".", "help": "Joins the names of nested keys."},
        "arrays": {
            "type": str,
            "default": "json",
            "help": "json: lists become JSON text; keep: lists stay lists.",
        },
    }

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._separator = self.options["separator"]
        self._lists_as_text = self.options["arrays"] == "json"
        schema = self.options["flatson_schema"]
        self._flatten: Callable[[dict[str, Any]], dict[str, Any]] = (
            self._by_schema(schema) if schema else self._flatten_all
        )

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if values["arrays"] not in ARRAYS:
            problems.append(Problem("arrays", f"option 'arrays' must be one of {', '.join(ARRAYS)}"))
        if not values["separator"]:
            problems.append(Problem("separator", "option 'separator' must not be empty"))
        schema = values["flatson_schema"]
        if schema is not None and not _schema_fields(schema, values["separator"] or "."):
            problems.append(
                Problem("flatson_schema", "option 'flatson_schema' has no 'properties' to output")
            )
        return problems

    def transform_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        flatten = self._flatten
        return [flatten(item) for item in batch]

    def _leaf(self, value: Any) -> Any:
        if self._lists_as_text and isinstance(value, list):
            return _json_text(value)
        return value

    def _flatten_all(self, item: dict[str, Any]) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        self._into(flat, "", item)
        return flat

    def _into(self, flat: dict[str, Any], prefix: str, value: dict[str, Any]) -> None:
        separator, lists_as_text = self._separator, self._lists_as_text
        for key, child in value.items():
            name = f"{prefix}{key}"
            if isinstance(child, dict):
                self._into(flat, name + separator, child)
            elif lists_as_text and isinstance(child, list):
                flat[name] = _json_text(child)
            else:
                flat[name] = child

    def _by_schema(self, schema: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        fields = [(self._separator.join(path), path) for path in _schema_fields(schema, self._separator)]
        leaf = self._leaf

        def flatten(item: dict[str, Any]) -> dict[str, Any]:
            flat: dict[str, Any] = {}
            for name, path in fields:
                value: Any = item
                for part in path:
                    value = value.get(part) if isinstance(value, dict) else None
                flat[name] = leaf(value)
            return flat

        return flatten
