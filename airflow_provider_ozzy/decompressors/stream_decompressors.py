"""Incremental decompression of input streams: auto-detected, gzip/zlib, bz2, zip, zstd or none.

Each decompressor turns a binary file object into an iterator of decompressed chunks, so memory
stays flat whatever the input size. Broken input raises ``ReaderError`` naming the stream.
"""

from __future__ import annotations

import bz2
import lzma
import shutil
import tempfile
import types
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

import zstandard

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.pipeline_item import PipelineItem

_fast_zlib: types.ModuleType
try:  # ISA-L inflates the same format about twice as fast as zlib
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover - isal is a core dependency
    _fast_zlib = zlib

_ZLIB_ERRORS: tuple[type[BaseException], ...] = (zlib.error, _fast_zlib.error)

CHUNK_SIZE = 1 << 18  # 256 KiB compressed: about 1 MiB of items parsed at a time


class BaseDecompressor(PipelineItem):
    """Turns raw stream bytes into decompressed chunks."""

    kind = "decompressor"
    format_name: ClassVar[str] = "none"

    def chunks(self, raw: BinaryIO, name: str) -> Iterator[bytes]:
        raise NotImplementedError


class NoDecompressor(BaseDecompressor):
    """Input that is not compressed."""

    def chunks(self, raw: BinaryIO, name: str) -> Iterator[bytes]:
        while chunk := raw.read(CHUNK_SIZE):
            yield chunk


class GzipDecompressor(BaseDecompressor):
    """gzip or zlib data, including several concatenated gzip members."""

    format_name = "gzip"

    def chunks(self, raw: BinaryIO, name: str) -> Iterator[bytes]:
        engine = _fast_zlib.decompressobj(47)
        consumed = 0  # compressed bytes read so far, for error messages
        member_fed = 0  # bytes fed to the current member's decompressor
        while data := raw.read(CHUNK_SIZE):
            consumed += len(data)
            while data:
                member_fed += len(data)
                try:
                    out = engine.decompress(data)
                except _ZLIB_ERRORS as error:
                    raise ReaderError(
                        f"{name}: not valid gzip data near compressed byte {consumed} ({error}); "
                        "use NoDecompressor if the input is not compressed"
                    ) from None
                if out:
                    yield out
                if not engine.eof:
                    break
                data = engine.unused_data.lstrip(b"\0")  # padding after the last member is allowed
                engine = _fast_zlib.decompressobj(47)
                member_fed = 0
        if consumed == 0:
            raise ReaderError(f"{name}: empty file is not a valid gzip stream")
        if member_fed and not engine.eof:
            raise ReaderError(
                f"{name}: truncated gzip data: the stream ends after {consumed} compressed bytes"
            )


class Bz2Decompressor(BaseDecompressor):
    """bzip2 data, including several concatenated streams."""

    format_name = "bz2"

    def chunks(self, raw: BinaryIO, name: str) -> Iterator[bytes]:
        engine = bz2.BZ2Decompressor()
        started = False
        fed = False  # the current stream's decompressor got data (a new one starts after each stream)
        while data := raw.read(CHUNK_SIZE):
            started = True
            while data:
                fed = True
                try:
                    out = engine.decompress(data)
                except OSError as error:
                    raise ReaderError(f"{name}: not valid bzip2 data ({error})") from None
                if out:
                    yield out
                if engine.eof:
                    data = engine.unused_data
                    engine = bz2.BZ2Decompressor()
                    fed = False
                else:
                    data = b""
        if not started:
            raise ReaderError(f"{name}: empty file is not a valid bzip2 stream")
        if fed and not engine.eof:
            raise ReaderError(f"{name}: truncated bzip2 data")


class ZstdDecompressor(BaseDecompressor):
    """Zstandard data, including several concatenated frames."""

    format_name = "zstd"

    def chunks(self, raw: BinaryIO, name: str) -> Iterator[bytes]:
        # frame by frame, like gzip members: zstandard's stream_reader ends quietly on a cut-off
        # frame, which would present a truncated file as complete
        engine = zstandard.ZstdDecompressor().decompressobj()
        consumed = 0
        fed = False  # the current frame's decompressor got data
        while data := raw.read(CHUNK_SIZE):
            consumed += len(data)
            while data:
                fed = True
                try:
                    out = engine.decompress(data)
                except zstandard.ZstdError as error:
                    raise ReaderError(
                        f"{name}: not valid zstd data near compressed byte {consumed} ({error})"
                    ) from None
                if out:
                    yield out
                if not engine.eof:
                    break
                data = engine.unused_data
                engine = zstandard.ZstdDecompressor().decompressobj()
                fed = False
        if consumed == 0:
            raise ReaderError(f"{name}: empty file is not a valid zstd stream")
        if fed and not engine.eof:
            raise ReaderError(
                f"{name}: truncated zstd data: the stream ends after {consumed} compressed bytes"
            )


# what a damaged member raises: a bit flip in the archive's directory may name another (bz2, lzma:
# OSError, LZMAError), an unknown (NotImplementedError) or an encrypted (RuntimeError) method
_ZIP_MEMBER_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    lzma.LZMAError,
)


class ZipDecompressor(BaseDecompressor):
    """Every file member of a zip archive, in archive order."""

    format_name = "zip"

    def chunks(self, raw: BinaryIO, name: str) -> Iterator[bytes]:
        source: BinaryIO = raw
        spool = None
        if not (hasattr(raw, "seekable") and raw.seekable()):
            spool = tempfile.TemporaryFile()
            shutil.copyfileobj(raw, spool)
            spool.seek(0)
            source = spool
        try:
            try:
                archive = zipfile.ZipFile(source)
            except _ZIP_MEMBER_ERRORS as error:
                if isinstance(error, OSError) and type(error) is not OSError:
                    raise
                raise ReaderError(f"{name}: not a valid zip archive ({error})") from None
            with archive:
                for member in archive.infolist():
                    if member.is_dir():
                        continue
                    try:
                        with archive.open(member) as handle:
                            while chunk := handle.read(CHUNK_SIZE):
                                yield chunk
                    except _ZIP_MEMBER_ERRORS as error:
                        if isinstance(error, OSError) and type(error) is not OSError:
                            raise  # a dropped connection or a missing file, not damage
                        raise ReaderError(
                            f"{name}: member {member.filename} is damaged ({type(error).__name__}: {error})"
                        ) from None
        finally:
            if spool is not None:
                spool.close()


_MAGIC: list[tuple[bytes, type[BaseDecompressor]]] = [
    (b"\x1f\x8b", GzipDecompressor),
    (b"BZh", Bz2Decompressor),
    (b"\x28\xb5\x2f\xfd", ZstdDecompressor),
    (b"PK\x03\x04", ZipDecompressor),
]


class AutoDecompressor(BaseDecompressor):
    """Detects the compression of each stream from its first bytes (the default)."""

    def chunks(self, raw: BinaryIO, name: str) -> Iterator[bytes]:
        head = raw.read(4)
        if not head:
            if name.endswith((".gz", ".bz2", ".zst", ".zstd", ".zip")):
                raise ReaderError(f"{name}: empty file is not a valid compressed stream")
            return
        rest = _Prefixed(head, raw)
        for magic, decompressor in _MAGIC:
            if head.startswith(magic):
                yield from decompressor().chunks(rest, name)  # type: ignore[arg-type]
                return
        if name.endswith((".gz", ".bz2", ".zst", ".zstd")):
            raise ReaderError(
                f"{name}: the name says compressed, but the data has no known compression header"
            )
        yield from NoDecompressor().chunks(rest, name)  # type: ignore[arg-type]


class ZLibDecompressor(GzipDecompressor):
    """Legacy name (exporters' default): gzip or zlib data, concatenated members allowed."""


class _Prefixed:
    """A read-only stream that first returns bytes already read for detection."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            if size < 0:
                return head + self._raw.read()
            return head + self._raw.read(max(0, size - len(head)))
        return self._raw.read(size)

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._raw.tell()
