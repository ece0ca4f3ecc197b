"""S3Reader to AzureFileWriter: Azure Files copies each object from a presigned S3 URL."""

from __future__ import annotations

import posixpath

from airflow_provider_ozzy.bypasses.url_copy_bypass import CopyStatus, UrlCopyBypass
from airflow_provider_ozzy.services.azure import NO_SDK_RETRIES
from airflow_provider_ozzy.writers.azure_file_writer import partial_name


class S3ToAzureFileBypass(UrlCopyBypass):
    """Copies every key the S3Reader selects to the file the AzureFileWriter would name file N.

    Azure's Copy File fetches each object from a 30-minute presigned URL into a hidden partial
    file, which is renamed to its final name once the copy succeeded and has the source's size,
    so a visible file is always whole. (exporters copied into the directory of ``filebase`` under
    the source's name, and did not wait for the copies.)
    """

    writer_name = "AzureFileWriter"

    def prepare_destination(self) -> None:
        self.writer.ensure_share()
        for directory in sorted({posixpath.dirname(target) for target in self.targets}):
            self.writer.ensure_directory(directory)

    def start_copy(self, target: str, url: str) -> None:
        client = self.writer.azure.file_client(partial_name(target))
        self.writer.azure.run(lambda: client.start_copy_from_url(url, **NO_SDK_RETRIES), target)

    def copy_status(self, target: str) -> CopyStatus:
        client = self.writer.azure.file_client(partial_name(target))
        copy = self.writer.azure.run(lambda: client.get_file_properties(**NO_SDK_RETRIES), target).copy
        return CopyStatus(copy.status, copy.progress, copy.status_description)

    def finish_copy(self, target: str) -> int:
        client = self.writer.azure.file_client(partial_name(target))
        size = int(self.writer.azure.run(lambda: client.get_file_properties(**NO_SDK_RETRIES), target).size)
        self.writer.azure.run(lambda: client.rename_file(target, overwrite=True, **NO_SDK_RETRIES), target)
        return size

    def destination_md5(self, target: str) -> str | None:
        found = self.writer.azure.properties(target)
        return found[1] if found else None
