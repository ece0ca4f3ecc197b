"""Extra links of an export task: where its output is, and its row on the "Ozzy exports" page.

Airflow 3 asks ``get_link`` in the worker when the try ends (the operator then holds the rendered
config) and keeps the answer as an XCom the UI shows. The output link is built from the writer's
lineage dataset (``lineage.py``): the S3 or GCS console at the bucket and prefix, the container's
URL for Azure Blob Storage (a portal link needs the subscription and resource group, which a config
does not hold), else the destination's asset URI (``file:///path``, ``sftp://host:22/path``, ...).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from airflow.providers.common.compat.sdk import BaseOperatorLink

EXPORTS_PAGE = "/ozzy/exports"


def output_url(writer: Any) -> str:
    """Where a writer section's output is, for a person with a browser; ``""`` when unknown."""
    from airflow_provider_ozzy.operators.assets import asset_uri
    from airflow_provider_ozzy.operators.lineage import section_datasets

    datasets = section_datasets(writer, "writers")
    if not datasets:
        return ""
    dataset = datasets[0]
    scheme, _, authority = dataset.namespace.partition("://")
    prefix = dataset.name.strip("/")
    if scheme == "s3":
        query = f"?{urlencode({'prefix': prefix + '/'})}" if prefix else ""
        return f"https://s3.console.aws.amazon.com/s3/buckets/{quote(authority)}{query}"
    if scheme == "gs":
        return (
            f"https://console.cloud.google.com/storage/browser/{quote(f'{authority}/{prefix}'.rstrip('/'))}"
        )
    if scheme == "wasbs":
        container, _, account = authority.partition("@")
        return f"https://{account}.blob.core.windows.net/{quote(f'{container}/{prefix}'.rstrip('/'))}"
    return asset_uri(dataset)


class OzzyOutputLink(BaseOperatorLink):
    """The export's destination: a cloud console, the container URL or the path."""

    name = "Ozzy output"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        assemble = getattr(operator, "assemble", None)
        if assemble is None:
            return ""
        return output_url(assemble().data.get("writer"))


class OzzyExportsLink(BaseOperatorLink):
    """The "Ozzy exports" page of the Airflow UI, filtered on this task."""

    name = "Ozzy exports"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.providers.common.compat.sdk import conf

        base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
        query = urlencode({"dag_id": ti_key.dag_id, "task_id": ti_key.task_id})
        return f"{base}{EXPORTS_PAGE}?{query}"
