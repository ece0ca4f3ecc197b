"""S3 objects copied by the destination service itself from presigned URLs (Azure Blob, Azure Files).

Azure's copy operations are asynchronous: the request starts the copy and the service fetches
the source in the background. The bypass starts up to ``IN_FLIGHT`` copies, polls each until the
service reports ``success`` (``failed``/``aborted`` are errors, and so is a copy that makes no
progress for ``STALL_SECONDS``), checks the copied size, and only then records the object as
done. No object byte goes through Ozzy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

from airflow_provider_ozzy.bypasses.base_bypass import section_class
from airflow_provider_ozzy.bypasses.object_copy import ObjectCopyBypass
from airflow_provider_ozzy.core.errors import InconsistentWriteError, WriterError
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.engine.config import ResolvedJob

URL_SECONDS = 1800  # presigned URLs stay valid 30 minutes, as exporters' did
IN_FLIGHT = 16  # copies running on the service at once
POLL_FIRST, POLL_MAX = 0.1, 5.0  # seconds between status polls of one copy, growing
STALL_SECONDS = 1800.0


class CopyStatus:
    """What the service says about a copy: ``status`` (pending/success/failed/aborted)."""

    def __init__(self, status: str | None, progress: str | None, description: str | None) -> None:
        self.status = status or "success"  # no copy record: the copy completed synchronously
        self.progress = progress
        self.description = description


class _Copy:
    def __init__(self, index: int, started: float) -> None:
        self.index = index
        self.progress: str | None = None
        self.changed_at = started
        self.next_poll = started + POLL_FIRST
        self.delay = POLL_FIRST


class UrlCopyBypass(ObjectCopyBypass):
    """S3Reader to a writer whose service copies from a URL; subclasses talk to the service."""

    priority = 20
    writer_name: ClassVar[str] = ""

    @classmethod
    def handles(cls, config: ResolvedJob) -> bool:
        from airflow_provider_ozzy.engine.registry import resolve
        from airflow_provider_ozzy.readers.s3_reader import S3Reader

        reader, writer = section_class(config, "reader"), section_class(config, "writer")
        wanted = resolve(cls.writer_name, "writers")
        return bool(reader and writer and issubclass(reader, S3Reader) and issubclass(writer, wanted))

    # -- to implement -------------------------------------------------------------------------------
    def prepare_destination(self) -> None:
        """Create what the copies need (container, share, directories)."""

    def start_copy(self, target: str, url: str) -> None:
        raise NotImplementedError

    def copy_status(self, target: str) -> CopyStatus:
        raise NotImplementedError

    def finish_copy(self, target: str) -> int:
        """After a successful copy: make ``target`` final; return its size."""
        raise NotImplementedError

    def destination_md5(self, target: str) -> str | None:
        raise NotImplementedError

    # -- the copy -----------------------------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        self.prepare()
        self.prepare_destination()
        self.commit()
        copied: list[int] = []
        pending = iter(self.pending())
        running: dict[int, _Copy] = {}
        stop = self.context.stop_requested
        try:
            while True:
                while len(running) < IN_FLIGHT and not stop.is_set():
                    index = next(pending, None)
                    if index is None:
                        break
                    self.start_copy(self.targets[index], self.presigned_url(self.streams[index]))
                    running[index] = _Copy(index, time.monotonic())
                if not running:
                    break
                for index in self._poll(running):
                    # recorded at once: a copy finished but not recorded is redone by a resume
                    copied.append(index)
                    self.done.add(index)
                    self.copied_this_run += 1
                    self.commit()
        finally:
            self.commit()
        if len(self.done) < len(self.streams):
            self.log.warning(
                "%s: stop requested after %d of %d object(s)",
                type(self).__name__,
                len(self.done),
                len(self.streams),
            )
            return self.counters()
        if self.writer.options["check_consistency"]:
            self.check_copies(copied)
        self.finished = True
        self.log.info(
            "%s: %d object(s) copied by the service (%d this run)",
            type(self).__name__,
            len(self.streams),
            len(copied),
        )
        return self.counters()

    def _poll(self, running: dict[int, _Copy]) -> Iterator[int]:
        """Wait for the next poll due, poll the copies due; yield each one finished (and checked)."""
        due = min(copy.next_poll for copy in running.values())
        time.sleep(max(0.0, due - time.monotonic()))
        now = time.monotonic()
        for index, copy in list(running.items()):
            if copy.next_poll > now:
                continue
            target, stream = self.targets[index], self.streams[index]
            status = self.copy_status(target)
            if status.status == "success":
                size = self.finish_copy(target)
                if stream.size is not None and size != stream.size:
                    raise WriterError(
                        f"{type(self).__name__}: {target} has {size} bytes after the copy, its source "
                        f"s3://{self.reader.bucket}/{stream.name} {stream.size}"
                    )
                del running[index]
                yield index
                continue
            if status.status != "pending":
                raise WriterError(
                    f"{type(self).__name__}: copying s3://{self.reader.bucket}/{stream.name} to {target} "
                    f"{status.status}: {status.description or 'no reason given'}"
                )
            if status.progress != copy.progress:
                copy.progress, copy.changed_at = status.progress, now
            elif now - copy.changed_at > STALL_SECONDS:
                raise WriterError(
                    f"{type(self).__name__}: copying s3://{self.reader.bucket}/{stream.name} to {target} made "
                    f"no progress for {STALL_SECONDS:.0f}s (at {status.progress})"
                )
            copy.delay = min(POLL_MAX, copy.delay * 2)
            copy.next_poll = now + copy.delay

    def presigned_url(self, stream: Stream) -> str:
        url: str = self.reader.s3.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.reader.bucket, "Key": stream.name}, ExpiresIn=URL_SECONDS
        )
        return url

    def check_copies(self, copied: list[int]) -> None:
        """Each copy has its source's MD5 where the source ETag is one (single-part uploads)."""
        problems = []
        for index in copied:
            stream, target = self.streams[index], self.targets[index]
            etag = str(stream.meta or "").strip('"')
            if not etag or "-" in etag:
                continue  # multipart ETags are no MD5; the size was checked after the copy
            md5 = self.destination_md5(target)
            if md5 != etag:
                problems.append(f"{target} has md5 {md5}, its source {stream.name} {etag}")
        if problems:
            raise InconsistentWriteError(
                f"{type(self).__name__}: check_consistency failed for {len(problems)} object(s): "
                + "; ".join(problems)
            )
        self.log.info("check_consistency: %d copied object(s) verified", len(copied))
