"""S3Reader to AzureBlobWriter: Azure copies each object from a presigned S3 URL."""

from __future__ import annotations

from airflow_provider_ozzy.bypasses.url_copy_bypass import CopyStatus, UrlCopyBypass
from airflow_provider_ozzy.services.azure import NO_SDK_RETRIES


class S3ToAzureBlobBypass(UrlCopyBypass):
    """Copies every key the S3Reader selects to the blob the AzureBlobWriter would name file N.

    Azure's Copy Blob fetches each object from a 30-minute presigned URL; the bypass waits for
    every copy to finish (exporters' did not). Chosen when nothing in the pipeline can change the
    items and the objects already are what the writer would write (see ``base_bypass``).
    """

    writer_name = "AzureBlobWriter"

    def prepare_destination(self) -> None:
        self.writer.ensure_container()

    def start_copy(self, target: str, url: str) -> None:
        client = self.writer.azure.blob_client(target)
        self.writer.azure.run(lambda: client.start_copy_from_url(url, **NO_SDK_RETRIES), target)

    def copy_status(self, target: str) -> CopyStatus:
        client = self.writer.azure.blob_client(target)
        copy = self.writer.azure.run(lambda: client.get_blob_properties(**NO_SDK_RETRIES), target).copy
        return CopyStatus(copy.status, copy.progress, copy.status_description)

    def finish_copy(self, target: str) -> int:
        client = self.writer.azure.blob_client(target)
        return int(self.writer.azure.run(lambda: client.get_blob_properties(**NO_SDK_RETRIES), target).size)

    def destination_md5(self, target: str) -> str | None:
        found = self.writer.azure.properties(target)
        return found[1] if found else None
