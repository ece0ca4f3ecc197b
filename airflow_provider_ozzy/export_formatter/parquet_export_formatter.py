"""Parquet files (pyarrow, the ``parquet`` extra): one file per buffer, row groups as items arrive.

Parquet ends with a footer that describes the whole file, so it is a file-level format: the write
buffer hands this formatter's file object whole batches of items (``open_file``) instead of
joining formatted bytes. pyarrow is imported only when a file is opened, so Ozzy runs, and
validates configs, without it.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from airflow_provider_ozzy.core.errors import WriterError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.export_formatter.base_export_formatter import (
    BaseExportFormatter,
    ByteSink,
    ItemFile,
)
from airflow_provider_ozzy.export_formatter.parquet_schema import (
    Misfit,
    Node,
    SchemaError,
    arrow_type,
    describe,
    fit,
    flatten_columns,
    flatten_item,
    infer_columns,
    parse_schema,
    unknown_fields,
)

CODECS = ("snappy", "zstd", "gzip", "none")
INSTALL_HINT = "pip install 'airflow-provider-ozzy[parquet]'"


class ParquetExportFormatter(BaseExportFormatter):
    """Columns from ``schema`` or inferred from each file's first items; nested objects as structs.

    An inferred schema comes from the first ``infer_rows`` items of each file and widens safely
    (integers and floats: float64; mixed kinds: string, non-text values as JSON text; nulls
    everywhere); a later value that does not fit, or a field it does not have, stops the export naming the field
    and the item. Declare ``schema`` for the same columns in every file.
    """

    file_extension = "parquet"
    file_level = True

    requires = ("pyarrow",)
    supported_options = {
        "schema": {
            "type": dict,
            "default": {},
            "help": "Column -> type: string, int64, int32, float64, float32, bool, list<T>, "
            "struct<name: T, ...> (or a nested mapping). Empty: inferred per file. Fields not "
            "named are left out.",
        },
        "compression": {
            "type": str,
            "default": "snappy",
            "choices": CODECS,
            "help": "snappy, zstd, gzip or none.",
        },
        "compression_level": {
            "type": (int, type(None)),
            "minimum": -7,
            "maximum": 22,
            "default": None,
            "help": "Codec level (zstd, gzip); default per codec.",
        },
        "flatten": {
            "type": bool,
            "default": False,
            "help": "Nested objects as dotted columns (customer.name) instead of structs.",
        },
        "infer_rows": {
            "type": int,
            "minimum": 1,
            "maximum": 10_000_000,
            "default": 1000,
            "help": "Without 'schema': items of each file the schema is inferred from (held in "
            "memory until then).",
        },
        "row_group_size": {
            "type": int,
            "minimum": 0,
            "maximum": 1_000_000_000,
            "default": 0,
            "help": "Rows per row group, held in memory as Arrow columns; 0: one row group per "
            "batch of items written to the file.",
        },
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        problems = []
        if values["schema"]:
            try:
                parse_schema(values["schema"])
            except SchemaError as error:
                problems.append(Problem("schema", f"option 'schema': {error}"))
        if values["infer_rows"] <= 0:
            problems.append(Problem("infer_rows", "option 'infer_rows' must be positive"))
        if values["row_group_size"] < 0:
            problems.append(Problem("row_group_size", "option 'row_group_size' must be 0 or positive"))
        if importlib.util.find_spec("pyarrow") is None:
            problems.append(Problem(None, f"writing Parquet needs pyarrow: {INSTALL_HINT}"))
        return problems

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        declared = parse_schema(self.options["schema"]) if self.options["schema"] else None
        if declared is not None and self.options["flatten"]:
            declared = flatten_columns(declared)
        self.declared = declared

    def format_items(self, items: list[dict[str, Any]]) -> list[bytes]:
        raise WriterError(
            "ParquetExportFormatter writes whole files: use a writer that writes files "
            "(FSWriter, S3Writer, GStorageWriter, ...), not one that prints or sends items"
        )

    def open_file(self, sink: ByteSink) -> ItemFile:
        return ParquetItemFile(self, sink)


class _SinkAdapter:
    """The file object pyarrow writes to: passes bytes on to the buffer file."""

    closed = False

    def __init__(self, sink: ByteSink) -> None:
        self._sink = sink
        self._position = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._sink.write(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Nothing is held here."""

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        """The write buffer closes (and fsyncs) the real file."""


class ParquetItemFile:
    """One Parquet file: items become Arrow columns, then row groups of ``row_group_size`` rows."""

    def __init__(self, formatter: ParquetExportFormatter, sink: ByteSink) -> None:
        self._formatter = formatter
        self._sink = sink
        self._options = formatter.options
        self._columns: tuple[tuple[str, Node], ...] | None = formatter.declared
        self._inferred_from = 0  # items the schema was inferred from (0: declared)
        self._schema: Any = None
        self._writer: Any = None
        self._pending: list[Any] = []  # Arrow tables not yet in a row group
        self._pending_rows = 0
        self._items = 0  # items taken, for error messages
        self._sample: list[dict[str, Any]] = []  # the file's first items, until the schema is inferred

    def write_items(self, items: list[dict[str, Any]], byte_limit: int) -> int:
        if self._columns is not None:
            return self._take(items, byte_limit)
        room = self._options["infer_rows"] - len(self._sample)
        self._sample.extend(items[:room])
        if len(self._sample) < self._options["infer_rows"]:
            return len(items)
        self._write_sample()
        return room + self._take(items[room:], byte_limit)

    def _write_sample(self) -> None:
        """Infer the schema from the held items and write them (the byte limit waits for them)."""
        sample, self._sample = self._sample, []
        rows = [flatten_item(item) for item in sample] if self._options["flatten"] else sample
        self._columns = infer_columns(rows)
        self._inferred_from = len(rows)
        self._take(sample, sys.maxsize)

    def _take(self, items: list[dict[str, Any]], byte_limit: int) -> int:
        size = self._options["row_group_size"]
        taken = 0
        while taken < len(items):
            room = size - self._pending_rows if size else len(items) - taken
            chunk = items[taken : taken + room]
            self._pending.append(self._table(chunk))
            self._pending_rows += len(chunk)
            self._items += len(chunk)
            taken += len(chunk)
            if not size or self._pending_rows >= size:
                self._write_pending()
                if self._sink.size >= byte_limit:
                    break
        return taken

    def close(self) -> None:
        if self._columns is None:
            self._write_sample()
        self._write_pending()
        self._open_writer()
        self._writer.close()
        self._writer = None

    def discard(self) -> None:
        """Drop the file (the export stops or failed); the buffer file is removed after this."""
        writer, self._writer = self._writer, None
        self._pending = []
        self._sample = []
        if writer is not None:
            try:  # closed now rather than by its finaliser, which would write into a removed file
                writer.close()
            except Exception:  # the file is removed anyway
                pass

    # -- internals ---------------------------------------------------------------------------------
    def _table(self, items: list[dict[str, Any]]) -> Any:
        import pyarrow as pa

        rows = [flatten_item(item) for item in items] if self._options["flatten"] else items
        assert self._columns is not None
        if self._schema is None:
            self._schema = pa.schema([pa.field(name, arrow_type(node)) for name, node in self._columns])
        if self._inferred_from:
            self._check_fields(rows)
        arrays = [
            self._array(rows, name, node, field.type)
            for (name, node), field in zip(self._columns, self._schema, strict=True)
        ]
        return pa.Table.from_arrays(arrays, schema=self._schema)

    def _check_fields(self, rows: list[dict[str, Any]]) -> None:
        assert self._columns is not None
        extra = unknown_fields(rows, {name for name, _ in self._columns})
        if extra:
            name, value, index = extra
            raise self._error(index, name, value, None, "is not in the schema")

    def _array(self, rows: list[dict[str, Any]], name: str, node: Node, arrow: Any) -> Any:
        import pyarrow as pa

        values = [row.get(name) for row in rows]
        strict = bool(self._inferred_from)
        try:
            return pa.array(fit(values, node, name, strict), type=arrow)
        except (Misfit, pa.ArrowException, OverflowError, TypeError, ValueError):
            pass
        for index, value in enumerate(values):  # find the item, for the message
            try:
                pa.array(fit([value], node, name, strict), type=arrow)
            except Misfit as misfit:
                raise self._error(index, misfit.path, misfit.value, misfit.node, misfit.reason) from None
            except (pa.ArrowException, OverflowError, TypeError, ValueError) as error:
                raise self._error(index, name, value, node, f"({error})") from None
        raise WriterError(f"ParquetExportFormatter: column '{name}' cannot be converted to {describe(node)}")

    def _error(self, index: int, path: str, value: Any, node: Node | None, reason: str) -> WriterError:
        number = self._items + index + 1  # the chunk is not counted in _items yet
        text = repr(value)
        text = text if len(text) <= 80 else text[:77] + "..."
        what = reason or f"does not fit the column type {describe(node) if node is not None else ''}"
        if "too large" in what and "int64" in what:
            what += (
                " (an integer beyond 64 bits: no Parquet integer column holds it exactly; declare the "
                "field 'string' in option 'schema' to keep its digits)"
            )
        origin = (
            f"the schema was inferred from the file's first {self._inferred_from} item(s); declare "
            "option 'schema' or make the values consistent"
            if self._inferred_from
            else "the column type comes from option 'schema'"
        )
        return WriterError(
            f"ParquetExportFormatter: item {number} of the output file: field '{path}' = {text} "
            f"({type(value).__name__}) {what}; {origin}"
        )

    def _open_writer(self) -> None:
        if self._writer is not None:
            return
        import pyarrow.parquet as pq

        codec = self._options["compression"]
        self._writer = pq.ParquetWriter(
            _SinkAdapter(self._sink),
            self._schema,
            compression="NONE" if codec == "none" else codec,
            compression_level=self._options["compression_level"],
        )

    def _write_pending(self) -> None:
        if not self._pending:
            return
        import pyarrow as pa

        self._open_writer()
        table = self._pending[0] if len(self._pending) == 1 else pa.concat_tables(self._pending)
        self._pending = []
        self._pending_rows = 0
        if table.num_rows:
            self._writer.write_table(table, row_group_size=table.num_rows)
