"""Incremental runs and resumes over inputs that change between runs: every item out exactly once.

Each scenario of issue "Exactly once, everywhere" (parts 1-3) runs the real ``ozzy`` command over
a local folder, an S3 bucket (moto) and an SFTP server, with the job state in a JSON state file
(PicklePersistence) and in SQLite (AlchemyPersistence), and reads the destination back.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.readers.input_log import CHUNK, InputLog, decode_entries, encode_entries
from tests.crash_harness import CrashHarness, Trigger
from tests.helpers import legacy_s3_env, read_json_lines, run_ozzy, write_config, write_json_lines_gz
from tests.integration.changing_inputs import (
    PERSISTENCES,
    IncrementalJob,
    S3Store,
    gz,
    items_of,
    make_store,
    sqlite_state,
)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# every store with the JSON state file; the database state with the local and one remote store
# (SFTP runs import Airflow's hooks: seconds per run, so they run with the slow tests)
STORE_STATES = [
    ("fs", "pickle"),
    ("s3", "pickle"),
    pytest.param("sftp", "pickle", marks=pytest.mark.slow),
    ("fs", "alchemy-sqlite"),
    ("s3", "alchemy-sqlite"),
]


@pytest.mark.parametrize(("store", "persistence"), STORE_STATES)
def test_new_inputs_that_sort_before_exported_ones_are_read_and_old_ones_are_not(
    request: pytest.FixtureRequest, work: Path, store: str, persistence: str
) -> None:
    job = IncrementalJob(work, make_store(request, store, work / "store"), persistence)
    for number in range(1, 10):
        job.add(f"orders-{number}.jl.gz", 20)
    job.run()
    job.check()
    job.add("orders-10.jl.gz", 20)  # sorts between orders-1 and orders-2
    job.add("orders-11.jl.gz", 20)
    job.run()
    job.check()
    job.run()  # nothing new: nothing written, nothing overwritten
    job.check()


@pytest.mark.parametrize(("store", "persistence"), STORE_STATES)
def test_an_inbox_whose_exported_inputs_are_archived_exports_every_new_input(
    request: pytest.FixtureRequest, work: Path, store: str, persistence: str
) -> None:
    job = IncrementalJob(work, make_store(request, store, work / "store"), persistence)
    for day in ("b", "c", "d"):
        job.add(f"drop-{day}.jl.gz", 15)
    job.run()
    for day in ("b", "c", "d"):
        job.archive(f"drop-{day}.jl.gz")
    job.add("drop-a.jl.gz", 15)  # sorts before every archived one
    job.add("drop-e.jl.gz", 15)
    job.run()
    job.check()
    job.archive("drop-a.jl.gz")
    job.add("drop-f.jl.gz", 9)
    job.run()
    job.check()


def rare(job: IncrementalJob) -> None:
    """One item of a group no other input has: its file stays open, holding the watermark back."""
    item = {"src": "a-rare.jl.gz", "n": 0, "country": "zz"}
    job.store.put("a-rare.jl.gz", gz([item]))
    job.present["a-rare.jl.gz"] = [item]


def killed_after(job: IncrementalJob, commits: int, persistence: str = "pickle") -> CrashHarness:
    """``ozzy run`` of the job, killed (SIGKILL) after ``commits`` commits."""
    for items in job.present.values():
        for item in items:
            job.expected[(item["src"], item["n"])] = 1
    state = sqlite_state(job.work) if persistence == "alchemy-sqlite" else None
    harness = CrashHarness(job.work, job.config, env=job.store.env, state=state)
    attempt = harness.attempt(Trigger("commits", commits))
    assert attempt.interrupted, attempt.describe()
    return harness


@pytest.mark.parametrize(
    ("store", "persistence"),
    [
        ("fs", "pickle"),
        ("s3", "pickle"),
        ("fs", "alchemy-sqlite"),
        pytest.param("sftp", "pickle", marks=pytest.mark.slow),
    ],
)
def test_inputs_inserted_among_read_ones_between_a_kill_and_its_resume(
    request: pytest.FixtureRequest, work: Path, store: str, persistence: str
) -> None:
    job = IncrementalJob(work, make_store(request, store, work / "store"), items_per_file=4)
    rare(job)
    for number in range(10, 90, 2):
        job.add(f"b-{number}.jl.gz", 50)
    harness = killed_after(job, 30, persistence)
    job.add("b-11.jl.gz", 15)  # among the inputs already read
    job.add("a-0.jl.gz", 15)  # before every input
    result = run_ozzy("resume", harness.uri, cwd=work, env=job.store.env)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("b-11.jl.gz", "a-0.jl.gz"):
        for item in job.present[name]:
            job.expected[(item["src"], item["n"])] = 1
    job.check()


@pytest.mark.parametrize("store", ["fs", "s3"])
def test_an_input_needed_by_the_resume_that_is_gone_stops_it_with_one_line_until_restored(
    request: pytest.FixtureRequest, work: Path, store: str
) -> None:
    job = IncrementalJob(work, make_store(request, store, work / "store"), items_per_file=4)
    rare(job)
    for number in range(10, 90, 2):
        job.add(f"b-{number}.jl.gz", 50)
    harness = killed_after(job, 30)
    job.remove("a-rare.jl.gz")  # its item is only in a buffer: the resume must read it again
    result = run_ozzy("resume", harness.uri, cwd=work, env=job.store.env)
    assert result.returncode == 1, result.stderr
    assert "a-rare.jl.gz" in result.stderr and "is gone" in result.stderr
    assert "Traceback" not in result.stderr
    rare(job)  # restored: the resume is exact
    result = run_ozzy("resume", harness.uri, cwd=work, env=job.store.env)
    assert result.returncode == 0, result.stderr[-3000:]
    job.check()


def test_deleting_a_finished_input_between_a_kill_and_its_resume_shifts_nothing(
    request: pytest.FixtureRequest, work: Path
) -> None:
    job = IncrementalJob(work, make_store(request, "fs", work / "store"), items_per_file=3)
    for number in range(10, 60):
        job.add(f"f-{number}.jl.gz", 40)
    harness = killed_after(job, 60)
    state = harness.committed_state()
    assert state is not None
    position = state["reader"]
    finished = [name for name, _ in decode_entries(position["read"])[: position["index"]]]
    assert len(finished) >= 2, position
    for name in finished[:2]:
        job.remove(Path(name).name)  # exported, before the committed position: not needed again
    result = run_ozzy("resume", harness.uri, cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    job.check()


def test_an_input_listed_twice_or_inside_a_listed_folder_is_read_once_in_one_global_order(work: Path) -> None:
    write_json_lines_gz(work / "in" / "b.jl.gz", [{"id": "b"}])
    write_json_lines_gz(work / "in" / "a.jl.gz", [{"id": "a"}])
    write_json_lines_gz(work / "c.jl.gz", [{"id": "c"}])
    config = {
        "reader": {
            "name": "FSReader",
            "options": {"input": ["in/b.jl.gz", str(work / "c.jl.gz"), {"dir": "in"}, "./in/b.jl.gz"]},
        },
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_"}},
        "persistence": PERSISTENCES["pickle"],
    }
    write_config(work / "job.json", config)
    result = run_ozzy("run", "job.json", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    written = [item["id"] for item in read_json_lines(work / "out" / "items_0000.jl.gz")]
    assert written == ["c", "a", "b"]  # sorted paths: /.../c.jl.gz, in/a.jl.gz, in/b.jl.gz


def test_a_finished_input_that_changed_is_not_read_again_and_a_warning_names_it(
    request: pytest.FixtureRequest, work: Path
) -> None:
    job = IncrementalJob(work, make_store(request, "fs", work / "store"))
    job.add("x.jl.gz", 10)
    job.run()
    job.store.put("x.jl.gz", b"")  # replaced by other content (here: empty)
    stderr = job.run()
    assert "changed size" in stderr and "x.jl.gz" in stderr
    job.check()


def killed_reading_big_input(
    request: pytest.FixtureRequest, work: Path
) -> tuple[IncrementalJob, CrashHarness]:
    """A job on one input of 3,000 items killed after 20 commits, part way through reading it."""
    job = IncrementalJob(work, make_store(request, "fs", work / "store"), items_per_file=1000)
    job.add("big.jl.gz", 3000)
    return job, killed_after(job, 20)


def test_an_input_that_shrank_while_being_read_stops_the_resume_instead_of_being_half_read(
    request: pytest.FixtureRequest, work: Path
) -> None:
    job, harness = killed_reading_big_input(request, work)
    job.add("big.jl.gz", 2000)  # replaced by a shorter one
    result = run_ozzy("resume", harness.uri, cwd=work)
    assert result.returncode == 1
    assert "big.jl.gz" in result.stderr and "shrank" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_input_appended_to_while_being_read_is_read_on_after_the_items_delivered(
    request: pytest.FixtureRequest, work: Path
) -> None:
    job, harness = killed_reading_big_input(request, work)
    job.add("big.jl.gz", 3500)  # the same 3,000 items and 500 more
    for item in job.present["big.jl.gz"]:
        job.expected[(item["src"], item["n"])] = 1
    result = run_ozzy("resume", harness.uri, cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "grew since it was read" in result.stderr
    job.check()


# -- the position's encoding ----------------------------------------------------------------------------


def test_input_lists_round_trip_any_name_and_size() -> None:
    entries = [("a\nb\tc", 0), ("\udcff\udcfe-not-utf8", None), ("日本/データ.jl", 2**40), ("", 5)]
    assert decode_entries(encode_entries(entries)) == entries
    json.dumps(encode_entries(entries))  # JSON-able


def test_an_input_log_encodes_full_chunks_once() -> None:
    log = InputLog((f"prefix/orders-{number:07d}.jl.gz", number) for number in range(CHUNK * 2 + 10))
    first = log.encoded(CHUNK * 2 + 5)
    assert len(first) == 3
    again = log.encoded(CHUNK * 2 + 10)
    assert again[0] is first[0] and again[1] is first[1]  # cached, not encoded again
    assert decode_entries(again) == log.entries


def test_the_run_after_an_s3_bypass_reads_only_new_objects_and_overwrites_no_copied_file(
    request: pytest.FixtureRequest, work: Path
) -> None:
    store = make_store(request, "s3", work / "store")
    assert isinstance(store, S3Store)
    config = {
        "reader": store.reader(),
        "writer": {
            "name": "S3Writer",
            "options": {"bucket": store.bucket, "filebase": "out/items_", "host": store.endpoint},
        },
        "persistence": PERSISTENCES["pickle"],
        "exporter_options": {"persistence_state_id": "copy", "incremental": True},
    }
    env = legacy_s3_env()  # the reader's credentials, and the same for the writer
    write_config(work / "copy.json", config)
    expected: list[dict[str, Any]] = []

    def put(*names: str) -> None:
        for name in names:
            items = items_of(name, 10)
            store.put(name, gz(items))
            expected.extend(items)

    put("k-2.jl.gz", "k-3.jl.gz")
    first = run_ozzy("run", "copy.json", cwd=work, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "S3Bypass" in first.stderr + first.stdout
    put("k-1.jl.gz", "k-4.jl.gz")
    second = run_ozzy("run", "copy.json", cwd=work, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    written = []
    pages = store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix="out/")
    for key in [entry["Key"] for page in pages for entry in page.get("Contents", [])]:
        data = store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read()
        written += [json.loads(line) for line in gzip.decompress(data).splitlines()]
    assert sorted(written, key=json.dumps) == sorted(expected, key=json.dumps)
