"""``supported_options``: declaration, inheritance, env fallbacks, type checks and coercion.

Every module declares ``supported_options = {name: {"type": ..., "default": ..., "env_fallback": ...,
"help": ...}}``. Subclasses inherit their bases' options (merged in MRO order). An option with neither
``default`` nor ``env_fallback`` is mandatory. ``"choices"`` go into the JSON Schema (the module's
``check_values`` enforces them). Every numeric option declares ``"minimum"`` and ``"maximum"``:
checked here for every number given (list elements too) and published in the JSON Schema. Options
marked ``"secret": True`` never have their value printed.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

STR_LIST = "str_list"
INT_LIST = "int_list"
DICT_LIST = "dict_list"

_MISSING = object()

_TYPE_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "list",
    object: "any",
    STR_LIST: "list of strings",
    INT_LIST: "list of integers",
    DICT_LIST: "list of objects",
    type(None): "null",
}


class Problem(NamedTuple):
    """One validation problem: the option it concerns (or ``None``) and a message."""

    option: str | None
    message: str


def type_name(option_type: Any) -> str:
    if isinstance(option_type, tuple):
        return " or ".join(type_name(each) for each in option_type)
    return _TYPE_NAMES.get(option_type, getattr(option_type, "__name__", str(option_type)))


def _value_kind(value: Any) -> str:
    if value is None:
        return "null"
    for python_type in (bool, int, float, str, dict, list):
        if isinstance(value, python_type):
            return _TYPE_NAMES[python_type]
    return type(value).__name__


def _coerce_one(value: Any, option_type: Any) -> Any:
    """Return ``value`` converted to ``option_type``, or ``_MISSING`` when it does not fit."""
    if option_type is object:
        return value
    if option_type is bool:
        return value if isinstance(value, bool) else _MISSING
    if option_type is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _MISSING
    if option_type is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return _MISSING
    if option_type in (STR_LIST, INT_LIST, DICT_LIST):
        if not isinstance(value, (list, tuple)):
            return _MISSING
        element_type = {STR_LIST: str, INT_LIST: int, DICT_LIST: dict}[option_type]
        items = [_coerce_one(each, element_type) for each in value]
        return _MISSING if any(each is _MISSING for each in items) else items
    if isinstance(option_type, type):
        return value if isinstance(value, option_type) else _MISSING
    raise TypeError(f"unknown option type {option_type!r}")


def coerce(value: Any, option_type: Any) -> Any:
    """Coerce ``value`` to the declared type (a type, a list type name, or a tuple of them)."""
    candidates = option_type if isinstance(option_type, tuple) else (option_type,)
    for candidate in candidates:
        result = _coerce_one(value, candidate)
        if result is not _MISSING:
            return result
    return _MISSING


def _from_environment(raw: str, option_type: Any) -> Any:
    """Environment variables are strings: read numbers, booleans and lists from their text."""
    candidates = option_type if isinstance(option_type, tuple) else (option_type,)
    if str in candidates or object in candidates:
        return raw
    if bool in candidates:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if int in candidates:
        try:
            return int(raw)
        except ValueError:
            return raw
    if STR_LIST in candidates:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def merged_options(cls: type) -> dict[str, dict[str, Any]]:
    """The options of ``cls`` and all its bases; a subclass's declaration wins."""
    merged: dict[str, dict[str, Any]] = {}
    for klass in reversed(cls.__mro__):
        own = klass.__dict__.get("supported_options")
        if isinstance(own, Mapping):
            merged.update(own)
    return merged


class ResolvedOptions(dict[str, Any]):
    """Option values the engine already resolved and checked (``engine.config.ResolvedJob``): a
    module built from them takes them as they are instead of resolving its options again."""


def is_mandatory(spec: Mapping[str, Any]) -> bool:
    return "default" not in spec and "env_fallback" not in spec


def resolve_options(
    declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any] | None
) -> tuple[dict[str, Any], list[Problem]]:
    """Resolve given values, env fallbacks and defaults; collect every problem instead of stopping.

    Resolution order per option: explicit value, the env fallback variable when it is set, the
    default. Unknown options are problems too.
    """
    given = dict(given or {})
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in given:
        if name not in declared:
            close = difflib.get_close_matches(str(name), list(declared), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            supported = ", ".join(sorted(declared)) or "none"
            problems.append(Problem(name, f"unknown option '{name}' ({hint}supported options: {supported})"))
    for name, spec in declared.items():
        option_type = spec.get("type", object)
        env_name = spec.get("env_fallback")
        if name in given:
            raw, source = given[name], "value"
        elif env_name and env_name in os.environ:
            raw, source = (
                _from_environment(os.environ[env_name], option_type),
                f"environment variable {env_name}",
            )
        elif "default" in spec:
            values[name] = copy.deepcopy(spec["default"])
            continue
        else:
            tried = f" (also tried environment variable {env_name})" if env_name else ""
            problems.append(Problem(name, f"missing mandatory option '{name}'{tried}"))
            continue
        if raw is None and spec.get("default", _MISSING) is None:
            values[name] = None
            continue
        coerced = coerce(raw, option_type)
        if coerced is _MISSING:
            shown = "" if spec.get("secret") else f" {_short_repr(raw)}"
            problems.append(
                Problem(
                    name,
                    f"option '{name}' must be {_article(type_name(option_type))}, "
                    f"got {_value_kind(raw)}{shown} from {source}",
                )
            )
            continue
        values[name] = coerced
        # the value stays in ``values`` so cross-option checks still run and report too
        out_of_range = range_problem(name, spec, coerced) or choice_problem(name, spec, coerced)
        if out_of_range:
            problems.append(Problem(name, out_of_range))
    return values, problems


def choice_problem(name: str, spec: Mapping[str, Any], value: Any) -> str | None:
    """The message for a value outside the option's ``choices``, else ``None``."""
    choices = spec.get("choices")
    if choices is None or value in choices:
        return None
    return f"option '{name}' must be one of {', '.join(str(each) for each in choices)}, got {value!r}"


def range_problem(name: str, spec: Mapping[str, Any], value: Any) -> str | None:
    """The message for a number (or a list element) outside ``minimum``..``maximum``, else ``None``."""
    if "minimum" not in spec and "maximum" not in spec:
        return None
    numbers = value if isinstance(value, list) else [value]
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            continue
        low, high = spec.get("minimum"), spec.get("maximum")
        too_low = low is not None and number < low
        if not too_low and (high is None or number <= high):
            continue
        what = f"option '{name}'" if number is value else f"every element of option '{name}'"
        if low is not None and high is not None:
            return f"{what} must be from {low} to {high}, got {number}"
        return f"{what} must be {f'at least {low}' if too_low else f'at most {high}'}, got {number}"
    return None


def _article(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def option_schema(spec: Mapping[str, Any]) -> dict[str, Any]:
    """JSON Schema fragment for one option declaration."""
    option_type = spec.get("type", object)
    candidates = option_type if isinstance(option_type, tuple) else (option_type,)
    variants = [_json_schema_for(each) for each in candidates]
    schema: dict[str, Any] = variants[0] if len(variants) == 1 else {"anyOf": variants}
    if spec.get("help"):
        schema["description"] = spec["help"]
    if "choices" in spec:  # checked by resolve_options; here for editors and ozzy schema
        schema["enum"] = list(spec["choices"])
    for bound in ("minimum", "maximum"):
        if bound in spec:
            target = schema
            if option_type == INT_LIST or (isinstance(option_type, tuple) and INT_LIST in option_type):
                target = _list_items_schema(schema)
            target[bound] = spec[bound]
    if "default" in spec:
        default = spec["default"]
        if default is None or isinstance(default, (str, int, float, bool, list, dict)):
            schema["default"] = default
    return schema


def _json_schema_for(option_type: Any) -> dict[str, Any]:
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}
    if option_type in simple:
        return {"type": simple[option_type]}
    if option_type is type(None):
        return {"type": "null"}
    if option_type == STR_LIST:
        return {"type": "array", "items": {"type": "string"}}
    if option_type == INT_LIST:
        return {"type": "array", "items": {"type": "integer"}}
    if option_type == DICT_LIST:
        return {"type": "array", "items": {"type": "object"}}
    return {}


def _list_items_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Where a bound of an integer list goes: its ``items`` (inside ``anyOf`` when it may be null)."""
    for variant in [schema, *schema.get("anyOf", [])]:
        if variant.get("type") == "array":
            items: dict[str, Any] = variant["items"]
            return items
    return schema
