"""S3Reader to S3Writer without reading items: server-side copies, many at once, resumable key by key."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from airflow_provider_ozzy.bypasses.base_bypass import (
    BaseBypass,
    BypassNotApplicable,
    copied_name_problem,
    module_values,
    section_class,
)
from airflow_provider_ozzy.bypasses.object_copy import DoneSet, copy_targets, fingerprint
from airflow_provider_ozzy.core.errors import InconsistentWriteError, WriterError
from airflow_provider_ozzy.core.stream import Stream
from airflow_provider_ozzy.engine.config import ResolvedJob
from airflow_provider_ozzy.readers.s3_reader import S3Reader
from airflow_provider_ozzy.services.s3 import is_refused
from airflow_provider_ozzy.writers.s3_writer import PartCall, S3Writer, multipart_etag

COMMIT_INTERVAL = 0.2  # seconds between commits of the copied keys


class S3Bypass(BaseBypass):
    """Copies every key the S3Reader selects to the key the S3Writer would name file N.

    Chosen when nothing in the pipeline can change the items (see ``base_bypass``), the output is
    JSON lines compressed as the input objects are (checked on their names: ``.jl.gz`` for gz), the
    ``filebase`` has no group placeholder and both sides use the same S3 endpoint. Key N of the
    listing becomes ``filebase`` file N (``out/items_0000.jl.gz``, ...): one file per input object.
    A ``filebase`` ending in ``/`` keeps exporters' names, ``<dir>/<source basename>``, unless two
    keys share a basename (then the pipeline runs; see ``object_copy.copy_targets``).

    Copies run on the server (``CopyObject``; ``UploadPartCopy`` above ``multipart_copy_threshold``,
    since S3 copies at most 5 GiB in one request), ``copy_threads`` at a time; no object byte goes
    through Ozzy. Each copy requires the source ETag seen in the listing. The state (the filebase
    date, a fingerprint of the listing, which keys are done) is committed every 0.2 s, so a resume
    copies only the keys not recorded as done. If the destination credentials may not read the
    source, the first copy fails before anything else is done and the item pipeline runs instead.
    """

    priority = 10

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.reader: S3Reader = context.reader
        self.writer: S3Writer = context.writer
        self._copied: list[tuple[Stream, str, str]] = []  # this run: source, destination key, ETag
        self._lock = threading.Lock()

    @classmethod
    def handles(cls, config: ResolvedJob) -> bool:
        reader, writer = section_class(config, "reader"), section_class(config, "writer")
        return bool(reader and writer and issubclass(reader, S3Reader) and issubclass(writer, S3Writer))

    @classmethod
    def reasons_against(cls, config: ResolvedJob) -> list[str]:
        problems = super().reasons_against(config)
        writer = module_values(config, "writer")
        if "{groups" in writer["filebase"]:
            problems.append("filebase uses {groups[N]}, which only the pipeline fills")
        reader = module_values(config, "reader")
        ends = [values["endpoint_url"] or values["host"] for values in (reader, writer)]
        if all(ends) and ends[0] != ends[1]:
            problems.append(f"reader and writer use different S3 endpoints ({ends[0]}, {ends[1]})")
        return problems

    # -- the copy ---------------------------------------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        saved = self.context.state
        writer = self.writer
        writer.open(
            self.context.formatter, {"effective_filebase": saved["effective_filebase"]} if saved else None
        )
        streams = self.streams = self.reader.get_read_streams()
        listing = fingerprint(streams)
        if saved is None:
            self._check_applicable(streams)
        elif saved["fingerprint"] != listing:
            raise WriterError(
                f"S3Bypass: the keys under the reader's prefixes changed since the job started "
                f"({len(streams)} now, {saved['total']} then); the copy cannot resume exactly"
            )
        targets = [writer.key_for(target) for target in copy_targets(writer, streams)]
        done = DoneSet(saved)
        state = {
            "effective_filebase": writer.effective_filebase,
            "fingerprint": listing,
            "total": len(streams),
        }
        if saved is None and streams:
            self._probe(streams[0], targets[0])
            done.add(0)
        self.context.commit(dict(state, **done.state()))
        pending = (index for index in range(len(streams)) if index not in done)
        self._copy_all(streams, targets, pending, done, state)
        counters = self._counters(streams, done)
        if len(done) < len(streams):
            return counters
        if writer.options["check_consistency"]:
            self._check_copies()
        writer.save_pointer_file()
        self.finished = True
        self.log.info(
            "S3Bypass: %d object(s) copied server-side (%d this run)", len(streams), len(self._copied)
        )
        return counters

    def _check_applicable(self, streams: list[Stream]) -> None:
        compression = self.writer.options["compression"]
        for stream in streams:
            problem = copied_name_problem(stream.name, self.context.formatter, compression)
            if problem:
                raise BypassNotApplicable(problem)
        source, destination = self.reader.s3.endpoint_url, self.writer.s3.endpoint_url
        if source != destination:
            raise BypassNotApplicable(
                f"reader and writer use different S3 endpoints ({source}, {destination})"
            )

    def _probe(self, stream: Stream, target: str) -> None:
        """Copy the first key alone: refused credentials mean the pipeline must run instead."""
        try:
            self._copy(stream, target)
        except WriterError as error:
            if is_refused(error):
                raise BypassNotApplicable(
                    f"the writer's credentials cannot copy from the source: {error}"
                ) from None
            raise

    def _copy_all(
        self,
        streams: list[Stream],
        targets: list[str],
        pending: Iterator[int],
        done: DoneSet,
        state: dict[str, Any],
    ) -> None:
        threads = self.writer.options["copy_threads"]
        stop = self.context.stop_requested
        last_commit = time.monotonic()
        with ThreadPoolExecutor(threads, thread_name_prefix="ozzy-s3-copy") as pool:
            running: dict[Future[None], int] = {}
            try:
                while True:
                    while len(running) < threads * 2 and not stop.is_set():
                        index = next(pending, None)
                        if index is None:
                            break
                        running[pool.submit(self._copy, streams[index], targets[index])] = index
                    if not running:
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        index = running.pop(future)
                        future.result()
                        done.add(index)
                    if time.monotonic() - last_commit >= COMMIT_INTERVAL:
                        self.context.commit(dict(state, **done.state()))
                        last_commit = time.monotonic()
                        self._report(streams, done)
            finally:
                for future in running:
                    future.cancel()
                # what finished before a failure or a stop is done: record it
                for future, index in running.items():
                    if future.done() and not future.cancelled() and future.exception() is None:
                        done.add(index)
                self.context.commit(dict(state, **done.state()))
        if stop.is_set() and len(done) < len(streams):
            self.log.warning("S3Bypass: stop requested after %d of %d object(s)", len(done), len(streams))

    def _copy(self, stream: Stream, target: str) -> None:
        writer = self.writer
        if (stream.size or 0) > writer.options["multipart_copy_threshold"]:
            etag = self._copy_in_parts(stream, target)
        else:
            response = writer.s3.call(
                "copy_object",
                Bucket=writer.bucket,
                Key=target,
                CopySource={"Bucket": self.reader.bucket, "Key": stream.name},
                CopySourceIfMatch=stream.meta,
                MetadataDirective="COPY",
                **self._acl(),
            )
            etag = str(response.get("CopyObjectResult", {}).get("ETag", "")).strip('"')
        with self._lock:
            self._copied.append((stream, target, etag))

    def _copy_in_parts(self, stream: Stream, target: str) -> str:
        writer, source = self.writer, {"Bucket": self.reader.bucket, "Key": stream.name}
        head = self.reader.s3.call(
            "head_object", Bucket=self.reader.bucket, Key=stream.name, IfMatch=stream.meta
        )
        extra: dict[str, Any] = {"Metadata": head.get("Metadata") or {}, **self._acl()}
        for field in ("ContentType", "ContentEncoding", "ContentDisposition", "CacheControl"):
            if head.get(field):
                extra[field] = head[field]
        size = int(head["ContentLength"])
        part = writer.options["multipart_copy_chunksize"]
        ranges = [
            (number + 1, start, min(start + part, size) - 1)
            for number, start in enumerate(range(0, size, part))
        ]

        def copy_parts(part: PartCall) -> list[bytes]:
            def copy_part(number: int, first: int, last: int) -> bytes:
                result = part(
                    "upload_part_copy",
                    number,
                    CopySource=source,
                    CopySourceRange=f"bytes={first}-{last}",
                    CopySourceIfMatch=stream.meta,
                )
                return bytes.fromhex(str(result["CopyPartResult"]["ETag"]).strip('"'))

            with ThreadPoolExecutor(min(8, len(ranges)), thread_name_prefix="ozzy-s3-part-copy") as pool:
                return list(pool.map(lambda each: copy_part(*each), ranges))

        response, digests = writer.multipart_upload(target, extra, copy_parts)
        self.log.info("S3Bypass: %s copied in %d parts", stream.name, len(ranges))
        expected = multipart_etag(digests)
        return str(response.get("ETag", expected)).strip('"')

    def _acl(self) -> dict[str, Any]:
        return {"ACL": self.writer.options["acl"]} if self.writer.options["acl"] else {}

    # -- reports ------------------------------------------------------------------------------------------
    def _check_copies(self) -> None:
        """Each copy has the source's size and, for single-part sources, its MD5 (ETag)."""
        problems = []
        for stream, target, _ in self._copied:
            head = self.writer.s3.call("head_object", Bucket=self.writer.bucket, Key=target)
            if head.get("ContentLength") != stream.size:
                problems.append(f"{target} has {head.get('ContentLength')} bytes, its source {stream.size}")
            source_etag, etag = str(stream.meta or "").strip('"'), str(head.get("ETag", "")).strip('"')
            if "-" not in source_etag and "-" not in etag and source_etag != etag:
                problems.append(f"{target} has ETag {etag}, its source {stream.name} {source_etag}")
        if problems:
            raise InconsistentWriteError(
                f"S3Bypass: check_consistency failed for {len(problems)} object(s): " + "; ".join(problems)
            )
        self.log.info("check_consistency: %d copied object(s) verified", len(self._copied))

    def _counters(self, streams: list[Stream], done: DoneSet) -> dict[str, Any]:
        return {
            "objects_total": len(streams),
            "objects_copied_this_run": len(self._copied),
            "files_written": len(done),
            "bytes_written": sum(streams[index].size or 0 for index in done),
            "items_count_accurate": False,
        }

    def _report(self, streams: list[Stream], done: DoneSet) -> None:
        if self.context.progress is not None:
            counters = self._counters(streams, done)
            self.context.progress(dict(counters, fraction=len(done) / max(1, len(streams)), done=False))
