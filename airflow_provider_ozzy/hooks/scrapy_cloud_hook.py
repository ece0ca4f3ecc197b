"""``ScrapyCloudHook``: Scrapy Cloud (Zyte) credentials from an Airflow connection, clients from them.

Connection type ``ozzy_scrapy_cloud``: the password is the API key; the host, when set, is the
storage API endpoint (``https://storage.scrapinghub.com/`` otherwise, or ``$SHUB_STORAGE``); the
extra ``dash_endpoint`` overrides the dashboard API address. No Scrapy Cloud provider exists, so
Ozzy registers this one (``get_provider_info()["connection-types"]``).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_ozzy.hooks.connection_forms import SCRAPY_CLOUD_CONN_TYPE as CONN_TYPE
from airflow_provider_ozzy.hooks.connection_forms import SCRAPY_CLOUD_UI_FIELD_BEHAVIOUR as UI_FIELD_BEHAVIOUR
from airflow_provider_ozzy.services.scrapy_cloud import connection_credentials


class ScrapyCloudHook(BaseHook):
    """Clients for Scrapy Cloud from connection ``scrapy_cloud_conn_id``.

    :param scrapy_cloud_conn_id: an ``ozzy_scrapy_cloud`` connection (password: API key).
    """

    conn_name_attr = "scrapy_cloud_conn_id"
    default_conn_name = "ozzy_scrapy_cloud_default"
    conn_type = CONN_TYPE
    hook_name = "Scrapy Cloud (Ozzy)"

    def __init__(self, scrapy_cloud_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scrapy_cloud_conn_id = scrapy_cloud_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return UI_FIELD_BEHAVIOUR

    def credentials(self) -> tuple[str, str | None, str | None]:
        """(API key, storage endpoint or ``None``, dashboard endpoint or ``None``)."""
        return connection_credentials(self.scrapy_cloud_conn_id)

    def get_client(self) -> Any:
        """A ``scrapinghub.ScrapinghubClient`` for this connection."""
        from scrapinghub import ScrapinghubClient

        apikey, endpoint, dash_endpoint = self.credentials()
        kwargs = {"endpoint": endpoint} if endpoint else {}
        return ScrapinghubClient(apikey, dash_endpoint=dash_endpoint, **kwargs)

    def get_hubstorage_client(self, endpoint: str | None = None, max_retries: int = 0) -> Any:
        """A ``scrapinghub.HubstorageClient`` (collections, without the client's own retries by default)."""
        from scrapinghub import HubstorageClient

        apikey, connection_endpoint, _ = self.credentials()
        return HubstorageClient(
            auth=apikey, endpoint=endpoint or connection_endpoint, max_retries=max_retries
        )

    def get_conn(self) -> Any:
        return self.get_client()
