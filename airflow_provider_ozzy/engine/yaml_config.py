"""YAML configs: the strict loader (no key given twice, alias expansion bounded) and the line of
every key for messages. Apart from ``engine/config.py`` because PyYAML costs 60 ms to import and
most runs (JSON configs, DAG arguments) need it only to point at a line when something is wrong."""

from __future__ import annotations

from typing import Any

import yaml

from airflow_provider_ozzy.core.errors import ConfigurationError


def parse_yaml(text: str, path: str) -> Any:
    """The data of a YAML (or JSON) config text; ``path`` names it in messages."""
    try:
        return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 (a SafeLoader, stricter)
    except ConfigYAMLError as error:
        mark = error.problem_mark
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise ConfigurationError(f"{place}: {error.problem}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        place = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        context = error.context_mark
        started = (
            f" ({error.context} on line {context.line + 1})"
            if error.context and context and mark and context.line != mark.line
            else ""
        )
        raise ConfigurationError(f"{place}: not valid YAML or JSON: {error.problem}{started}") from None
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{path}: not valid YAML or JSON: {error}") from None


# Nodes that YAML aliases may add to a config in total. Aliases are shared, not copied, when the
# YAML is read, but every later walk (validation of a list option, secret stripping, copies)
# expands them: nine nested aliases of nine ("billion laughs") are 387 million nodes.
MAX_ALIAS_NODES = 100_000


class ConfigYAMLError(yaml.MarkedYAMLError):
    """A YAML document that is well formed but refused as a config (duplicate key, alias bomb)."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class StrictSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice and limits alias expansion.

    PyYAML keeps the last of two equal keys silently (a second ``writer:`` replaced the first).
    Merge keys (``<<: *defaults``) still override as YAML defines.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._alias_nodes = 0
        self._sizes: dict[int, int] = {}
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            anchor = event.anchor
            if anchor in self._open_anchors:
                raise ConfigYAMLError(
                    problem=f"the alias *{anchor} is inside its own anchor &{anchor} (a recursive "
                    "structure cannot be a config)",
                    mark=event.start_mark,
                )
            node = self.anchors.get(anchor)
            if node is not None:
                self._alias_nodes += self._size(node)
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise ConfigYAMLError(
                        problem=f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes by the alias "
                        f"*{anchor} (a config cannot use aliases to grow this large; write the values out)",
                        mark=event.start_mark,
                    )
            return super().compose_node(parent, index)
        anchor = getattr(event, "anchor", None)
        if anchor is None:
            return super().compose_node(parent, index)
        self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._open_anchors.discard(anchor)

    def _size(self, node: yaml.Node) -> int:
        """Nodes in ``node`` with every alias inside it expanded (memoized: linear in the tree)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._size(key) + self._size(value) for key, value in node.value)
        self._sizes[id(node)] = size
        return size

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: PyYAML reports it itself
                continue
            if first != key_node.start_mark.line + 1:
                raise ConfigYAMLError(
                    problem=f"key {key!r} is given twice (first on line {first}); YAML keeps only "
                    "the last, so remove or rename one",
                    mark=key_node.start_mark,
                )
        return super().construct_mapping(node, deep)


def json_duplicate_message(text: str, path: str, key: str) -> str:
    """Both lines of a key given twice in a JSON config (found again in the YAML node tree)."""
    try:
        yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506
    except ConfigYAMLError as error:
        mark = error.problem_mark
        if mark is not None:
            return f"{path}:{mark.line + 1}:{mark.column + 1}: {error.problem}"
    except yaml.YAMLError:
        pass
    return (
        f"{path}: key {key!r} is given twice in one object; JSON keeps only the last, so remove or rename one"
    )


def line_map(text: str) -> dict[tuple[Any, ...], int]:
    """Line of every mapping key and sequence entry, from the YAML node tree (JSON is YAML here)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[tuple[Any, ...], int] = {}
    seen: set[int] = set()  # an alias repeats a node (maybe one of its own parents): walk it once

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                lines[(*path, index)] = value.start_mark.line + 1
                walk(value, (*path, index))

    if root is not None:
        walk(root, ())
    return lines
