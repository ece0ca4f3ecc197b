"""Shared fixtures. Servers for integration tests live in tests/servers/, one fixture each."""

from __future__ import annotations

import os
import sys

import pytest

# the CLI is run with the same interpreter; make sure children find the checkout first
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _bytecode_cache_outside_the_tree() -> None:
    """With ``PYTHONDONTWRITEBYTECODE`` set (and a venv installed without bytecode, as uv does),
    every process compiles every module it imports from source: ``import airflow`` takes 8 s of CPU
    instead of 3, and the suite starts hundreds of processes (``ozzy`` runs, Airflow components, task
    processes, xdist workers). Keep that setting's intent (no ``__pycache__`` in the venv or the
    checkout) but cache the bytecode under one folder in the temp dir (``PYTHONPYCACHEPREFIX``), for
    this process and every child. A cached module is recompiled when its source changes (mtime and
    size are checked). ``OZZY_PYCACHE=0`` or an own ``PYTHONPYCACHEPREFIX`` leaves things as they are.
    """
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    if os.environ.get("OZZY_PYCACHE") == "0":
        return
    import tempfile

    prefix = os.path.join(tempfile.gettempdir(), f"ozzy-pycache-{os.getuid()}")
    os.makedirs(prefix, mode=0o700, exist_ok=True)
    if os.stat(prefix).st_uid != os.getuid():  # not ours: never load bytecode someone else wrote
        return
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False


_bytecode_cache_outside_the_tree()

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the longest tests first (``tests/durations.py`` says why); a run in one
    process keeps pytest's order, which sets each module's fixtures up once."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        from tests.durations import load, longest_first, name_xdist_groups

        if config.getvalue("loadgroup"):
            name_xdist_groups(items)
        items[:] = longest_first(items, load())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    """With ``OZZY_CPU_LOG=FILE``, appends each test's CPU seconds (this process and the children it
    reaped, setup and teardown included) to FILE as JSON lines: on two cores the suite is bound by
    CPU, not by wall time, so this is what to cut (``python -m tests.cpu_report FILE`` sums it up)."""
    path = os.environ.get("OZZY_CPU_LOG")
    if not path:
        yield
        return
    import json
    import resource
    import time

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    start, wall = cpu(), time.monotonic()
    yield
    line = {"test": item.nodeid, "cpu": round(cpu() - start, 2), "wall": round(time.monotonic() - wall, 2)}
    with open(path, "a") as log:
        log.write(json.dumps(line) + "\n")
