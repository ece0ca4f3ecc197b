"""Keep items whose fields match given values: KeyValueFilter and KeyValueRegexFilter.

``keys`` is a list of ``{"name": field, "value": wanted, "operator": op}``; an item is kept when
*every* key matches. Dotted names reach into nested objects (``nested_field_separator``); an item
without the field is dropped. Operators: ``==`` (default), ``in`` (the item's value is one of the
given list), ``contains`` (the given value is in the item's text or list), ``re_match`` (``re.match``
of the given pattern against the item's value as text: anchored at the start only, as exporters).

Differences from exporters: a bad operator, a bad regular expression or an ``in`` without a list
is a configuration error found by ``ozzy validate``; ``true`` never equals ``1`` (JSON booleans
are not numbers); regular expressions see booleans as ``true``/``false`` and never match null,
lists or objects; ``contains`` on a null or a number is simply no match instead of a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from airflow_provider_ozzy.core.fields import MISSING, field_getter
from airflow_provider_ozzy.core.options import DICT_LIST, Problem
from airflow_provider_ozzy.filters.base_filter import BaseFilter

OPERATORS = ("==", "in", "contains", "re_match")
Predicate = Callable[[dict[str, Any]], bool]


def _as_text(value: Any) -> str | None:
    """What a regular expression sees: strings, numbers and booleans; ``None`` for the rest."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _same(found: Any, wanted: Any) -> bool:
    return found == wanted and isinstance(found, bool) == isinstance(wanted, bool)


def _equals(wanted: Any) -> Callable[[Any], bool]:
    if isinstance(wanted, bool) or wanted is None:
        return lambda found: found is wanted
    if isinstance(wanted, (int, float)):
        return lambda found: found == wanted and found is not True and found is not False
    return lambda found: found == wanted


def _one_of(wanted: list[Any]) -> Callable[[Any], bool]:
    try:
        # (is a boolean, value): 1 and 1.0 match, True and 1 do not
        tagged = {(isinstance(each, bool), each) for each in wanted}
    except TypeError:  # lists or objects among the values
        return lambda found: any(_same(found, each) for each in wanted)

    def check(found: Any) -> bool:
        try:
            return (found is True or found is False, found) in tagged
        except TypeError:
            return any(_same(found, each) for each in wanted)

    return check


def _contains(wanted: Any) -> Callable[[Any], bool]:
    def check(found: Any) -> bool:
        if isinstance(found, str):
            return isinstance(wanted, str) and wanted in found
        if isinstance(found, (list, dict)):
            return any(_same(each, wanted) for each in found)
        return False

    return check


def _matches(pattern: re.Pattern[str]) -> Callable[[Any], bool]:
    def check(found: Any) -> bool:
        text = _as_text(found)
        return text is not None and pattern.match(text) is not None

    return check


class KeyValueFilter(BaseFilter):
    """Keep items whose fields match every entry of ``keys`` (``==``, ``in``, ``contains``, ``re_match``)."""

    supported_options = {
        "keys": {
            "type": DICT_LIST,
            "help": 'Conditions, all must hold: [{"name": "country", "value": "ES", "operator": "=="}].',
        },
        "nested_field_separator": {
            "type": str,
            "default": ".",
            "help": "Separator of nested field names (country.code).",
        },
    }
    default_operator: ClassVar[str] = "=="
    operator_fixed: ClassVar[bool] = False

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        separator = self.options["nested_field_separator"]
        self._predicates = [self._predicate(key, separator) for key in self.options["keys"]]

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = super().check_values(values)
        if not values["keys"]:
            problems.append(Problem("keys", "option 'keys' must hold at least one condition"))
        for index, key in enumerate(values["keys"]):
            problems.extend(
                Problem("keys", f"option 'keys' entry {index}: {message}")
                for message in cls._key_problems(key)
            )
        return problems

    @classmethod
    def _key_problems(cls, key: dict[str, Any]) -> list[str]:
        problems = []
        unknown = sorted(set(key) - {"name", "value", "operator"})
        if unknown:
            problems.append(f"unknown entries {unknown} (an entry has name, value and operator)")
        if not isinstance(key.get("name"), str) or not key.get("name"):
            problems.append("'name' must be a non-empty string")
        if "value" not in key:
            problems.append("'value' is missing")
        operator = key.get("operator", cls.default_operator)
        if cls.operator_fixed:
            operator = cls.default_operator
        if operator not in OPERATORS:
            problems.append(f"unknown operator {operator!r} (known: {', '.join(OPERATORS)})")
        elif operator == "in" and not isinstance(key.get("value"), list):
            problems.append("operator 'in' needs a list 'value'")
        elif operator == "re_match":
            if not isinstance(key.get("value"), str):
                problems.append("operator 're_match' needs a regular expression string as 'value'")
            else:
                try:
                    re.compile(key["value"])
                except re.error as error:
                    problems.append(f"'value' {key['value']!r} is not a valid regular expression: {error}")
        return problems

    def _predicate(self, key: dict[str, Any], separator: str) -> Predicate:
        name, wanted = key["name"], key["value"]
        operator = (
            self.default_operator if self.operator_fixed else key.get("operator", self.default_operator)
        )
        if operator == "==" and isinstance(wanted, str) and not (separator and separator in name):
            return lambda item: item.get(name) == wanted  # the common case in one call
        getter = field_getter(name, separator)
        if operator == "==":
            test = _equals(wanted)
        elif operator == "in":
            test = _one_of(list(wanted))
        elif operator == "contains":
            test = _contains(wanted)
        else:
            test = _matches(re.compile(wanted))

        def predicate(item: dict[str, Any]) -> bool:
            found = getter(item)
            return found is not MISSING and test(found)

        return predicate

    def filter_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        predicates = self._predicates
        if len(predicates) == 1:
            only = predicates[0]
            kept = [item for item in batch if only(item)]
        else:
            kept = [item for item in batch if all(predicate(item) for predicate in predicates)]
        self.total += len(batch)
        self.filtered_out += len(batch) - len(kept)
        return kept

    def filter(self, item: dict[str, Any]) -> bool:
        return all(predicate(item) for predicate in self._predicates)


class KeyValueRegexFilter(KeyValueFilter):
    """Keep items whose fields match every pattern of ``keys`` (``re.match``: anchored at the start)."""

    default_operator = "re_match"
    operator_fixed = True
