"""Shared fixtures. Servers for integration tests live in tests/servers/, one fixture each."""

from __future__ import annotations

import os
import sys

# the CLI is run with the same interpreter; make sure children find the checkout first
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# one session fixture per test server: http_server, moto_server (+ fault_proxy in front of any), postgresql_server, mariadb_server,
# statsd_server, sftp_server, ftp_server, smtp_server, cloudsearch_server, gdrive_server,
# gcs_server, azure_files_server, azurite_server (+ azurite_url_copy in front of it)
pytest_plugins = [
    "tests.servers.http_server",
    "tests.servers.moto_server",
    "tests.servers.fault_proxy",
    "tests.servers.tcp_fault_proxy",
    "tests.servers.databases",
    "tests.servers.statsd_server",
    "tests.servers.sftp_server",
    "tests.servers.ftp_server",
    "tests.servers.smtp_server",
    "tests.servers.cloudsearch_server",
    "tests.servers.gdrive_server",
    "tests.servers.gcs_server",
    "tests.servers.azure_files_server",
    "tests.servers.azurite_server",
    "tests.servers.kafka_server",  # kafka_broker (noida-db behind one fixture)
    "tests.servers.scrapycloud_server",  # Scrapy Cloud collections API (hubstorage)
]
