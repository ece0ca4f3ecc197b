"""A reduce accumulator as JSON: exactly (``encode``/``decode``, for the job state) and plainly (``plain``).

The accumulator is committed with every batch, and job states are JSON in Airflow and in databases.
A ``Counter`` saved as a plain object would come back as a ``dict``, whose ``update`` does
something else, and a resumed fold would silently differ; so ``encode`` tags every type JSON has no
word for (tuples, sets, Counter, defaultdict, OrderedDict, deque, Fraction, dates, non-text keys,
integers beyond 64 bits, non-finite floats) and ``decode`` rebuilds exactly the same value. Other
types are refused with a clear error. ``plain`` is the readable form for stats, logs and collections.
"""

from __future__ import annotations

import collections
import datetime
import math
from fractions import Fraction
from typing import Any

_FACTORIES: dict[str, Any] = {"int": int, "float": float, "list": list, "dict": dict, "set": set, "str": str}
_INT64 = 2**63


class UnsavableValue(TypeError):
    """The accumulator holds a value that cannot be saved in the job state."""


def _pairs(mapping: Any) -> list[list[Any]]:
    return [[encode(key), encode(value)] for key, value in mapping.items()]


def encode(value: Any) -> Any:
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if -_INT64 <= value < _INT64 else {"$int": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is list:
        return [encode(each) for each in value]
    if kind is dict:
        if all(type(key) is str and not key.startswith("$") for key in value):
            return {key: encode(each) for key, each in value.items()}
        return {"$dict": _pairs(value)}
    if kind is tuple:
        return {"$tuple": [encode(each) for each in value]}
    if kind in (set, frozenset):
        return {f"${kind.__name__}": [encode(each) for each in value]}
    if kind is collections.Counter:
        return {"$counter": _pairs(value)}
    if kind is collections.OrderedDict:
        return {"$ordereddict": _pairs(value)}
    if kind is collections.deque:
        return {"$deque": [encode(each) for each in value], "maxlen": value.maxlen}
    if kind is collections.defaultdict:
        factory = next((name for name, made in _FACTORIES.items() if made is value.default_factory), None)
        if factory is None and value.default_factory is not None:
            raise UnsavableValue(
                f"a defaultdict of {value.default_factory!r} cannot be saved in the job state"
            )
        return {"$defaultdict": factory, "items": _pairs(value)}
    if kind is Fraction:
        return {"$fraction": [str(value.numerator), str(value.denominator)]}
    for tag, date_type in (
        ("$datetime", datetime.datetime),
        ("$date", datetime.date),
        ("$time", datetime.time),
    ):
        if kind is date_type:
            return {tag: value.isoformat()}
    if kind is datetime.timedelta:
        return {"$timedelta": [value.days, value.seconds, value.microseconds]}
    raise UnsavableValue(f"a value of type {kind.__name__} cannot be saved in the job state")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(each) for each in value]
    if not isinstance(value, dict):
        return value
    tag = next((key for key in value if key.startswith("$")), None)
    if tag is None:
        return {key: decode(each) for key, each in value.items()}
    data = value[tag]
    pairs = lambda: [(decode(key), decode(each)) for key, each in data]  # noqa: E731
    if tag == "$int":
        return int(data)
    if tag == "$float":
        return float(data)
    if tag == "$dict":
        return dict(pairs())
    if tag == "$tuple":
        return tuple(decode(each) for each in data)
    if tag == "$set":
        return {decode(each) for each in data}
    if tag == "$frozenset":
        return frozenset(decode(each) for each in data)
    if tag == "$counter":
        return collections.Counter(dict(pairs()))
    if tag == "$ordereddict":
        return collections.OrderedDict(pairs())
    if tag == "$deque":
        return collections.deque((decode(each) for each in data), value.get("maxlen"))
    if tag == "$defaultdict":
        made: collections.defaultdict[Any, Any] = collections.defaultdict(_FACTORIES[data] if data else None)
        made.update((decode(key), decode(each)) for key, each in value["items"])
        return made
    if tag == "$fraction":
        return Fraction(int(data[0]), int(data[1]))
    if tag == "$datetime":
        return datetime.datetime.fromisoformat(data)
    if tag == "$date":
        return datetime.date.fromisoformat(data)
    if tag == "$time":
        return datetime.time.fromisoformat(data)
    if tag == "$timedelta":
        return datetime.timedelta(days=data[0], seconds=data[1], microseconds=data[2])
    raise ValueError(f"unknown tag {tag!r} in a saved accumulator")


def plain(value: Any) -> Any:
    """A JSON value for people: mappings become objects (keys as text), other containers lists."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {key if isinstance(key, str) else str(plain(key)): plain(each) for key, each in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [plain(each) for each in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (list, tuple, collections.deque)):
        return [plain(each) for each in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)
