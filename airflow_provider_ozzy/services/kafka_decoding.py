"""Kafka message values and keys to items: optional zlib/gzip, then JSON, msgpack or raw text.

exporters' KafkaRandomReader always zlib-decompressed and msgpack-unpacked; here both steps are
options. A message that does not decode is an error naming the partition and offset, never skipped.
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Callable
from typing import Any

import orjson

from airflow_provider_ozzy.core.options import Problem

DESERIALIZERS = ("json", "msgpack", "raw")
DECOMPRESSIONS = ("none", "zlib", "gzip", "auto")

DECODING_OPTIONS: dict[str, dict[str, Any]] = {
    "deserializer": {
        "type": str,
        "default": "json",
        "choices": DESERIALIZERS,
        "help": "How message values become items: json (an object, or {'value': x} for other JSON), "
        "msgpack (exporters' format) or raw ({'value': text}, or {'value_base64': ...} for binary).",
    },
    "decompress": {
        "type": str,
        "default": "none",
        "choices": DECOMPRESSIONS,
        "help": "Decompress values first: none, zlib (exporters' KafkaRandomReader), gzip, or auto "
        "(by the first bytes).",
    },
    "add_metadata": {
        "type": bool,
        "default": False,
        "help": "Add _partition, _offset and _timestamp (ms) to every item.",
    },
}


def decoding_problems(values: dict[str, Any]) -> list[Problem]:
    problems = []  # the choices of both options are checked by their specs (core.options)
    if values["deserializer"] == "msgpack":
        try:
            import msgpack  # noqa: F401
        except ImportError:
            problems.append(
                Problem("deserializer", "deserializer 'msgpack' needs the msgpack package (extra 'kafka')")
            )
    return problems


def _decompress(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:1] == b"\x78":
        return zlib.decompress(data)
    return data


def _loads_msgpack(data: bytes) -> Any:
    import msgpack

    return msgpack.unpackb(data, raw=False)


def _text_or_base64(data: bytes, name: str) -> dict[str, Any]:
    try:
        return {name: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{name}_base64": base64.b64encode(data).decode("ascii")}


def key_text(key: bytes | None) -> str | None:
    """``_key``: the key as text when it is UTF-8, else its base64 form."""
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(key).decode("ascii")


def make_decoder(options: dict[str, Any]) -> Callable[[Any], dict[str, Any]]:
    """A function from a kafka-python ``ConsumerRecord`` to an item; raises on undecodable values."""
    decompress: Callable[[bytes], bytes] | None = {
        "none": None,
        "zlib": zlib.decompress,
        "gzip": gzip.decompress,
        "auto": _decompress,
    }[options["decompress"]]
    deserializer = options["deserializer"]
    loads: Callable[[bytes], Any] = _loads_msgpack if deserializer == "msgpack" else orjson.loads
    metadata = options["add_metadata"]

    def decode(record: Any) -> dict[str, Any]:
        value = record.value
        if value is None:  # a tombstone
            item: dict[str, Any] = {"value": None}
        else:
            if decompress is not None:
                value = decompress(value)
            if deserializer == "raw":
                item = _text_or_base64(value, "value")
            else:
                loaded = loads(value)
                item = loaded if isinstance(loaded, dict) else {"value": loaded}
        item["_key"] = key_text(record.key)
        if metadata:
            item["_partition"] = record.partition
            item["_offset"] = record.offset
            item["_timestamp"] = record.timestamp
        return item

    return decode
