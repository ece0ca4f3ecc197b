"""Reading a finished buffer file back line by line, for writers that send items, not files."""

from __future__ import annotations

from collections.abc import Iterator


def buffer_file_lines(path: str, compression: str) -> Iterator[bytes]:
    """The non-empty lines of a finished buffer file, decompressed as it was compressed."""
    from airflow_provider_ozzy.decompressors import stream_decompressors as codecs

    decompressor = {
        "gz": codecs.GzipDecompressor,
        "bz2": codecs.Bz2Decompressor,
        "zip": codecs.ZipDecompressor,
        "zstd": codecs.ZstdDecompressor,
        "none": codecs.NoDecompressor,
    }[compression]({})
    rest = b""
    with open(path, "rb") as raw:
        for chunk in decompressor.chunks(raw, path):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield from (line for line in lines if line.strip())
    if rest.strip():
        yield rest
