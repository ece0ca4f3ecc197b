"""How the Azure and GCS connections tell a failed read of an object stream (``translate(stream=True)``):
the stream reader names the module itself, so the message drops it, and a transient failure stays
one, with the server's status, so the reader's retry decides as for any request."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.retries import TransientError
from airflow_provider_ozzy.services.azure import BlobConnection
from airflow_provider_ozzy.services.gcs import GCSConnection
from airflow_provider_ozzy.services.stored_files import StoreConnection


def _azure() -> tuple[StoreConnection, BaseException, BaseException]:
    from azure.core.exceptions import HttpResponseError

    busy, denied = HttpResponseError("server busy"), HttpResponseError("not yours")
    busy.status_code, denied.status_code = 500, 403
    options = {"container": "box", "wasb_conn_id": None, "account_name": "a", "account_key": "k"}
    return BlobConnection(options, "AzureBlobReader", ReaderError), busy, denied


def _gcs() -> tuple[StoreConnection, BaseException, BaseException]:
    from google.api_core.exceptions import Forbidden, InternalServerError

    options = {"bucket": "box", "gcp_conn_id": None, "credentials": None, "project": None}
    connection = GCSConnection(options, "GStorageReader", ReaderError)
    return connection, InternalServerError("server busy"), Forbidden("not yours")


@pytest.mark.parametrize("make", [_azure, _gcs], ids=["azure", "gcs"])
def test_a_stream_error_loses_the_module_prefix_and_a_transient_one_its_status_never(make) -> None:  # type: ignore[no-untyped-def]
    connection, busy, denied = make()

    transient = connection.translate(busy, "items.jl", stream=True)
    assert isinstance(transient, TransientError)
    assert transient.status_code == 500
    assert not str(transient).startswith(connection.module)
    assert str(connection.translate(busy, "items.jl")).startswith(f"{connection.module}: ")

    permanent = connection.translate(denied, "items.jl", stream=True)
    assert type(permanent) is ReaderError
    assert "refused" in str(permanent) and not str(permanent).startswith(connection.module)
