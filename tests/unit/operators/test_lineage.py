"""OpenLineage datasets of ``OzzyExportOperator``: every reader with every writer, names per the conventions.

Operators are built from configs (validated as at DAG parse time) and asked for their facets the way
the OpenLineage provider's ``DefaultExtractor`` asks. Connections are real Airflow connections from
``AIRFLOW_CONN_*`` variables; their secrets must never reach a dataset. Modules other engineers
have not catalogued yet are still mapped by name (``config_datasets``); building an operator with
them is skipped until they exist. The provider being optional is checked in a child process that
cannot import it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.engine.registry import kind_of
from airflow_provider_ozzy.operators.lineage import (
    LineageDataset,
    config_datasets,
    fixed_directory,
    section_datasets,
)
from airflow_provider_ozzy.writers.fs_writer import FSWriter

HOST = socket.gethostname()
SECRET = "Sup3r-S3cret-Value"
ROOT = Path(__file__).parents[3]

CONNECTIONS = {
    "lineage_sftp": {
        "conn_type": "sftp",
        "host": "sftp.example.com",
        "port": 2222,
        "login": "bob",
        "password": SECRET,
    },
    "lineage_ftp": {"conn_type": "ftp", "host": "ftp.example.com", "login": "bob", "password": SECRET},
    "lineage_wasb": {"conn_type": "wasb", "login": "connaccount", "password": SECRET},
    "lineage_kafka": {
        "conn_type": "ozzy_kafka",
        "host": "broker1:9093,broker2:9093",
        "login": "bob",
        "password": SECRET,
    },
    "lineage_scrapy": {
        "conn_type": "ozzy_scrapy_cloud",
        "host": "http://127.0.0.1:8321/",
        "password": SECRET,
    },
    "lineage_mysql": {
        "conn_type": "mysql",
        "host": "db.example.com",
        "schema": "shop",
        "login": "root",
        "password": SECRET,
    },
    "lineage_postgres": {
        "conn_type": "postgres",
        "host": "pg.example.com",
        "port": 5433,
        "schema": "warehouse",
        "login": "postgres",
        "password": SECRET,
    },
}

# (id, section, expected datasets as (namespace, name))
READERS: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "FSReader",
        {"name": "FSReader", "options": {"input": {"dir": "/data/in", "pattern": r"\.jl$"}}},
        [(f"file://{HOST}", "/data/in")],
    ),
    (
        "FSReader-list",
        {
            "name": "exporters.readers.fs_reader.FSReader",
            "options": {"input": ["/data/a.jl.gz", {"dir": "/data/b"}]},
        },
        [(f"file://{HOST}", "/data/a.jl.gz"), (f"file://{HOST}", "/data/b")],
    ),
    (
        "S3Reader",
        {
            "name": "S3Reader",
            "options": {
                "bucket": "s3://in-bucket",
                "prefix": "orders/%Y-%m-%d/part-",
                "aws_conn_id": "aws_x",
            },
        },
        [("s3://in-bucket", "orders")],
    ),
    (
        "GStorageReader",
        {
            "name": "GStorageReader",
            "options": {"bucket": "gs://gin", "prefix": ["a/b_", "c/"], "gcp_conn_id": "g"},
        },
        [("gs://gin", "a"), ("gs://gin", "c")],
    ),
    (
        "AzureBlobReader",
        {"name": "AzureBlobReader", "options": {"container": "incoming", "wasb_conn_id": "lineage_wasb"}},
        [("wasbs://incoming@connaccount", "/")],
    ),
    (
        "SFTPReader",
        {
            "name": "SFTPReader",
            "options": {
                "host": "sftp.local",
                "port": 2200,
                "sftp_user": "u",
                "sftp_password": SECRET,
                "prefix": "/upload/orders_",
            },
        },
        [("sftp://sftp.local:2200", "/upload")],
    ),
    (
        "SFTPReader-conn",
        {"name": "SFTPReader", "options": {"sftp_conn_id": "lineage_sftp", "prefix": "in/"}},
        [("sftp://sftp.example.com:2222", "in")],
    ),
    (
        "KafkaScannerReader",
        {"name": "KafkaScannerReader", "options": {"brokers": ["k1:9092", "k2:9092"], "topic": "orders"}},
        [("kafka://k1:9092", "orders")],
    ),
    (
        "KafkaRandomReader",
        {
            "name": "KafkaRandomReader",
            "options": {"kafka_conn_id": "lineage_kafka", "topic": "events", "record_count": 10},
        },
        [("kafka://broker1:9093", "events")],
    ),
    (
        "HubstorageReader",
        {
            "name": "HubstorageReader",
            "options": {"project_id": 123, "collection_name": "orders", "apikey": SECRET},
        },
        [("hubstorage://storage.scrapinghub.com", "123/s/orders")],
    ),
    ("RandomReader", {"name": "RandomReader", "options": {"number_of_items": 5}}, []),
]

WRITERS: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "FSWriter",
        {"name": "FSWriter", "options": {"filebase": "/data/out/{groups[0]}/%Y_items_"}},
        [(f"file://{HOST}", "/data/out")],
    ),
    (
        "S3Writer",
        {
            "name": "S3Writer",
            "options": {
                "bucket": "out-bucket",
                "filebase": "exports/%Y/%m/items_",
                "aws_access_key_id": "AKIA",
                "aws_secret_access_key": SECRET,
            },
        },
        [("s3://out-bucket", "exports")],
    ),
    (
        "GStorageWriter",
        {"name": "GStorageWriter", "options": {"bucket": "gs://gout", "filebase": "items_"}},
        [("gs://gout", "/")],
    ),
    (
        "AzureBlobWriter",
        {
            "name": "AzureBlobWriter",
            "options": {
                "container": "exports",
                "filebase": "daily/%Y%m%d_",
                "account_name": "devstoreaccount1",
                "account_key": "a2V5",
                "account_url": "http://127.0.0.1:10000/devstoreaccount1",
            },
        },
        [("wasbs://exports@devstoreaccount1", "daily")],
    ),
    (
        "AzureFileWriter",
        {
            "name": "AzureFileWriter",
            "options": {
                "share": "reports",
                "filebase": "dir/x_",
                "account_name": "acct",
                "account_key": "a2V5",
            },
        },
        [("https://acct.file.core.windows.net", "reports/dir")],
    ),
    (
        "SFTPWriter",
        {
            "name": "SFTPWriter",
            "options": {"sftp_conn_id": "lineage_sftp", "filebase": "/out/{groups[0]}/x_"},
        },
        [("sftp://sftp.example.com:2222", "/out")],
    ),
    (
        "FTPWriter",
        {"name": "FTPWriter", "options": {"ftp_conn_id": "lineage_ftp", "filebase": "pub/x_"}},
        [("ftp://ftp.example.com:21", "pub")],
    ),
    (
        "FTPWriter-legacy",
        {"name": "FTPWriter", "options": {"host": "ftp.local", "port": 2121, "filebase": "x_"}},
        [("ftp://ftp.local:2121", "/")],
    ),
    (
        "HubstorageWriter",
        {
            "name": "HubstorageWriter",
            "options": {
                "project_id": "7",
                "collection_name": "out",
                "scrapy_cloud_conn_id": "lineage_scrapy",
            },
        },
        [("hubstorage://127.0.0.1:8321", "7/s/out")],
    ),
    (
        "OdoWriter-url",
        {
            "name": "OdoWriter",
            "options": {
                "url": f"postgresql+psycopg2://postgres:{SECRET}@127.0.0.1:5432/test",
                "table": "orders",
            },
        },
        [("postgres://127.0.0.1:5432", "test.public.orders")],
    ),
    (
        "OdoWriter-odo_uri",
        {
            "name": "ODOWriter",
            "options": {"odo_uri": f"mysql+pymysql://root:{SECRET}@127.0.0.1/test::orders"},
        },
        [("mysql://127.0.0.1:3306", "test.orders")],
    ),
    (
        "OdoWriter-mysql-conn",
        {"name": "OdoWriter", "options": {"sql_conn_id": "lineage_mysql", "table": "orders"}},
        [("mysql://db.example.com:3306", "shop.orders")],
    ),
    (
        "OdoWriter-postgres-conn",
        {"name": "OdoWriter", "options": {"sql_conn_id": "lineage_postgres", "table": "sales.orders"}},
        [("postgres://pg.example.com:5433", "warehouse.sales.orders")],
    ),
    (
        "CloudsearchWriter",
        {
            "name": "CloudsearchWriter",
            "options": {
                "endpoint_url": "https://doc-movies-1.us-east-1.cloudsearch.amazonaws.com",
                "aws_conn_id": "a",
            },
        },
        [("https://doc-movies-1.us-east-1.cloudsearch.amazonaws.com", "documents")],
    ),
    ("ConsoleWriter", {"name": "ConsoleWriter", "options": {}}, []),
]


@pytest.fixture(autouse=True)
def _connections(monkeypatch: pytest.MonkeyPatch) -> None:
    for conn_id, fields in CONNECTIONS.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
    monkeypatch.delenv("EXPORTERS_AZUREWRITER_NAME", raising=False)
    monkeypatch.delenv("EXPORTERS_AZUREWRITER_KEY", raising=False)


def _pairs(datasets: list[Any]) -> list[tuple[str, str]]:
    return [(each.namespace, each.name) for each in datasets]


def _catalogued(section: dict[str, Any]) -> bool:
    from airflow_provider_ozzy.engine.registry import ALIASES

    name = section["name"].rsplit(".", 1)[-1]
    return kind_of(ALIASES.get(name, name)) is not None


@pytest.mark.parametrize(("reader_id", "reader", "expected"), READERS, ids=[r[0] for r in READERS])
def test_reader_datasets(reader_id: str, reader: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert _pairs(section_datasets(reader, "readers")) == expected


@pytest.mark.parametrize(("writer_id", "writer", "expected"), WRITERS, ids=[w[0] for w in WRITERS])
def test_writer_datasets(writer_id: str, writer: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert _pairs(section_datasets(writer, "writers")) == expected


@pytest.mark.parametrize(
    ("reader", "reader_expected", "writer", "writer_expected"),
    [(r[1], r[2], w[1], w[2]) for r in READERS for w in WRITERS],
    ids=[f"{r[0]}-{w[0]}" for r in READERS for w in WRITERS],
)
def test_operator_facets_for_every_reader_writer_pair(
    reader: dict[str, Any], reader_expected: list, writer: dict[str, Any], writer_expected: list
) -> None:
    from airflow.providers.common.compat.openlineage.facet import InputDataset, OutputDataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

    config = {"reader": reader, "writer": writer}
    assert _pairs([LineageDataset(*each) for each in reader_expected]) == _pairs(config_datasets(config)[0])
    if not (_catalogued(reader) and _catalogued(writer)):
        pytest.skip("module not catalogued yet: mapped by name above, no operator to build")
    operator = OzzyExportOperator(task_id="export", reader=reader, writer=writer)

    for lineage in (
        operator.get_openlineage_facets_on_start(),
        operator.get_openlineage_facets_on_complete(None),
    ):
        assert isinstance(lineage, OperatorLineage)
        assert _pairs(lineage.inputs) == reader_expected
        assert _pairs(lineage.outputs) == writer_expected
        assert all(isinstance(each, InputDataset) for each in lineage.inputs)
        assert all(isinstance(each, OutputDataset) for each in lineage.outputs)
        assert SECRET not in repr(lineage)


def test_no_credentials_in_any_dataset() -> None:
    everything = [d for _id, section, _e in READERS for d in section_datasets(section, "readers")]
    everything += [d for _id, section, _e in WRITERS for d in section_datasets(section, "writers")]
    assert everything
    for dataset in everything:
        for login in ("bob", SECRET, "a2V5", "AKIA"):
            assert login not in dataset.namespace + dataset.name, dataset


def test_an_unreadable_connection_leaves_the_dataset_out() -> None:
    section = {
        "name": "SFTPWriter",
        "options": {"sftp_conn_id": "lineage_missing_conn", "filebase": "/out/x_"},
    }
    assert section_datasets(section, "writers") == []


def test_subclasses_inherit_their_base_mapping() -> None:
    section = {
        "name": "tests.unit.operators.test_lineage.ArchiveWriter",
        "options": {"filebase": "/archive/%Y/x_"},
    }
    assert _pairs(section_datasets(section, "writers")) == [(f"file://{HOST}", "/archive")]


def test_defaults_and_env_fallbacks_fill_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPORTERS_AZUREWRITER_NAME", "envaccount")
    monkeypatch.setenv("EXPORTERS_AZUREWRITER_KEY", "a2V5")
    section = {"name": "AzureBlobWriter", "options": {"container": "c", "filebase": "x/y_"}}
    assert _pairs(section_datasets(section, "writers")) == [("wasbs://c@envaccount", "x")]
    sftp = {"name": "SFTPWriter", "options": {"host": "h", "filebase": "/x/y_"}}  # port default 22
    assert _pairs(section_datasets(sftp, "writers")) == [("sftp://h:22", "/x")]


def test_azure_account_from_a_connection_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for conn_id, host in (
        ("lineage_wasb_url", "https://urlacct.blob.core.windows.net"),
        ("lineage_wasb_bare", "bareacct.blob.core.windows.net"),
    ):
        fields = {"conn_type": "wasb", "host": host, "login": "ignored", "password": SECRET}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
        section = {
            "name": "AzureBlobReader",
            "options": {"container": "c", "wasb_conn_id": conn_id, "prefix": "p/"},
        }
        account = host.split(".", 1)[0].split("//")[-1]
        assert _pairs(section_datasets(section, "readers")) == [(f"wasbs://c@{account}", "p")]


def test_a_dir_pointer_names_the_directory_it_points_to(tmp_path: Path) -> None:
    (tmp_path / "pointer.txt").write_text(f"{tmp_path}/today\n")
    section = {"name": "FSReader", "options": {"input": [{"dir_pointer": str(tmp_path / "pointer.txt")}]}}
    assert _pairs(section_datasets(section, "readers")) == [(f"file://{HOST}", f"{tmp_path}/today")]
    missing = {"name": "FSReader", "options": {"input": {"dir_pointer": str(tmp_path / "missing.txt")}}}
    assert section_datasets(missing, "readers") == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("out/%Y/{groups[0]}/items_", "out"),
        ("out/sub/items_", "out/sub"),
        ("orders/", "orders"),
        ("items_", "/"),
        ("/items_", "/"),
        ("/data/out/items_", "/data/out"),
        ("", "/"),
        ("logs/*.gz", "logs"),
    ],
)
def test_fixed_directory(path: str, expected: str) -> None:
    assert fixed_directory(path) == expected


def test_relative_local_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    writer = {"name": "FSWriter", "options": {"filebase": "out/items_"}}
    reader = {"name": "FSReader", "options": {"input": "in/a.jl"}}
    assert _pairs(config_datasets({"reader": reader, "writer": writer})[0]) == [
        (f"file://{HOST}", str(tmp_path / "in/a.jl"))
    ]
    assert _pairs(config_datasets({"reader": reader, "writer": writer})[1]) == [
        (f"file://{HOST}", str(tmp_path / "out"))
    ]


def test_on_complete_reports_what_the_export_wrote(tmp_path: Path) -> None:
    """A real export (RandomReader to FSWriter) run by the exporter the operator keeps."""
    from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
    from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

    writer = {
        "name": "FSWriter",
        "options": {"filebase": f"{tmp_path}/out/items_", "items_per_buffer_write": 40},
    }
    operator = OzzyExportOperator(
        task_id="export",
        reader={"name": "RandomReader", "options": {"number_of_items": 100, "batch_size": 10}},
        writer=writer,
        persistence={"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
    )
    operator._exporter = BasicExporter(operator.assemble(), job_id="lineage")
    stats = operator._exporter.export()
    lineage = operator.get_openlineage_facets_on_complete(None)
    (output,) = lineage.outputs
    facet = output.outputFacets["outputStatistics"]
    assert (facet.rowCount, facet.fileCount) == (100, 3)
    assert facet.size == stats["bytes_written"] > 0
    assert "outputStatistics" not in operator.get_openlineage_facets_on_start().outputs[0].outputFacets


def test_the_openlineage_provider_stays_optional(tmp_path: Path) -> None:
    """Without the provider the package imports, the operator builds and the CLI runs an export."""
    script = textwrap.dedent(
        """
        import importlib.abc, json, sys

        class NoOpenLineage(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                # Airflow's provider discovery may still read the installed provider's metadata
                if name in ("airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info"):
                    return None
                if name == "openlineage" or name.startswith(("openlineage.", "airflow.providers.openlineage.")):
                    raise ModuleNotFoundError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, NoOpenLineage())
        import airflow_provider_ozzy, airflow_provider_ozzy.operators.lineage as lineage
        from airflow_provider_ozzy.cli import main
        from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

        config = {"reader": {"name": "RandomReader", "options": {"number_of_items": 10}},
                  "writer": {"name": "FSWriter", "options": {"filebase": sys.argv[1] + "/out/items_"}},
                  "persistence": {"name": "PicklePersistence", "options": {"file_path": sys.argv[1] + "/state"}}}
        OzzyExportOperator(task_id="t", config=config)
        print(json.dumps([[d.namespace, d.name] for d in lineage.config_datasets(config)[1]]))
        try:
            lineage.operator_lineage(config)
        except ImportError:
            print("operator_lineage: ImportError")
        json.dump(config, open(sys.argv[1] + "/job.json", "w"))
        sys.exit(main(["run", "--quiet", sys.argv[1] + "/job.json"]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert json.loads(lines[0]) == [[f"file://{HOST}", f"{tmp_path}/out"]]
    assert lines[1] == "operator_lineage: ImportError"
    assert json.loads(lines[-1])["items_written"] == 10


class ArchiveWriter(FSWriter):
    """A third-party FSWriter subclass, named by dotted path in a config."""
