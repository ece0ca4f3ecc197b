"""ParquetExportFormatter: schemas declared or inferred, widening, misfits, structs or flattened columns,
row groups and file cuts, and the config checks that run before any data moves.

Exports run in-process through ``BasicExporter`` (FSReader -> FSWriter); the files are read back with
pyarrow, never with Ozzy's own code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_ozzy.errors import ConfigurationError, WriterError
from airflow_provider_ozzy.export_formatter.parquet_export_formatter import ParquetExportFormatter
from airflow_provider_ozzy.export_formatter.parquet_schema import SchemaError, parse_schema
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import output_files, run_ozzy, write_config, write_json_lines_gz


def export(
    work: Path,
    items: list[dict[str, Any]],
    formatter: dict[str, Any] | None = None,
    batch_size: int = 4,
    **writer: Any,
) -> dict[str, Any]:
    write_json_lines_gz(work / "in" / "items.jl.gz", items)
    config = {
        "reader": {
            "name": "FSReader",
            "options": {"input": {"dir": str(work / "in")}, "batch_size": batch_size},
        },
        "writer": {"name": "FSWriter", "options": {"filebase": str(work / "out" / "part_"), **writer}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(work / "state")}},
        "exporter_options": {"formatter": {"name": "ParquetExportFormatter", "options": formatter or {}}},
    }
    return BasicExporter(config).export()


def files(work: Path) -> list[Path]:
    return [work / "out" / name for name in output_files(work / "out")]


ITEMS = [
    {"id": 1, "name": "a", "price": 10, "tags": ["x"], "customer": {"name": "ann", "age": 30}},
    {"id": 2, "name": "b", "price": 2.5, "tags": [], "customer": {"name": "bob", "age": None}},
    {"id": 3, "name": None, "price": None, "tags": None, "customer": None},
    {"id": 4, "name": "d", "price": 7, "tags": ["y", "z"], "customer": {"name": "dan", "age": 41}},
]


def test_inferred_schema_widens_ints_and_floats_and_keeps_structs(tmp_path: Path) -> None:
    export(tmp_path, ITEMS, batch_size=1)  # inferred from the file's first items, across batches
    (path,) = files(tmp_path)
    assert path.name == "part_0000.parquet"
    table = pq.read_table(path)
    assert table.schema == pa.schema(
        [
            ("id", pa.int64()),
            ("name", pa.string()),
            ("price", pa.float64()),
            ("tags", pa.list_(pa.string())),
            ("customer", pa.struct([("name", pa.string()), ("age", pa.int64())])),
        ]
    )
    rows = table.to_pylist()
    assert [row["price"] for row in rows] == [10.0, 2.5, None, 7.0]
    assert rows[0]["customer"] == {"name": "ann", "age": 30}
    assert rows[2] == {"id": 3, "name": None, "price": None, "tags": None, "customer": None}


def test_mixed_kinds_become_text_and_only_nulls_a_string_column(tmp_path: Path) -> None:
    items = [
        {"v": 1, "n": None},
        {"v": "two", "n": None},
        {"v": {"k": [1]}, "n": None},
        {"v": True, "n": None},
    ]
    export(tmp_path, items, batch_size=10)
    table = pq.read_table(files(tmp_path)[0])
    assert table.schema.field("v").type == pa.string()
    assert table.schema.field("n").type == pa.string()
    assert table.column("v").to_pylist() == ["1", "two", '{"k":[1]}', "true"]


def test_declared_schema_sets_order_and_types_and_leaves_out_other_fields(tmp_path: Path) -> None:
    schema = {
        "id": "int32",
        "price": "float32",
        "customer": "struct<name: string, age: int64>",
        "tags": "list<string>",
        "label": "string",
    }
    export(tmp_path, ITEMS, {"schema": schema, "compression": "zstd"})
    table = pq.read_table(files(tmp_path)[0])
    assert table.schema.names == ["id", "price", "customer", "tags", "label"]
    assert table.schema.field("id").type == pa.int32()
    assert table.schema.field("price").type == pa.float32()
    assert table.column("label").to_pylist() == [None] * 4  # declared but absent: null
    metadata = pq.ParquetFile(files(tmp_path)[0]).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_declared_schema_as_nested_mappings_and_lists(tmp_path: Path) -> None:
    schema = {"id": "int", "customer": {"name": "str", "age": "integer"}, "tags": ["string"]}
    export(tmp_path, ITEMS, {"schema": schema})
    table = pq.read_table(files(tmp_path)[0])
    assert table.schema.field("customer").type == pa.struct([("name", pa.string()), ("age", pa.int64())])
    assert table.schema.field("tags").type == pa.list_(pa.string())


def test_flatten_writes_dotted_columns(tmp_path: Path) -> None:
    export(tmp_path, ITEMS, {"flatten": True}, batch_size=10)
    table = pq.read_table(files(tmp_path)[0])
    assert table.schema.names == ["id", "name", "price", "tags", "customer.name", "customer.age"]
    assert table.column("customer.name").to_pylist() == ["ann", "bob", None, "dan"]
    declared = {"id": "int64", "customer": {"name": "string"}}
    export(tmp_path / "declared", ITEMS, {"flatten": True, "schema": declared})
    assert pq.read_table(files(tmp_path / "declared")[0]).schema.names == ["id", "customer.name"]


def test_a_value_that_does_not_fit_the_inferred_schema_names_field_and_item(tmp_path: Path) -> None:
    items = [{"id": 1, "n": 5}, {"id": 2, "n": 6}, {"id": 3, "n": "seven"}]
    with pytest.raises(WriterError) as caught:
        export(tmp_path, items, {"infer_rows": 2}, batch_size=1)
    message = str(caught.value)
    assert "field 'n'" in message and "item 3 of the output file" in message and "'seven'" in message
    assert "int64" in message and "inferred from the file's first 2 item(s)" in message
    assert not (tmp_path / "out").exists() or not files(tmp_path)  # no partial file published


def test_a_field_missing_from_the_inferred_schema_is_an_error(tmp_path: Path) -> None:
    items = [{"id": 1, "c": {"a": 1}}, {"id": 2, "c": {"a": 2, "b": 3}}]
    with pytest.raises(
        WriterError, match=r"item 2 of the output file: field 'c\.b' = 3 \(int\) is not in the schema"
    ):
        export(tmp_path, items, {"infer_rows": 1}, batch_size=1)
    with pytest.raises(WriterError, match="field 'extra'.*is not in the schema"):
        export(tmp_path / "top", [{"id": 1}, {"id": 2, "extra": 1}], {"infer_rows": 1}, batch_size=1)
    # a field that is only ever null loses nothing: no error
    export(tmp_path / "nulls", [{"id": 1}, {"id": 2, "extra": None}], {"infer_rows": 1}, batch_size=1)


@pytest.mark.parametrize(
    ("schema", "value", "fragment"),
    [
        ({"n": "int64"}, 1.5, "field 'n' = 1.5 (float) does not fit the column type int64"),
        ({"n": "int32"}, 2**40, "is out of the int32 range"),
        ({"n": "bool"}, 1, "does not fit the column type bool"),
        ({"n": "float64"}, True, "does not fit the column type float64"),
        ({"n": "list<int64>"}, [1, "x"], "field 'n[]' = 'x' (str)"),
        ({"n": "struct<a: int64>"}, "text", "does not fit the column type struct<a: int64>"),
    ],
)
def test_declared_schema_misfits(tmp_path: Path, schema: dict[str, str], value: Any, fragment: str) -> None:
    items = [{"n": None}, {"n": None}, {"n": value}]
    with pytest.raises(WriterError) as caught:
        export(tmp_path, items, {"schema": schema})
    assert fragment in str(caught.value)
    assert "item 3 of the output file" in str(caught.value)
    assert "comes from option 'schema'" in str(caught.value)


def test_declared_schema_widens_ints_to_float_and_anything_to_string(tmp_path: Path) -> None:
    items = [{"f": 1, "s": 2}, {"f": 2.5, "s": [1, {"a": None}]}, {"f": None, "s": False}]
    export(tmp_path, items, {"schema": {"f": "float64", "s": "string"}})
    table = pq.read_table(files(tmp_path)[0])
    assert table.to_pylist() == [
        {"f": 1.0, "s": "2"},
        {"f": 2.5, "s": '[1,{"a":null}]'},
        {"f": None, "s": "false"},
    ]


def test_row_groups_follow_batches_or_row_group_size_and_files_follow_items_per_buffer_write(
    tmp_path: Path,
) -> None:
    items = [{"id": number} for number in range(25)]
    export(tmp_path, items, {"schema": {"id": "int64"}}, batch_size=4, items_per_buffer_write=10)
    paths = files(tmp_path)
    assert [path.name for path in paths] == ["part_0000.parquet", "part_0001.parquet", "part_0002.parquet"]
    groups = [
        [meta.row_group(index).num_rows for index in range(meta.num_row_groups)]
        for meta in (pq.ParquetFile(path).metadata for path in paths)
    ]
    assert groups == [[4, 4, 2], [2, 4, 4], [4, 1]]  # one row group per batch written to the file
    export(tmp_path / "sized", items, {"row_group_size": 3}, batch_size=4, items_per_buffer_write=10)
    sized = [pq.ParquetFile(path).metadata for path in files(tmp_path / "sized")]
    assert [[m.row_group(i).num_rows for i in range(m.num_row_groups)] for m in sized] == [
        [3, 3, 3, 1],
        [3, 3, 3, 1],
        [3, 2],
    ]
    ids = [row["id"] for path in files(tmp_path / "sized") for row in pq.read_table(path).to_pylist()]
    assert ids == list(range(25))


def test_size_per_buffer_write_cuts_files_after_a_row_group(tmp_path: Path) -> None:
    items = [{"id": number, "text": f"{number:05d}" * 40} for number in range(60)]
    export(
        tmp_path,
        items,
        {"row_group_size": 5, "compression": "none", "infer_rows": 5},
        batch_size=7,
        size_per_buffer_write=2000,
    )
    paths = files(tmp_path)
    assert len(paths) > 2
    counts = [pq.ParquetFile(path).metadata.num_rows for path in paths]
    assert sum(counts) == 60 and all(count % 5 == 0 for count in counts)
    ids = [row["id"] for path in paths for row in pq.read_table(path).to_pylist()]
    assert ids == list(range(60))


def test_the_writer_default_compression_becomes_none_and_names_end_in_parquet(tmp_path: Path) -> None:
    stats = export(tmp_path, ITEMS, {"compression": "gzip"})
    (path,) = files(tmp_path)
    assert path.name == "part_0000.parquet"
    assert path.read_bytes()[:4] == b"PAR1" and path.read_bytes()[-4:] == b"PAR1"
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "GZIP"
    assert stats["bytes_written"] == path.stat().st_size


def test_same_items_give_byte_identical_files(tmp_path: Path) -> None:
    export(tmp_path / "a", ITEMS, batch_size=3)
    export(tmp_path / "b", ITEMS, batch_size=3)
    assert files(tmp_path / "a")[0].read_bytes() == files(tmp_path / "b")[0].read_bytes()


@pytest.mark.parametrize(
    ("declared", "fragment"),
    [
        ({"a": "integr"}, "column 'a': unknown type 'integr'"),
        ({"a": "list<int64"}, "column 'a': expected '>'"),
        ({"a": {"b": "strng"}}, "column 'a.b': unknown type 'strng'"),
        ({"a": ["int", "int"]}, "column 'a': a list type is a list of exactly one element type"),
        ({"a": "struct<x int64>"}, "expected ':'"),
    ],
)
def test_schema_parse_errors_name_the_column(declared: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SchemaError, match=None) as caught:
        parse_schema(declared)
    assert fragment in str(caught.value)
    with pytest.raises(ConfigurationError, match="option 'schema'"):
        ParquetExportFormatter({"schema": declared})


def test_config_errors_fail_before_data_moves_naming_module_and_option(tmp_path: Path) -> None:
    write_json_lines_gz(tmp_path / "in" / "items.jl.gz", ITEMS)
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/part_", "compression": "gz"}},
        "exporter_options": {
            "formatter": {
                "name": "ParquetExportFormatter",
                "options": {"schema": {"id": "int64", "price": "decimal"}, "compression": "lz4"},
            }
        },
    }
    write_config(tmp_path / "config.yaml", config)
    for command in ("validate", "run"):
        result = run_ozzy(command, "config.yaml", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        err = result.stderr
        assert "config.yaml:" in err
        assert (
            "writer (FSWriter): option 'compression' must be 'none' (or left out) with ParquetExportFormatter"
            in err
        )
        assert "got 'gz'" in err
        assert "(ParquetExportFormatter): option 'schema': column 'price': unknown type 'decimal'" in err
        assert "(ParquetExportFormatter): option 'compression' must be one of snappy, zstd, gzip, none" in err
    assert not (tmp_path / "out").exists()
    config["writer"]["options"]["compression"] = "none"
    config["exporter_options"]["formatter"]["options"] = {"schema": {"id": "int64"}}
    write_config(tmp_path / "config.yaml", config)
    assert run_ozzy("validate", "config.yaml", cwd=tmp_path).returncode == 0


def test_console_writer_cannot_print_parquet(tmp_path: Path) -> None:
    write_json_lines_gz(tmp_path / "in" / "items.jl.gz", ITEMS)
    config = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "in")}}},
        "writer": {"name": "ConsoleWriter"},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
        "exporter_options": {"formatter": {"name": "ParquetExportFormatter"}},
    }
    with pytest.raises(WriterError, match="writes whole files"):
        BasicExporter(json.loads(json.dumps(config))).export()


def test_ozzy_runs_without_pyarrow_until_parquet_is_used(tmp_path: Path) -> None:
    """pyarrow is an extra: every module imports without it, other formats run, Parquet says what to install."""
    import subprocess
    import sys
    import textwrap

    write_json_lines_gz(tmp_path / "in" / "items.jl.gz", ITEMS)
    script = textwrap.dedent(
        """
        import sys
        sys.modules["pyarrow"] = None  # as if not installed: importing it raises ImportError
        from airflow_provider_ozzy.engine.config import check, load_config
        from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
        from airflow_provider_ozzy.engine.registry import all_modules

        assert len(all_modules()) > 50
        config = {
            "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
            "writer": {"name": "FSWriter", "options": {"filebase": "out/part_"}},
            "persistence": {"name": "PicklePersistence", "options": {"file_path": "state"}},
        }
        print(BasicExporter(config).export()["items_written"])
        config["exporter_options"] = {"formatter": {"name": "ParquetExportFormatter"}}
        config["deserializer"] = {"name": "ParquetDeserializer"}
        print("\\n".join(check(load_config(config))))
        assert "pyarrow" not in [name for name in sys.modules if sys.modules[name] is not None]
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "4"
    assert any(
        "(ParquetExportFormatter): writing Parquet needs pyarrow: pip install 'airflow-provider-ozzy[parquet]'"
        in line
        for line in lines
    ), lines
    assert any("(ParquetDeserializer): reading Parquet needs pyarrow" in line for line in lines), lines


def test_values_json_cannot_hold_become_their_text_in_string_columns() -> None:
    import datetime
    import decimal

    from airflow_provider_ozzy.export_formatter.parquet_schema import fit, infer

    values = [datetime.datetime(2026, 1, 2, 3, 4, 5), decimal.Decimal("1.25"), b"raw", 2**70, None]
    assert infer(values) == "string"
    assert fit(values, "string", "v", strict=True) == ["2026-01-02T03:04:05", "1.25", "raw", str(2**70), None]
    assert infer([1, 2**70]) == "string"  # over int64: text, not a truncated number
