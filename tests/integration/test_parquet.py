"""Parquet output through the file-based writers (FS, S3 on moto, GCS on fake-gcs-server, SFTP), Parquet and
CSV input through the stream readers, and ``kill -9`` + resume of a Parquet export.

Written files are read back with pyarrow (and csv/json), independently of Ozzy; the round trips then
read them with Ozzy's own readers and deserializers to compare with the original items.
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_ozzy.deserializers.parquet_deserializer import ParquetDeserializer
from airflow_provider_ozzy.errors import ReaderError
from airflow_provider_ozzy.readers.fs_reader import FSReader
from tests.crash_harness import CrashHarness, check_exact_output
from tests.helpers import output_files, read_json_lines, write_json_lines_gz
from tests.integration.object_store_cases import export, fs_input, new_gcs_bucket, use_gcs
from tests.integration.test_crash_resume import final_stats, make_item
from tests.servers.gcs_server import GCSServer
from tests.servers.moto_server import MotoServer

COUNTRIES = ["es", "uk", "us"]
ITEMS: list[dict[str, Any]] = [
    {
        "id": number,
        "country": COUNTRIES[number % 3],
        "name": f"item {number} \u00e9",
        "price": number * 1.5 if number % 4 else number,  # ints and floats: float64
        "tags": [f"t{number % 5}"] * (number % 3),
        "customer": {"name": f"c{number}", "age": 20 + number % 50},
    }
    for number in range(60)
]
SCHEMA = {
    "id": "int64",
    "country": "string",
    "name": "string",
    "price": "float64",
    "tags": "list<string>",
    "customer": "struct<name: string, age: int32>",
}
STRUCT_TYPE = pa.struct([("name", pa.string()), ("age", pa.int64())])


def parquet(**options: Any) -> dict[str, Any]:
    return {"name": "ParquetExportFormatter", "options": options}


def floats(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` as it comes back from a float64 price column."""
    return {**item, "price": float(item["price"])}


def flat(item: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in floats(item).items() if key != "customer"}
    out.update({f"customer.{key}": value for key, value in item["customer"].items()})
    return out


def read_rows(paths: list[Path]) -> list[dict[str, Any]]:
    return [row for path in paths for row in pq.read_table(path).to_pylist()]


# -- FS ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formatter", "struct_type", "expected"),
    [
        pytest.param(parquet(), STRUCT_TYPE, floats, id="inferred-struct-snappy"),
        pytest.param(parquet(compression="zstd", flatten=True), None, flat, id="inferred-flat-zstd"),
        pytest.param(
            parquet(schema=SCHEMA, compression="snappy"),
            pa.struct([("name", pa.string()), ("age", pa.int32())]),
            floats,
            id="declared-struct-snappy",
        ),
        pytest.param(
            parquet(schema=SCHEMA, compression="zstd", flatten=True), None, flat, id="declared-flat-zstd"
        ),
    ],
)
def test_fs_export_grouped_read_back_by_pyarrow(work, formatter, struct_type, expected):
    stats = export(
        {
            "reader": fs_input(work, ITEMS),
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
            "writer": {
                "name": "FSWriter",
                "options": {"filebase": "out/{groups[0]}/part_", "items_per_buffer_write": 8},
            },
            "exporter_options": {"formatter": formatter},
        }
    )
    codec = formatter["options"].get("compression", "snappy").upper()
    for country in COUNTRIES:
        paths = sorted((work / "out" / country).iterdir())
        wanted = [expected(item) for item in ITEMS if item["country"] == country]
        assert [path.name for path in paths] == [f"part_{n:04d}.parquet" for n in range(-(-len(wanted) // 8))]
        assert read_rows(paths) == wanted
        for path in paths:
            parquet_file = pq.ParquetFile(path)
            schema = parquet_file.schema_arrow
            assert schema.field("id").type == pa.int64() and schema.field("price").type == pa.float64()
            assert schema.field("tags").type == pa.list_(pa.string())
            if struct_type is None:
                assert schema.field("customer.name").type == pa.string()
                assert "customer" not in schema.names
            else:
                assert schema.field("customer").type == struct_type
            assert parquet_file.metadata.row_group(0).column(0).compression == codec
    assert (stats["items_written"], stats["files_written"]) == (60, 9)


def test_fs_parquet_round_trip_through_fsreader_with_the_parquet_deserializer(work):
    export(
        {
            "reader": fs_input(work, ITEMS),
            "writer": {"name": "FSWriter", "options": {"filebase": "pq/part_", "items_per_buffer_write": 25}},
            "exporter_options": {"formatter": parquet(row_group_size=10)},
        }
    )
    assert output_files(work / "pq") == ["part_0000.parquet", "part_0001.parquet", "part_0002.parquet"]
    export(
        {
            "reader": {"name": "FSReader", "options": {"input": {"dir": "pq"}, "batch_size": 9}},
            "deserializer": {"name": "ParquetDeserializer", "options": {"batch_rows": 4}},
            "writer": {"name": "FSWriter", "options": {"filebase": "back/items_", "compression": "none"}},
        }
    )
    assert read_json_lines(work / "back" / "items_0000.jl") == [floats(item) for item in ITEMS]


def test_parquet_reader_resumes_mid_file_skipping_row_groups(work):
    export(
        {
            "reader": fs_input(work, ITEMS),
            "writer": {"name": "FSWriter", "options": {"filebase": "pq/part_", "items_per_buffer_write": 40}},
            "exporter_options": {"formatter": parquet(row_group_size=6)},
        }
    )
    reader = FSReader({"input": {"dir": "pq"}, "batch_size": 5})
    reader.deserializer = ParquetDeserializer({"batch_rows": 4})
    # a position saved after 17 rows of the first file: row groups 0-1 are skipped, group 2 sliced
    first = FSReader({"input": {"dir": "pq"}})
    first.open(None)
    position = {**first.get_last_position(), "offset": 17}
    first.close()
    assert position["stream_name"].endswith("part_0000.parquet")
    reader.open(position)
    items = []
    while not reader.finished:
        items.extend(reader.get_next_batch())
        if not reader.finished:
            assert reader.get_last_position()["offset"] in range(0, 41)
    reader.close()
    assert [item["id"] for item in items] == list(range(17, 60))
    assert items[0] == floats(ITEMS[17])


def test_a_file_that_is_not_parquet_is_a_reader_error(work):
    (work / "in").mkdir()
    (work / "in" / "bad.parquet").write_bytes(b"PAR1 not really")
    reader = FSReader({"input": {"dir": "in"}})
    reader.deserializer = ParquetDeserializer()
    reader.open(None)
    with pytest.raises(ReaderError, match=r"bad\.parquet: not a Parquet file"):
        reader.get_next_batch()
    reader.close()


def test_csv_round_trip_through_fsreader_with_the_csv_deserializer(work):
    fields = ["id", "country", "name", "price"]
    export(
        {
            "reader": fs_input(work, ITEMS),
            "writer": {
                "name": "FSWriter",
                "options": {"filebase": "csv/part_", "items_per_buffer_write": 25, "compression": "gz"},
            },
            "exporter_options": {"formatter": {"name": "CSVExportFormatter", "options": {"fields": fields}}},
        }
    )
    assert output_files(work / "csv") == ["part_0000.csv.gz", "part_0001.csv.gz", "part_0002.csv.gz"]
    export(
        {
            "reader": {"name": "FSReader", "options": {"input": {"dir": "csv"}, "batch_size": 7}},
            "deserializer": {"name": "CSVDeserializer"},
            "writer": {"name": "FSWriter", "options": {"filebase": "back/items_", "compression": "none"}},
        }
    )
    expected = [{field: str(item[field]) for field in fields} for item in ITEMS]
    assert read_json_lines(work / "back" / "items_0000.jl") == expected
    # and the CSV itself, read by the csv module
    import gzip

    rows = list(
        csv.DictReader(
            io.StringIO(gzip.decompress((work / "csv" / "part_0000.csv.gz").read_bytes()).decode())
        )
    )
    assert rows == expected[:25]


# -- object stores -------------------------------------------------------------------------------------------


def test_s3_export_read_back_by_pyarrow_and_by_s3reader(work, moto_server: MotoServer, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OZZY_PQ_S3", moto_server.connection_json())
    bucket = moto_server.create_bucket()
    s3 = moto_server.client("s3")
    export(
        {
            "reader": fs_input(work, ITEMS),
            "writer": {
                "name": "S3Writer",
                "options": {
                    "bucket": bucket,
                    "filebase": "pq/%Y/part_",
                    "aws_conn_id": "ozzy_pq_s3",
                    "items_per_buffer_write": 25,
                    "check_consistency": True,
                },
            },
            "exporter_options": {"formatter": parquet(schema=SCHEMA, compression="zstd")},
        }
    )
    keys = sorted(entry["Key"] for entry in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert [key.rsplit("/", 1)[1] for key in keys] == [f"part_{n:04d}.parquet" for n in range(3)]
    rows = []
    for key in keys:
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        assert table.schema.field("customer").type == pa.struct([("name", pa.string()), ("age", pa.int32())])
        rows.extend(table.to_pylist())
    assert rows == [floats(item) for item in ITEMS]
    export(
        {
            "reader": {
                "name": "S3Reader",
                "options": {"bucket": bucket, "prefix": "pq/", "aws_conn_id": "ozzy_pq_s3", "batch_size": 11},
            },
            "deserializer": {"name": "ParquetDeserializer"},
            "writer": {"name": "FSWriter", "options": {"filebase": "back/items_", "compression": "none"}},
        }
    )
    assert read_json_lines(work / "back" / "items_0000.jl") == [floats(item) for item in ITEMS]


def test_gcs_export_read_back_by_pyarrow(work, gcs_server: GCSServer, monkeypatch):
    bucket = new_gcs_bucket(use_gcs(gcs_server, monkeypatch, "ozzy_pq_gcs"), prefix="ozzy-pq")
    client = gcs_server.client()
    export(
        {
            "reader": fs_input(work, ITEMS),
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
            "writer": {
                "name": "GStorageWriter",
                "options": {
                    "bucket": bucket,
                    "filebase": "pq/{groups[0]}/part_",
                    "gcp_conn_id": "ozzy_pq_gcs",
                    "items_per_buffer_write": 15,
                },
            },
            "exporter_options": {"formatter": parquet(flatten=True)},
        }
    )
    names = sorted(blob.name for blob in client.list_blobs(bucket))
    assert names == [f"pq/{country}/part_{n:04d}.parquet" for country in COUNTRIES for n in range(2)]
    for country in COUNTRIES:
        rows = []
        for name in names:
            if name.startswith(f"pq/{country}/"):
                data = client.bucket(bucket).blob(name).download_as_bytes()
                table = pq.read_table(io.BytesIO(data))
                assert table.schema.field("customer.age").type == pa.int64()
                rows.extend(table.to_pylist())
        assert rows == [flat(item) for item in ITEMS if item["country"] == country]


def test_sftp_export_read_back_by_pyarrow(work, sftp_server, monkeypatch):
    """SFTPWriter (legacy options, through SFTPHook): partial upload, rename, the same Parquet bytes."""
    from tests.servers.sftp_server import PASSWORD, USER

    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    folder = f"exports/pq-{uuid.uuid4().hex[:8]}"
    export(
        {
            "reader": fs_input(work, ITEMS),
            "writer": {
                "name": "SFTPWriter",
                "options": {
                    "host": "127.0.0.1",
                    "port": sftp_server.port,
                    "sftp_user": USER,
                    "sftp_password": PASSWORD,
                    "no_host_key_check": True,
                    "filebase": f"{folder}/part_",
                    "items_per_buffer_write": 30,
                    "check_consistency": True,
                },
            },
            "exporter_options": {"formatter": parquet(compression="gzip")},
        }
    )
    assert sftp_server.download(folder, work / "back") == ["part_0000.parquet", "part_0001.parquet"]
    paths = [work / "back" / "part_0000.parquet", work / "back" / "part_0001.parquet"]
    assert read_rows(paths) == [floats(item) for item in ITEMS]
    assert pq.ParquetFile(paths[0]).metadata.row_group(0).column(0).compression == "GZIP"


# -- kill -9 and resume --------------------------------------------------------------------------------------

CRASH_FILES = 2
CRASH_ITEMS_PER_FILE = 1500
CRASH_ITEMS = CRASH_FILES * CRASH_ITEMS_PER_FILE
CRASH_PER_OUTPUT = 200


@pytest.fixture(scope="module")
def crash_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("parquet-crash-input")
    items = [make_item(number) for number in range(CRASH_ITEMS)]
    for index in range(CRASH_FILES):
        chunk = items[index * CRASH_ITEMS_PER_FILE : (index + 1) * CRASH_ITEMS_PER_FILE]
        write_json_lines_gz(folder / f"part-{index:02d}.jl.gz", chunk)
    return folder, items


def parquet_ids(path: Path) -> list[int]:
    """The crash harness's parser for Parquet output files."""
    return pq.read_table(path, columns=["id"]).column("id").to_pylist()


@pytest.mark.parametrize(
    ("seed", "formatter", "grouped"),
    [
        pytest.param(21, parquet(compression="zstd"), False, id="inferred-zstd", marks=pytest.mark.slow),
        pytest.param(22, parquet(flatten=True, row_group_size=64), True, id="grouped-flat-row-groups"),
        pytest.param(
            23,
            parquet(
                schema={"id": "int64", "country": "string", "nested": "struct<n: int64, tags: list<string>>"}
            ),
            True,
            id="grouped-declared",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_kill_9_then_resume_gives_exact_parquet_output(tmp_path, crash_input, seed, formatter, grouped):
    import random

    folder, items = crash_input
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(folder)}, "batch_size": 50}},
        "writer": {
            "name": "FSWriter",
            "options": {
                "filebase": "out/{groups[0]}/part_" if grouped else "out/part_",
                "items_per_buffer_write": CRASH_PER_OUTPUT,
            },
        },
        "exporter_options": {"formatter": formatter},
    }
    if grouped:
        config["grouper"] = {"name": "FileKeyGrouper", "options": {"keys": ["country"]}}
    buffers = tmp_path / "buffers"
    buffers.mkdir()
    harness = CrashHarness(tmp_path / "job", config, env={"TMPDIR": str(buffers)}, timeout=300)
    expected: dict[str, list[int]] = {}
    for item in items:
        prefix = f"{item['country']}/part_" if grouped else "part_"
        expected.setdefault(prefix + ".parquet", []).append(item["id"])
    layout = {
        key: [min(CRASH_PER_OUTPUT, len(ids) - start) for start in range(0, len(ids), CRASH_PER_OUTPUT)]
        for key, ids in expected.items()
    }
    total_files = sum(len(sizes) for sizes in layout.values())
    rng = random.Random(seed)
    report = harness.run(
        harness.random_plan(rng, total_files, CRASH_ITEMS // 50, 2), seed=seed, label="parquet"
    )
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert report.interruptions >= 1, context
    problems = check_exact_output(harness.output, expected, parquet_ids, layout=layout)
    assert not problems, "\n  ".join(problems) + context
    stats = final_stats(report)
    assert (stats["items_written"], stats["files_written"]) == (CRASH_ITEMS, total_files), context
