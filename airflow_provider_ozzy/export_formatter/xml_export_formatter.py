"""XML in the shape exporters produced with dicttoxml: typed elements inside one root element."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter

_XML_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
_TYPE_NAMES = {str: "str", int: "int", float: "float", bool: "bool", dict: "dict", list: "list"}
# characters XML 1.0 cannot carry at all, even escaped
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# text that needs escape() or _clean(): most values have none of these
_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TAG_CACHE_SIZE = 4096  # element names remembered per formatter (keys are usually few)


class XMLExportFormatter(BaseExportFormatter):
    """``<root>`` holding one ``<item>`` per record; values carry ``type`` attributes unless disabled."""

    file_extension = "xml"
    item_separator = b"\n"

    supported_options = {
        "attr_type": {"type": bool, "default": True, "help": 'Add type="str"/"int"/... attributes.'},
        "fields_order": {"type": "str_list", "default": [], "help": "Fields written first, in this order."},
        "item_name": {"type": str, "default": "item", "help": "Element name of each record."},
        "root_name": {"type": str, "default": "root", "help": "Element name of the document root."},
        "xml_header": {
            "type": str,
            "default": '<?xml version="1.0" encoding="UTF-8"?>',
            "help": "First line of every file; empty for none.",
        },
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        return [
            Problem(option, f"option '{option}' must be a valid XML element name, got {values[option]!r}")
            for option in ("item_name", "root_name")
            if not _XML_NAME.match(values[option])
        ]

    def header(self) -> bytes:
        first = self.options["xml_header"]
        return ((first + "\n" if first else "") + f"<{self.options['root_name']}>\n").encode("utf-8")

    def footer(self) -> bytes:
        return f"\n</{self.options['root_name']}>".encode()

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._tags: dict[str, tuple[str, str]] = {}  # key -> ("<tag name=...", "</tag>")
        self._type_attrs = {
            kind: (f' type="{name}"' if self.options["attr_type"] else "")
            for kind, name in _TYPE_NAMES.items()
        }
        self._type_attrs[type(None)] = ' type="null"' if self.options["attr_type"] else ""

    def format_items(self, items: list[dict[str, Any]]) -> list[bytes]:
        name = self.options["item_name"]
        start, end = f"<{name}>", f"</{name}>"
        if self.options["fields_order"]:
            return [f"{start}{self._children(self._ordered(item))}{end}".encode() for item in items]
        children = self._children
        return [f"{start}{children(item.items())}{end}".encode() for item in items]

    def _ordered(self, item: dict[str, Any]) -> list[tuple[str, Any]]:
        order = self.options["fields_order"]
        first = [(key, item[key]) for key in order if key in item]
        return first + [(key, value) for key, value in item.items() if key not in order]

    def _children(self, pairs: Iterable[tuple[Any, Any]]) -> str:
        element = self._element
        return "".join([element(key if type(key) is str else str(key), value) for key, value in pairs])

    def _element(self, key: str, value: Any) -> str:
        tags = self._tags.get(key)
        if tags is None:
            tags = self._tag_pair(key)
        kind = type(value)
        if kind is str:
            content = value if not _SPECIAL.search(value) else escape(_clean(value))
        elif kind is int or kind is float:
            content = str(value)  # digits, sign, '.', 'e', inf, nan: nothing to escape
        elif kind is dict:
            content = self._children(value.items())
        elif kind is list:
            element = self._element
            content = "".join([element("item", each) for each in value])
        else:
            content = self._content(value)
        type_attr = self._type_attrs.get(kind)
        if type_attr is None:  # not a JSON type: "str"
            type_attr = f' type="{_type_name(value)}"' if self.options["attr_type"] else ""
        return f"{tags[0]}{type_attr}>{content}{tags[1]}"

    def _tag_pair(self, key: str) -> tuple[str, str]:
        if _XML_NAME.match(key) and not key.lower().startswith("xml"):
            tags = (f"<{key}", f"</{key}>")
        else:
            tags = (f"<key name={quoteattr(_clean(key))}", "</key>")
        if len(self._tags) < _TAG_CACHE_SIZE:
            self._tags[key] = tags
        return tags

    def _content(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict):
            return self._children(value.items())
        if isinstance(value, (list, tuple)):
            return "".join(self._element("item", each) for each in value)
        return escape(_clean(str(value)))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _TYPE_NAMES.get(type(value), "str")


def _clean(text: str) -> str:
    return _INVALID_XML_CHARS.sub("\ufffd", text)
