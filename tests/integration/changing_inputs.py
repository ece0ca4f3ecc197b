"""Input stores a test can change between runs (add, remove, move inputs), and the run/check helpers
of the changing-input tests (test_changing_inputs.py, tests/property/test_changing_inputs_property.py).

Every store holds gzip JSON-lines inputs whose items carry their input's name (``src``) and their
line (``n``), so the destination can be checked against exactly the inputs that existed.
"""

from __future__ import annotations

import gzip
import json
import shutil
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import legacy_s3_env, output_files, read_json_lines, run_ozzy, write_config


def items_of(name: str, count: int) -> list[dict[str, Any]]:
    return [{"src": name, "n": line, "country": ("es", "uk", "us", "fr")[line % 4]} for line in range(count)]


def gz(items: list[dict[str, Any]]) -> bytes:
    return gzip.compress(b"".join(json.dumps(item).encode() + b"\n" for item in items))


class InputStore:
    """Where a job reads from: put, remove and move inputs by name, and the reader section."""

    env: dict[str, str] = {}

    def put(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def remove(self, name: str) -> None:
        raise NotImplementedError

    def archive(self, name: str) -> None:
        """Move an input out of the reader's reach (an inbox whose exported files are archived)."""
        raise NotImplementedError

    def reader(self) -> dict[str, Any]:
        raise NotImplementedError


class FolderStore(InputStore):
    def __init__(self, root: Path, reader_name: str = "FSReader", options: dict[str, Any] | None = None):
        self.inbox = root / "inbox"
        self.archived = root / "archive"
        self.inbox.mkdir(parents=True)
        self.archived.mkdir(parents=True)
        self.reader_name = reader_name
        self.options = options

    def put(self, name: str, data: bytes) -> None:
        path = self.inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")  # dot files are not read: a complete file appears
        temporary.write_bytes(data)
        temporary.rename(path)

    def remove(self, name: str) -> None:
        (self.inbox / name).unlink()

    def archive(self, name: str) -> None:
        target = self.archived / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(self.inbox / name), target)

    def reader(self) -> dict[str, Any]:
        if self.options is not None:  # a remote server serving ``inbox``
            return {"name": self.reader_name, "options": dict(self.options)}
        return {"name": "FSReader", "options": {"input": {"dir": str(self.inbox)}}}


class S3Store(InputStore):
    def __init__(self, moto: Any) -> None:
        self.client = moto.client("s3")
        self.bucket = moto.create_bucket()
        self.endpoint = moto.endpoint_url
        self.env = legacy_s3_env(writer=False)

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=f"inbox/{name}", Body=data)

    def remove(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=f"inbox/{name}")

    def archive(self, name: str) -> None:
        source = {"Bucket": self.bucket, "Key": f"inbox/{name}"}
        self.client.copy_object(Bucket=self.bucket, Key=f"archive/{name}", CopySource=source)
        self.remove(name)

    def reader(self) -> dict[str, Any]:
        options = {"bucket": self.bucket, "prefix": "inbox/", "host": self.endpoint}
        return {"name": "S3Reader", "options": options}


def make_store(request: pytest.FixtureRequest, kind: str, root: Path) -> InputStore:
    if kind == "fs":
        return FolderStore(root)
    if kind == "s3":
        return S3Store(request.getfixturevalue("moto_server"))
    if kind == "sftp":
        server = request.getfixturevalue("sftp_server")
        tag = f"job-{uuid.uuid4().hex[:10]}"
        options = {
            "host": server.host,
            "port": server.port,
            "sftp_user": server.user,
            "sftp_password": server.password,
            "no_host_key_check": True,
            "prefix": f"{tag}/inbox/",
        }
        return FolderStore(server.root / tag, "SFTPReader", options)
    raise ValueError(kind)


PERSISTENCES = {
    "pickle": {"name": "PicklePersistence", "options": {"file_path": "state"}},
    "alchemy-sqlite": {"name": "AlchemyPersistence", "options": {"url": "sqlite:///state.db"}},
}


class IncrementalJob:
    """An incremental ``ozzy run`` job of a store, grouped by country, into ``out/``."""

    def __init__(
        self, work: Path, store: InputStore, persistence: str = "pickle", items_per_file: int = 7
    ) -> None:
        self.work = work
        self.store = store
        self.present: dict[str, list[dict[str, Any]]] = {}  # inputs in the store now
        self.expected: Counter[tuple[str, int]] = Counter()  # every item that must be out once
        reader = store.reader()
        reader["options"]["batch_size"] = 5
        self.config = {
            "reader": reader,
            "grouper": {"name": "FileKeyGrouper", "options": {"keys": ["country"]}},
            "writer": {
                "name": "FSWriter",
                "options": {"filebase": "out/{groups[0]}/part_", "items_per_buffer_write": items_per_file},
            },
            "persistence": PERSISTENCES[persistence],
            "exporter_options": {"persistence_state_id": "orders", "incremental": True},
        }
        write_config(work / "job.json", self.config)

    def add(self, name: str, count: int) -> None:
        items = items_of(name, count)
        self.store.put(name, gz(items))
        self.present[name] = items

    def remove(self, name: str) -> None:
        self.store.remove(name)
        del self.present[name]

    def archive(self, name: str) -> None:
        self.store.archive(name)
        del self.present[name]

    def run(self, *args: str, expect: int = 0) -> str:
        """``ozzy run`` to the end; every input present at its start must then be out once."""
        for items in self.present.values():
            for item in items:
                self.expected[(item["src"], item["n"])] = 1
        result = run_ozzy("run", "job.json", *args, cwd=self.work, env=self.store.env)
        assert result.returncode == expect, result.stderr[-3000:]
        return result.stderr

    def written(self) -> Counter[tuple[str, int]]:
        found: Counter[tuple[str, int]] = Counter()
        for name in output_files(self.work / "out"):
            for item in read_json_lines(self.work / "out" / name):
                found[(item["src"], item["n"])] += 1
        return found

    def check(self) -> None:
        found = self.written()
        missing = self.expected - found
        twice = {key: count for key, count in found.items() if count > 1}
        extra = found - self.expected
        assert not missing and not twice and not extra, (
            f"{sum(missing.values())} missing (e.g. {sorted(missing)[:3]}), "
            f"{len(twice)} written twice (e.g. {sorted(twice)[:3]}), {sum(extra.values())} unexpected"
        )


def sqlite_state(work: Path, job_id: str = "job1") -> Any:
    """``CrashHarness`` access to a job's state in SQLite (AlchemyPersistence, ``state.db``)."""
    import sqlalchemy

    from tests.crash_harness import JobStateAccess

    path = work / "state.db"

    def row() -> Any:
        if not path.exists():
            return None
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as connection:
                if not sqlalchemy.inspect(connection).has_table("ozzy_job"):
                    return None
                query = sqlalchemy.text("SELECT last_position, last_committed FROM ozzy_job WHERE id = :id")
                return connection.execute(query, {"id": job_id}).first()
        finally:
            engine.dispose()

    def committed() -> dict[str, Any] | None:
        found = row()
        return json.loads(found.last_position) if found is not None and found.last_position else None

    def token() -> Any:
        found = row()
        return found.last_committed if found is not None else None

    return JobStateAccess(
        PERSISTENCES["alchemy-sqlite"],
        f"sqlite://{path}:{job_id}",
        lambda: row() is not None,
        committed,
        token,
    )
