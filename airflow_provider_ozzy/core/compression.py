"""Output compression for buffer files: gz, bz2, zip, zstd or none, one streaming writer each.

Every writer compresses through here, so the file suffix, the level and the md5 of the finished
bytes are computed the same way everywhere. gz is written by zlib (the default) or, as an explicit
speed-for-size choice, by isal (Intel ISA-L): several times faster, larger files, still one
standard gzip member.
"""

from __future__ import annotations

import bz2
import hashlib
import os
import threading
import zipfile
import zlib
from collections import OrderedDict
from typing import Any, BinaryIO, Protocol

import zstandard
from isal import isal_zlib

from airflow_provider_ozzy.core.ordered_worker import OrderedWorker

COMPRESSIONS = ("gz", "bz2", "zip", "zstd", "none")
DEFAULT_LEVELS = {"gz": 6, "bz2": 9, "zip": 6, "zstd": 3, "none": 0}
# levels each format takes (zstd also has faster negative levels); the option's declared range is
# the union, so a level that fits no format is refused before the format is even known
LEVEL_RANGES = {"gz": (0, 9), "bz2": (1, 9), "zip": (0, 9), "zstd": (-7, 22)}
# who writes gz: zlib (the default, level 6) or isal, levels 0-3, none of which is as small as
# zlib's 6 (benchmarks/README.md, "Two-thread ceiling"), so isal is a choice, never the default
ENGINES = ("zlib", "isal")
ISAL_LEVELS = (0, 3)
ISAL_DEFAULT_LEVEL = 2  # isal's own default: 12.7 % larger than zlib 6, 1.8x its speed
# isal's output depends on how its input is split into calls: it is fed blocks of this many bytes
# of the stream, so the same items always give the same bytes, however the batches fell
ISAL_BLOCK = 1 << 20


def level_problem(compression: str, level: int | None, engine: str = "zlib") -> str | None:
    """Why ``level`` does not suit ``compression`` (``None`` when it does or is left to the default)."""
    bounds = ISAL_LEVELS if engine == "isal" and compression == "gz" else LEVEL_RANGES.get(compression)
    if level is None or bounds is None or bounds[0] <= level <= bounds[1]:
        return None
    low, high = bounds
    which = f"compression {compression!r}" + (" and compression_engine 'isal'" if engine == "isal" else "")
    return f"option 'compression_level' must be from {low} to {high} with {which}, got {level}"


def engine_problem(compression: str, engine: str) -> str | None:
    """Why ``engine`` does not suit ``compression``: only gz has a choice of engine."""
    if engine == "zlib" or compression == "gz":
        return None
    return f"option 'compression_engine' {engine!r} applies to compression 'gz' only, got {compression!r}"


def suffix(compression: str) -> str:
    """File name suffix for a compression ('' for none)."""
    return "" if compression == "none" else f".{compression}"


class _Codec(Protocol):
    def compress(self, data: bytes | memoryview, /) -> bytes: ...

    def flush(self) -> bytes: ...


class _Identity:
    def compress(self, data: bytes | memoryview, /) -> bytes:
        return bytes(data)

    def flush(self) -> bytes:
        return b""


class _FixedBlocks:
    """Feeds ``codec`` in ``ISAL_BLOCK`` slices of the stream, whatever the sizes of the writes."""

    def __init__(self, codec: _Codec) -> None:
        self._codec = codec
        self._rest = bytearray()

    def compress(self, data: bytes | memoryview, /) -> bytes:
        rest = self._rest
        if not rest and len(data) < ISAL_BLOCK:
            rest += data
            return b""
        view: bytes | memoryview | bytearray = data
        if rest:
            rest += data
            view = rest
        end = len(view) - len(view) % ISAL_BLOCK
        with memoryview(view) as whole:
            out = b"".join(
                self._codec.compress(whole[start : start + ISAL_BLOCK]) for start in range(0, end, ISAL_BLOCK)
            )
        if view is rest:
            del rest[:end]
        else:
            rest += data[end:]
        return out

    def flush(self) -> bytes:
        out = self._codec.compress(bytes(self._rest)) if self._rest else b""
        self._rest = bytearray()
        return out + self._codec.flush()


def _codec(compression: str, level: int, engine: str = "zlib") -> _Codec:
    if compression == "gz" and engine == "isal":
        return _FixedBlocks(isal_zlib.compressobj(level, isal_zlib.DEFLATED, 31))
    if compression == "gz":
        # wbits 31: a gzip member with mtime 0, so the same items always give the same bytes
        return zlib.compressobj(level, zlib.DEFLATED, 31)
    if compression == "bz2":
        return bz2.BZ2Compressor(max(1, min(level, 9)))
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=level).compressobj()
    return _Identity()


MAX_OPEN_FILES = 64  # buffer files kept open at once; others are reopened (append) on their next write


class _PooledFile:
    """A buffer file whose OS handle is open only while it is among the ``MAX_OPEN_FILES`` most
    recently written: an export with 10,000 open groups must not hold 10,000 file descriptors
    (``ulimit -n`` is often 1024, or 256). Writes are serialised by one lock, as an evicted handle
    is closed by whichever thread opens another."""

    _lock = threading.Lock()
    _open: OrderedDict[int, _PooledFile] = OrderedDict()

    def __init__(self, path: str) -> None:
        self.path = path
        self._handle: BinaryIO | None = None
        self._created = False
        with self._lock:
            self._ensure_open()  # create (truncate) the file now, as open(path, "wb") did

    def _ensure_open(self) -> BinaryIO:
        """The open handle (called with the lock held), evicting the least recently used one."""
        pool = _PooledFile._open
        if self._handle is None:
            while len(pool) >= MAX_OPEN_FILES:
                _, oldest = pool.popitem(last=False)
                oldest._release()
            self._handle = open(self.path, "ab" if self._created else "wb")  # noqa: SIM115 - pooled
            self._created = True
            pool[id(self)] = self
        else:
            pool.move_to_end(id(self))
        return self._handle

    def _release(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()

    def write(self, data: bytes) -> int:
        with self._lock:
            return self._ensure_open().write(data)

    def flush(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.flush()

    def sync_and_close(self) -> None:
        """Flush and fsync (reopening if evicted: fsync covers the file, not the handle), then close."""
        with self._lock:
            handle = self._ensure_open()
            handle.flush()
            os.fsync(handle.fileno())
            self.close_locked()

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        _PooledFile._open.pop(id(self), None)
        self._release()


class CompressedFile:
    """A file that receives uncompressed bytes and stores them compressed, tracking size and md5.

    With an ``OrderedWorker`` the compression happens on its thread; ``close()`` waits for it.
    """

    def __init__(
        self,
        path: str,
        compression: str,
        level: int | None = None,
        member_name: str = "data",
        background: OrderedWorker | None = None,
        engine: str = "zlib",
    ) -> None:
        if compression not in COMPRESSIONS:
            raise ValueError(f"unknown compression '{compression}'")
        problem = engine_problem(compression, engine) if engine in ENGINES else f"unknown engine {engine!r}"
        if problem:
            raise ValueError(problem)
        self.path = path
        self.compression = compression
        self._background = background
        if level is None:
            level = ISAL_DEFAULT_LEVEL if engine == "isal" else DEFAULT_LEVELS[compression]
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self._raw = _PooledFile(path)  # closed in close() or discard()
        self._zip: zipfile.ZipFile | None = None
        self._target: Any
        if compression == "zip":
            sink = _HashingSink(self._raw, self)
            self._zip = zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=level)  # type: ignore[arg-type]
            self._target = self._zip.open(zipfile.ZipInfo(member_name, date_time=(1980, 1, 1, 0, 0, 0)), "w")
            self._codec: _Codec = _Identity()
        else:
            self._codec = _codec(compression, level, engine)
            self._target = _HashingSink(self._raw, self)

    def write(self, data: bytes) -> None:
        if self._background is None:
            self._write(data)
        else:
            self._background.submit(lambda: self._write(data))

    def write_pieces(self, pieces: list[bytes]) -> None:
        """Write the concatenated ``pieces``, as one task of the background thread."""
        if self._background is None:
            self._write_pieces(pieces)
        else:
            self._background.submit(lambda: self._write_pieces(pieces))

    def _write_pieces(self, pieces: list[bytes]) -> None:
        # one compress, md5 and write per task, not per piece: after each of these calls the thread
        # waits for the GIL again, up to sys.getswitchinterval() (5 ms) while the main thread
        # formats, so calls must be few and large. (bytes.join of megabytes runs without the GIL.)
        self._write(pieces[0] if len(pieces) == 1 else b"".join(pieces))

    def _write(self, data: bytes) -> None:
        out = self._codec.compress(data)
        if out:
            self._target.write(out)

    def close(self) -> None:
        """Finish the compressed stream and fsync it, so a finished file is complete on disk."""
        if self._background is None:
            self._close()
        else:
            self._background.submit(self._close).result()

    def _close(self) -> None:
        tail = self._codec.flush()
        if tail:
            self._target.write(tail)
        if self._zip is not None:
            self._target.close()
            self._zip.close()
        self._raw.sync_and_close()

    def discard(self) -> None:
        """Drop an unfinished file (the export stops or fails)."""
        if self._background is not None:
            try:
                self._background.drain()
            except Exception:  # the failure was already reported by the write that raised it
                pass
        if self._zip is not None:
            try:  # close the member and the archive, or ZipFile's finaliser raises about the open member
                self._target.close()
                self._zip.close()
            except Exception:  # the file is removed below anyway
                pass
        try:
            self._raw.close()
        finally:
            if os.path.exists(self.path):
                os.remove(self.path)

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()


class _HashingSink:
    """Passes bytes to the real file while counting them and feeding the md5."""

    def __init__(self, raw: _PooledFile, owner: CompressedFile) -> None:
        self._raw = raw
        self._owner = owner
        self._position = 0

    def write(self, data: bytes) -> int:
        self._raw.write(data)
        self._owner._md5.update(data)
        self._owner.size += len(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        self._raw.flush()

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        """The owner closes the real file."""
