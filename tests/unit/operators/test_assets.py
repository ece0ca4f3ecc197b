"""Assets an ``OzzyExportOperator`` declares by itself, as the DAG processor builds them.

Operators are built in a DAG as at parse time; the URIs must be what Airflow's own providers make
of the place (``Asset`` applies their sanitizers), the author's ``inlets``/``outlets`` win, and
templated or connection-only places give no asset (and say why). A sharded export's destination
is the outlet of its check task only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from airflow.sdk import DAG, Asset

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from airflow_provider_ozzy.operators.sharded_export import ozzy_sharded_export

FS_READER = {"name": "FSReader", "options": {"input": {"dir": "/data/in"}}}


def _operator(reader: dict[str, Any], writer: dict[str, Any], **kwargs: Any) -> OzzyExportOperator:
    with DAG("assets", schedule=None, start_date=datetime(2026, 1, 1)):
        return OzzyExportOperator(task_id="export", reader=reader, writer=writer, **kwargs)


def _uris(assets: list[Any]) -> list[str]:
    return [asset.uri for asset in assets]


@pytest.mark.parametrize(
    ("writer", "uri"),
    [
        ({"name": "FSWriter", "options": {"filebase": "/data/out/%Y-%m/items_"}}, "file:///data/out"),
        ({"name": "S3Writer", "options": {"bucket": "s3://bk", "filebase": "exp/day/x_"}}, "s3://bk/exp/day"),
        ({"name": "S3Writer", "options": {"bucket": "bk", "filebase": "x_"}}, "s3://bk/"),
        ({"name": "GStorageWriter", "options": {"bucket": "gb", "filebase": "a/b/"}}, "gs://gb/a/b"),
        (
            {"name": "SFTPWriter", "options": {"host": "files", "filebase": "/srv/out/x_"}},
            "sftp://files:22/srv/out",
        ),
        (
            {"name": "OdoWriter", "options": {"url": "postgresql://u:pw@db/shop", "table": "orders"}},
            "postgres://db:5432/shop/public/orders",
        ),
    ],
)
def test_the_destination_is_the_outlet_with_the_providers_uri(writer: dict[str, Any], uri: str) -> None:
    operator = _operator(FS_READER, writer)

    assert _uris(operator.outlets) == [uri]
    assert _uris(operator.inlets) == ["file:///data/in"]


def test_a_kafka_source_is_the_inlet_per_topic() -> None:
    reader = {"name": "KafkaScannerReader", "options": {"brokers": ["k1:9093", "k2:9093"], "topic": "orders"}}
    operator = _operator(reader, {"name": "FSWriter", "options": {"filebase": "/o/x_"}})

    assert _uris(operator.inlets) == ["kafka://k1:9093/orders"]


def test_the_authors_inlets_and_outlets_replace_ozzys() -> None:
    mine = Asset(uri="s3://warehouse/orders")
    operator = _operator(
        FS_READER, {"name": "FSWriter", "options": {"filebase": "/o/x_"}}, outlets=[mine], inlets=[]
    )

    assert operator.outlets == [mine] and operator.inlets == []


def test_templated_or_connection_only_places_give_no_asset_and_say_why() -> None:
    templated = _operator(FS_READER, {"name": "FSWriter", "options": {"filebase": "/o/{{ ds }}/x_"}})
    by_connection = _operator(
        FS_READER, {"name": "SFTPWriter", "options": {"sftp_conn_id": "files", "filebase": "o/x_"}}
    )

    assert templated.outlets == [] and _uris(templated.inlets) == ["file:///data/in"]
    assert templated._asset_notes == [
        "no automatic outlet asset: its writer options hold Jinja templates (rendered only when the task runs)"
    ]
    assert by_connection.outlets == []
    assert by_connection._asset_notes == [
        "no automatic outlet asset: writer SFTPWriter names no place without an Airflow connection"
    ]


def test_a_sharded_export_announces_its_destination_from_the_check_task_only() -> None:
    with DAG("sharded", schedule=None, start_date=datetime(2026, 1, 1)):
        group = ozzy_sharded_export(
            "export",
            shards=2,
            reader=FS_READER,
            writer={"name": "FSWriter", "options": {"filebase": "/o/x_"}},
        )

    assert group.plan.outlets == [] and group.plan.inlets == []
    assert group.check is not None and _uris(group.check.outlets) == ["file:///o"]
    assert _uris(group.export.partial_kwargs["inlets"]) == ["file:///data/in"]
    assert not group.export.partial_kwargs.get("outlets")


def test_the_authors_outlets_of_a_sharded_export_go_on_the_check_task_or_without_it_on_the_shards() -> None:
    mine = Asset(uri="s3://warehouse/orders")
    sections = {"reader": FS_READER, "writer": {"name": "FSWriter", "options": {"filebase": "/o/x_"}}}
    with DAG("sharded_outlets", schedule=None, start_date=datetime(2026, 1, 1)):
        checked = ozzy_sharded_export("checked", shards=2, outlets=[mine], **sections)
        unchecked = ozzy_sharded_export("unchecked", shards=2, check=False, outlets=[mine], **sections)

    assert checked.check is not None and checked.check.outlets == [mine]
    assert not checked.export.partial_kwargs.get("outlets") and checked.plan.outlets == []
    assert unchecked.export.partial_kwargs["outlets"] == [mine] and unchecked.plan.outlets == []
