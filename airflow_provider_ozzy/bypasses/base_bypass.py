"""Bypasses: move whole objects instead of items, when doing so cannot change the output.

A bypass is tried before the item pipeline. ``choose_bypass`` asks each catalogued bypass (in
``priority`` order) whether the configuration allows it (``reasons_against``: no filter, transform
or grouper, default file splitting, the output format and compression of the input); the chosen
one runs with the job's reader, writer and persistence (``BypassContext``). Its state is committed
under ``bypass`` in the job state, so a resume continues with the same bypass, object by object; a
job that started in the pipeline resumes in the pipeline. Before it changes anything, ``execute``
may still decline with ``BypassNotApplicable`` (say, an input object whose name shows another
compression), and the pipeline runs instead. ``exporter_options.prevent_bypass`` disables them all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_provider_ozzy.core.compression import suffix
from airflow_provider_ozzy.core.options import merged_options
from airflow_provider_ozzy.engine.config import ResolvedJob
from airflow_provider_ozzy.engine.registry import CATALOGUE, SECTION_KINDS, resolve
from airflow_provider_ozzy.export_formatter.base_export_formatter import BaseExportFormatter
from airflow_provider_ozzy.readers.base_reader import BaseReader
from airflow_provider_ozzy.writers.base_writer import BaseWriter

log = logging.getLogger("airflow_provider_ozzy.bypass")

# sections that must hold these modules, or items may change on the way
_IDENTITY_MODULES = {
    "filter_before": "NoFilter",
    "filter_after": "NoFilter",
    "transform": "NoTransform",
    "grouper": "NoGrouper",
}
# writer options that must keep their defaults, or files would be cut, limited or added differently
_WRITER_DEFAULTS = ("items_limit", "items_per_buffer_write", "size_per_buffer_write", "generate_md5")
# compressions a copied object can have under the writer's compression (decompressor format names)
_DECOMPRESSOR_FORMATS = {"gz": "gzip", "bz2": "bz2", "zstd": "zstd", "none": "none"}
_SOURCE_SUFFIXES = {"gz": (".gz",), "bz2": (".bz2",), "zstd": (".zstd", ".zst"), "none": ("",)}
_FORMAT_EXTENSIONS = {"jl": (".jl", ".jsonl")}


class BypassNotApplicable(Exception):
    """Raised by ``execute`` before it changed anything: run the item pipeline instead."""


@dataclass
class BypassContext:
    """What a bypass works with: the job's modules and how to commit its own state."""

    config: ResolvedJob  # the job, each section resolved once
    reader: BaseReader
    writer: BaseWriter
    formatter: BaseExportFormatter
    state: Any  # what the bypass committed last (``None`` for a new job)
    commit: Callable[[Any], None]
    stop_requested: threading.Event
    progress: Callable[[dict[str, Any]], None] | None = None


class BaseBypass:
    """Moves whole objects from a reader's source to a writer's destination.

    Subclasses say which reader and writer they handle (``reasons_against``) and copy in
    ``execute``, committing their state through ``context.commit`` as objects arrive, so a resume
    redoes none of them. ``finished`` is false when ``execute`` stopped on request.
    """

    kind: ClassVar[str] = "bypass"
    supported_options: ClassVar[dict[str, dict[str, Any]]] = {}
    priority: ClassVar[int] = 100  # lower is tried first; generic bypasses come last

    def __init__(self, context: BypassContext) -> None:
        self.context = context
        self.finished = False
        self.log = log
        # every input, in the order copied to the writer's files 0, 1, 2, ... (once listed): the
        # next run of an incremental job reads the others, and its file numbers go on after these
        self.streams: list[Any] = []

    @classmethod
    def handles(cls, config: ResolvedJob) -> bool:
        """Whether the reader and writer are the ones this bypass moves objects between."""
        raise NotImplementedError

    @classmethod
    def reasons_against(cls, config: ResolvedJob) -> list[str]:
        """Why the pipeline could write something else than a copy would (empty: bypass allowed)."""
        return unchanged_output_problems(config)

    @classmethod
    def meets_conditions(cls, config: ResolvedJob) -> bool:
        return cls.handles(config) and not cls.reasons_against(config)

    def execute(self) -> dict[str, Any]:
        """Copy everything (or until a stop is requested); return the job counters."""
        raise NotImplementedError

    def close(self) -> None:
        """Release resources; safe to call more than once."""


def _class_of(job: ResolvedJob, section: str) -> type:
    found = job.section(section)
    assert found is not None, section
    return found.cls


def section_class(job: ResolvedJob, section: str) -> type | None:
    """The class a section of the job names (``None`` when absent)."""
    found = job.section(section)
    return found.cls if found is not None else None


def module_values(job: ResolvedJob, section: str) -> dict[str, Any]:
    """The resolved options of a section (defaults and environment fallbacks applied)."""
    found = job.section(section)
    assert found is not None, section
    return found.options


def formatter_of(job: ResolvedJob) -> BaseExportFormatter:
    formatter: BaseExportFormatter = job.sections["formatter"].build()
    return formatter


def unchanged_output_problems(config: ResolvedJob) -> list[str]:
    """Why items could differ between a pipeline run and a plain copy of the input objects."""
    problems = []
    for section, expected in _IDENTITY_MODULES.items():
        found = _class_of(config, section)
        if found is not resolve(expected, SECTION_KINDS[section]):
            problems.append(f"{section} {found.__name__} may change the items")
    writer = _class_of(config, "writer")
    values = module_values(config, "writer")
    declared = merged_options(writer)
    for option in _WRITER_DEFAULTS:
        if option in declared and values.get(option) != declared[option].get("default"):
            problems.append(f"writer option '{option}' changes how items are cut into files")
    if "write_buffer" in values and resolve(values["write_buffer"], "write_buffers") is not resolve(
        "WriteBuffer", "write_buffers"
    ):
        problems.append(f"write buffer {values['write_buffer']} chooses the items written")
    formatter = formatter_of(config)
    if type(formatter).__name__ != "JsonExportFormatter" or formatter.file_extension != "jl":
        problems.append(f"the output format ({formatter.file_extension}) is not the input's JSON lines")
    elif formatter.options.get("pretty_print"):
        problems.append("pretty_print changes the layout of every item")
    deserializer = section_class(config, "deserializer")
    if deserializer is not None and deserializer is not resolve("JsonLinesDeserializer", "deserializers"):
        problems.append(f"deserializer {deserializer.__name__} reads another format than JSON lines")
    compression = values.get("compression", "gz")
    if compression not in _DECOMPRESSOR_FORMATS:
        problems.append(f"{compression} files name their content: a copy would not")
        return problems
    decompressor = section_class(config, "decompressor")
    auto = resolve("AutoDecompressor", "decompressors")
    if compression == "none" and decompressor is not resolve("NoDecompressor", "decompressors"):
        # without compression the name proves nothing: only NoDecompressor keeps the bytes as they are
        problems.append("compression 'none' needs decompressor NoDecompressor to copy bytes unchanged")
    elif (
        decompressor not in (None, auto)
        and getattr(decompressor, "format_name", "") != (_DECOMPRESSOR_FORMATS[compression])
    ):
        problems.append(f"decompressor {getattr(decompressor, '__name__', '?')} differs from {compression}")
    return problems


def copied_name_problem(name: str, formatter: BaseExportFormatter, compression: str) -> str | None:
    """Why an input object named ``name`` would not hold what the writer writes (``None``: it would)."""
    extensions = _FORMAT_EXTENSIONS.get(formatter.file_extension, (f".{formatter.file_extension}",))
    endings = tuple(ext + tail for ext in extensions for tail in _SOURCE_SUFFIXES.get(compression, ()))
    if compression == "none":
        compressed = (".gz", ".bz2", ".zst", ".zstd", ".zip", ".z")
        if name.lower().endswith(compressed):
            return f"{name} looks compressed; the output is not"
    if not name.endswith(endings):
        wanted = f"{formatter.file_extension}{suffix(compression)}"
        return f"{name} does not look like {wanted} ({' or '.join(endings)}), what the writer produces"
    return None


def bypass_classes() -> list[type[BaseBypass]]:
    """Every catalogued bypass, in the order they are tried."""
    found = [resolve(name, "bypasses") for name in CATALOGUE.get("bypasses", {})]
    classes = [cls for cls in found if isinstance(cls, type) and issubclass(cls, BaseBypass)]
    return sorted(classes, key=lambda cls: cls.priority)


def choose_bypass(
    config: ResolvedJob, prevent: bool, state: dict[str, Any] | None
) -> type[BaseBypass] | None:
    """The bypass to run for a normalized config and its committed state, or ``None`` (pipeline)."""
    if state is not None:
        saved = state.get("bypass")
        if not saved:
            return None  # started in the pipeline: it must resume there
        found = resolve(saved["name"], "bypasses")
        assert isinstance(found, type) and issubclass(found, BaseBypass)
        return found
    if prevent:
        return None
    for cls in bypass_classes():
        if not cls.handles(config):
            continue
        reasons = cls.reasons_against(config)
        if not reasons:
            return cls
        log.info("%s not used, the item pipeline runs: %s", cls.__name__, "; ".join(reasons))
    return None
