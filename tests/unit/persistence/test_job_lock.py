"""The per-job file lock: exclusive within a process and across processes, and it keeps no
descriptor open once released (a long-lived process exporting to many folders leaked one each)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_ozzy.persistence.job_lock import FileJobLock


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_job_is_locked_once_per_process_and_other_jobs_share_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / ".ozzy-locks")
    first, second, other = FileJobLock(path, "job"), FileJobLock(path, "job"), FileJobLock(path, "other")
    assert first.acquire()
    assert not second.acquire()
    assert other.acquire()
    first.release()
    assert second.acquire()
    second.release()
    other.release()


def test_another_process_is_refused_while_the_lock_is_held_and_admitted_after(tmp_path: Path) -> None:
    path = str(tmp_path / ".ozzy-locks")
    probe = (
        "import sys; from airflow_provider_ozzy.persistence.job_lock import FileJobLock; "
        f"sys.exit(0 if FileJobLock({path!r}, 'job').acquire() else 3)"
    )
    lock = FileJobLock(path, "job")
    assert lock.acquire()
    assert subprocess.run([sys.executable, "-c", probe]).returncode == 3
    lock.release()
    assert subprocess.run([sys.executable, "-c", probe]).returncode == 0


def test_released_locks_leave_no_descriptor_open(tmp_path: Path) -> None:
    before = _open_descriptors()
    for folder in range(50):
        lock = FileJobLock(str(tmp_path / f"lock-{folder}"), "job")
        assert lock.acquire()
        lock.release()
    assert _open_descriptors() == before


def test_a_refused_lock_leaves_no_descriptor_open(tmp_path: Path) -> None:
    path = str(tmp_path / ".ozzy-locks")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from airflow_provider_ozzy.persistence.job_lock import FileJobLock; "
            f"assert FileJobLock({path!r}, 'job').acquire(); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        before = _open_descriptors()
        assert not FileJobLock(path, "job").acquire()
        assert _open_descriptors() == before
    finally:
        holder.communicate("")
