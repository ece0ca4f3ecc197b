"""Delivery in the background: a finished file goes to its destination on a second thread while
the main thread reads and formats the next one, and a commit never counts a file still on its way.

Each object store sits behind the fault proxy with every upload request slowed down, so uploads
are still running when the next batches are read and committed. After every batch the test reads
the state the job committed and lists the destination: every file the state counts must be there,
and the items a resume would skip (those before the committed reader position, plus ``skip``) must
be exactly the items of those files; and at least once the reader must have gone a whole file past
what is stored (the pipeline did not wait for the upload).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.integration.test_network_faults import (
    ITEMS,
    SCENARIO,
    Place,
    check_exact,
    config_for,
    fresh_prefix,
    http_place,
    input_dir,  # noqa: F401 (fixture)
    work,  # noqa: F401 (fixture)
)
from tests.servers.fault_proxy import FaultProxy, Request

DELAY = 0.25  # seconds added to every upload or download: far longer than reading a batch


def _is_upload(request: Request) -> bool:
    return request.method in ("PUT", "POST")


Job = tuple[Place, str, dict[str, Any]]


@pytest.fixture
def slowed_job(
    request: pytest.FixtureRequest,
    input_dir: Path,  # noqa: F811
    fault_proxy: Callable[[str], FaultProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[str, str], Job]:
    """``slowed_job(server, kind)``: a job whose ``kind`` ("reader" or "writer") is on ``server``
    behind a proxy that holds every download or upload ``DELAY`` seconds; its place, prefix, config."""

    def make(server: str, kind: str) -> Job:
        place = http_place(request, server, fault_proxy)
        for name, value in place.env.items():
            monkeypatch.setenv(name, value)
        prefix = fresh_prefix(place, kind)
        config = config_for(place, kind, input_dir, prefix)
        config["persistence"] = {"name": "PicklePersistence", "options": {"file_path": "state"}}
        config["exporter_options"] = {"persistence_state_id": "job1"}
        place.proxy.slow(
            times=10_000, delay=DELAY, match=_is_upload if kind == "writer" else place.is_download
        )
        return place, prefix, config

    return make


@pytest.mark.parametrize("server", ["s3", "gcs", "azure_blob"])
def test_uploads_overlap_reading_and_commits_count_only_stored_files(
    server: str,
    work: Path,  # noqa: F811
    slowed_job: Callable[[str, str], Job],
) -> None:
    place, prefix, config = slowed_job(server, "writer")
    seen: list[tuple[int, int, int]] = []  # (items read, files committed, files stored)

    def after_batch(counters: dict[str, Any]) -> None:
        if counters["done"]:
            return
        state = json.loads((work / "state" / "job1").read_text())["state"]
        (_, committed, skip), *_ = state["writer"]["groups"] or [[[], 0, 0]]
        stored = sorted(place.names(prefix))
        expected = [f"part_{number:04d}.jl.gz" for number in range(committed)]
        assert set(expected) <= set(stored), (
            f"the commit after {counters['items_read']} items counts {committed} files, "
            f"the destination holds {stored}"
        )
        # a resume re-reads from the position after read_items and drops skip: those items must
        # be exactly the ones in the files the state counts
        assert state["read_items"] + skip == committed * SCENARIO.items_per_file, (
            f"the commit after {counters['items_read']} items resumes after item "
            f"{state['read_items'] + skip}, but {committed} files are counted as stored"
        )
        seen.append((counters["items_read"], committed, len(stored)))

    stats = BasicExporter(config, progress=after_batch).export()

    assert stats["finished"] and stats["items_written"] == len(ITEMS)
    check_exact(place, "writer", prefix, work)
    ahead = [(read, stored) for read, _, stored in seen if read - stored * SCENARIO.items_per_file >= 2 * 50]
    assert ahead, f"the reader never got a file ahead of the uploads: {seen}"
    assert place.proxy.faults_injected().get("slow", 0) >= len(ITEMS) // SCENARIO.items_per_file


@pytest.mark.parametrize("server", ["s3", "gcs", "azure_blob"])
def test_object_readers_open_the_next_objects_while_one_is_parsed(
    server: str,
    work: Path,  # noqa: F811
    slowed_job: Callable[[str, str], Job],
) -> None:
    """Every download slowed: read one after another, each would start at least the delay after
    the one before; opened ahead, some start together. The output is still exactly the input."""
    place, prefix, config = slowed_job(server, "reader")

    stats = BasicExporter(config).export()

    assert stats["finished"] and stats["items_written"] == len(ITEMS)
    check_exact(place, "reader", prefix, work)
    starts = sorted(exchange.started_ns for exchange in place.proxy.exchanges() if exchange.fault == "slow")
    assert len(starts) >= len(ITEMS) // SCENARIO.items_per_file
    gaps = [(later - earlier) / 1e9 for earlier, later in zip(starts, starts[1:], strict=False)]
    assert min(gaps) < DELAY / 2, f"every download waited for the one before: gaps {gaps}"
