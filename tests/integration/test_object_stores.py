"""The round trips S3, GCS and Azure Blob have in common, written once and run against each store.

Each case takes ``store`` (``object_store_cases.Store``): a new bucket on the session server of that
service (moto_server, gcs_server, azurite_server) and an Airflow connection to it. What only one
store does (S3's bypass and multipart uploads, GCS's credentials, Azure Files...) stays in
``test_s3.py``, ``test_gcs.py`` and ``test_azure.py``.
"""

from __future__ import annotations

import datetime
import gzip
import re
import uuid
from typing import Any

import pytest

from airflow_provider_ozzy.errors import InconsistentWriteError, ReaderError, WriterError
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter
from tests.helpers import read_json_lines
from tests.integration.object_store_cases import (
    COMPRESSED_INPUTS,
    FORMATS,
    ITEMS,
    Store,
    expected_objects,
    export,
    fs_input,
    jl,
    open_store,
    parse_output,
)

TODAY = datetime.datetime.now(datetime.UTC).date()
FS_WRITER = {"name": "FSWriter", "options": {"filebase": "out/items_", "compression": "none"}}


@pytest.fixture(params=["s3", "gcs", "azure"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Store:
    return open_store(request.param, request, monkeypatch)


@pytest.mark.parametrize(("formatter", "compression", "extension"), FORMATS)
def test_fs_to_store_with_groups_formats_and_compression(work, store, formatter, compression, extension):
    config = {
        "reader": fs_input(work, ITEMS),
        "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
        "writer": store.writer(
            "exports/%Y/{groups[0]}/part_",
            **{store.bucket_option: store.url()},
            items_per_buffer_write=6,
            compression=compression,
            check_consistency=True,
        ),
        "exporter_options": {"formatter": formatter},
    }
    stats = export(config)
    expected = expected_objects(f"exports/{TODAY:%Y}/", extension, compression, per_file=6)
    assert store.names() == sorted(expected)
    for name, ids in expected.items():
        data = store.content(name)
        assert parse_output(data, name, extension) == ids, name
        store.check_object(name, data, ids)
    assert (stats["items_written"], stats["files_written"]) == (len(ITEMS), len(expected))


@pytest.mark.parametrize("input_name", list(COMPRESSED_INPUTS))
def test_store_to_fs_reads_every_compression(work, store, input_name):
    """The reader reads what any writer (or anyone) put there, detecting the compression."""
    name, encode = COMPRESSED_INPUTS[input_name]
    store.put({f"in/a-{name}": encode(jl(ITEMS[:25])), f"in/b-{name}": encode(jl(ITEMS[25:]))})
    export({"reader": store.reader(prefix="in/", batch_size=7), "writer": FS_WRITER})
    assert read_json_lines(work / "out/items_0000.jl") == ITEMS


@pytest.mark.parametrize(("country", "compression"), [("us", "zstd"), ("uk", "gz")])
def test_store_to_store_round_trip_with_groups_csv_and_exact_names(work, store, country, compression):
    """The writer's output read back by the reader (CSV, then JSON lines of one group)."""
    store.put({"src/items.jl.gz": gzip.compress(jl(ITEMS))})
    csv_section = {"name": "CSVExportFormatter", "options": {"fields": ["id", "country", "name", "v"]}}
    export(
        {
            "reader": store.reader(prefix="src/"),
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
            "writer": store.writer("csv/{groups[0]}/rows_", items_per_buffer_write=10, compression="bz2"),
            "exporter_options": {"formatter": csv_section},
        }
    )
    expected = expected_objects("csv/", "csv", "bz2", per_file=10, prefix="rows_")
    assert store.names("csv/") == sorted(expected)
    export(
        {
            "reader": store.reader(prefix=f"csv/{country}/", batch_size=3),
            "deserializer": {"name": "CSVDeserializer"},
            "writer": store.writer(f"back/{country}_", compression=compression),
        }
    )
    name = f"back/{country}_0000.jl.{compression}"
    assert store.names("back/") == [name]
    path = work / name.replace("/", "_")
    path.write_bytes(store.content(name))
    assert read_json_lines(path) == [
        {"id": str(item["id"]), "country": country, "name": item["name"], "v": str(item["v"])}
        for item in ITEMS
        if item["country"] == country
    ]


DAY = TODAY - datetime.timedelta(days=1)
BEFORE = TODAY - datetime.timedelta(days=2)
# objects (items, or bytes as they are), then (reader options, the values of "n" read in order);
# GCS and Azure list in one global name order (S3Reader lists prefix by prefix: test_s3.py)
LISTINGS: dict[str, tuple[dict[str, Any], list[tuple[dict[str, Any], list[int]]]]] = {
    "gcs": (
        {
            f"logs/{BEFORE:%Y-%m-%d}/a.jl.gz": [{"n": 1}],
            f"logs/{DAY:%Y-%m-%d}/a.jl.gz": [{"n": 2}],
            f"logs/{DAY:%Y-%m-%d}/b.txt": [{"n": 99}],
            f"logs/{TODAY:%Y-%m-%d}/a.jl.gz": [{"n": 3}],
            "other/x.jl.gz": [{"n": 4}],
            "other/y.jl.gz": [{"n": 5}],
            "pointers/list.txt": b"other/y\n\n  logs/%Y-%m-%d/  \n",
        },
        [
            (
                {
                    "prefix": ["other/", "logs/%Y-%m-%d/"],
                    "pattern": r"\.jl\.gz$",
                    "prefix_format_using_date": ["2 days ago", "yesterday"],
                },
                [1, 2, 4, 5],
            ),
            ({"prefix_pointer": "pointers/list.txt", "prefix_format_using_date": "today"}, [3, 5]),
            ({"prefix": "logs/", "pattern": "a\\.jl"}, [1, 2, 3]),
        ],
    ),
    "azure": (
        {
            f"logs/{DAY:%Y%m%d}/a.jl.gz": [{"n": 1}],
            f"logs/{DAY:%Y%m%d}/b.csv.gz": [{"n": 99}],
            f"logs/{TODAY:%Y%m%d}/a.jl.gz": [{"n": 2}],
            "other/x.jl.gz": [{"n": 3}],
            "other/y.jl.gz": [{"n": 4}],
            "pointer": b"logs/%Y%m%d/\nother/x\n",
        },
        [
            (
                {
                    "prefix": ["other/", "logs/%Y%m%d/"],
                    "pattern": r"\.jl\.gz$",
                    "prefix_format_using_date": ["yesterday", "today"],
                },
                [1, 2, 3, 4],
            ),
            ({"prefix_pointer": "pointer", "prefix_format_using_date": "yesterday"}, [1, 99, 3]),
            ({"prefix": "logs/", "pattern": "a\\.jl"}, [1, 2]),
        ],
    ),
}


@pytest.mark.parametrize("store", list(LISTINGS), indirect=True)
def test_reader_listing_semantics(work, store):
    """prefix lists, pattern, prefix_pointer and prefix_format_using_date, as S3Reader."""
    objects, reads = LISTINGS[store.kind]
    store.put(
        {
            name: value if isinstance(value, bytes) else gzip.compress(jl(value))
            for name, value in objects.items()
        }
    )
    for options, expected in reads:
        for path in work.glob("out*"):
            path.rename(work / f"old-{uuid.uuid4().hex}")
        export({"reader": store.reader(**options), "writer": FS_WRITER})
        got = [item["n"] for file in sorted(work.glob("out/*")) for item in read_json_lines(file)]
        assert got == expected, options


def test_reader_refuses_an_object_replaced_after_listing(work, store):
    """An object replaced before the reader opens it is refused; one already opened (the reader
    opens up to ``opens_ahead`` objects early) is read as it was listed. Either way, never
    other data than the listed version."""
    names = [f"in/{n}.jl.gz" for n in range(6)]
    store.put({name: gzip.compress(jl(ITEMS[n * 5 : n * 5 + 5])) for n, name in enumerate(names)})
    reader = store.reader_class(store.options(prefix="in/", batch_size=5))
    assert reader.opens_ahead < len(names) - 1
    reader.open(None)
    assert reader.get_next_batch() == ITEMS[:5]
    store.put({names[1]: gzip.compress(jl(ITEMS[40:45])), names[-1]: gzip.compress(jl(ITEMS[40:45]))})
    read = []
    with pytest.raises(ReaderError) as refused:
        while True:
            read.extend(reader.get_next_batch())
    reader.close()
    if re.search(store.replaced(names[1]), str(refused.value)):  # opened, its next range refused (GCS)
        assert read == []
    else:  # opened ahead with the listed version, read as listed
        assert re.search(store.replaced(names[-1]), str(refused.value)), refused.value
        assert read == ITEMS[5:25]


@pytest.mark.parametrize("store", ["gcs", "azure"], indirect=True)
def test_check_consistency_catches_an_object_changed_after_it_was_written(work, store):
    """(S3 checks ETags and metadata instead: test_s3.py)"""
    writer = store.writer_class(
        store.options(filebase="out/p_", items_per_buffer_write=10, check_consistency=True)
    )
    writer.open(JsonExportFormatter(), None)
    writer.write_batch({(): ITEMS}, 0)
    writer.flush()
    writer.finish_writing()  # untouched: passes
    assert store.names() == [f"out/p_{n:04d}.jl.gz" for n in range(4)]
    original = store.content("out/p_0001.jl.gz")
    store.put({"out/p_0001.jl.gz": original[:-1] + bytes([original[-1] ^ 1])})  # same size
    store.put({"out/p_0002.jl.gz": b"short"})
    store.delete("out/p_0003.jl.gz")
    with pytest.raises(InconsistentWriteError) as caught:
        writer.finish_writing()
    writer.close()
    message = str(caught.value)
    assert "3 file(s)" in message, message
    assert f"{store.where('out/p_0001.jl.gz')} has md5" in message
    assert f"{store.where('out/p_0002.jl.gz')} has 5 bytes" in message
    assert f"{store.where('out/p_0003.jl.gz')} is not present at the destination" in message


def test_undefined_connection_names_the_connection_and_the_bucket(work, store):
    with pytest.raises(
        WriterError,
        match=rf"connection 'nowhere' \(option '{store.conn_option}'\) is not defined; {store.noun} '{store.bucket}'",
    ):
        export(
            {
                "reader": fs_input(work, ITEMS),
                "writer": store.writer("out/p_", **{store.conn_option: "nowhere"}),
            }
        )
