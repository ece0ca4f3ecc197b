"""Shared fixtures. Servers for integration tests live in tests/servers/, one fixture each."""

from __future__ import annotations

import os
import sys

# the CLI is run with the same interpreter; make sure children find the checkout first
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# one session fixture per test server: http_server, moto_server, postgresql_server, mariadb_server
pytest_plugins = ["tests.servers.http_server", "tests.servers.moto_server", "tests.servers.databases"]
