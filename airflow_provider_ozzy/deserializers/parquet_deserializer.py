"""Parquet input for the stream readers (FSReader, S3Reader, GStorageReader, ...), through pyarrow.

Parquet is read from its footer, so it needs random access: each stream is spooled to a temporary
file (streams are read once, in chunks, whatever the reader), then read row group by row group, so
memory holds one batch of rows, not the file. The reader's position is the stream and the number of
rows already delivered; a resume skips whole row groups by their row counts without reading them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from airflow_provider_ozzy.core.errors import ReaderError
from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.deserializers.stream_deserializers import BaseDeserializer

INSTALL_HINT = "pip install 'airflow-provider-ozzy[parquet]'"


class ParquetDeserializer(BaseDeserializer):
    """Rows of Parquet files as items: structs become objects, lists lists, nulls ``None``."""

    requires = ("pyarrow",)
    supported_options = {
        "batch_rows": {
            "type": int,
            "minimum": 1,
            "maximum": 1_000_000,
            "default": 5000,
            "help": "Rows converted to items at a time.",
        },
        "spool_dir": {
            "type": (str, type(None)),
            "default": None,
            "help": "Folder for the temporary copy of each stream (default: the temporary folder).",
        },
    }

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        import importlib.util

        problems = []
        if values["batch_rows"] <= 0:
            problems.append(Problem("batch_rows", "option 'batch_rows' must be positive"))
        if importlib.util.find_spec("pyarrow") is None:
            problems.append(Problem(None, f"reading Parquet needs pyarrow: {INSTALL_HINT}"))
        return problems

    def batches(self, chunks: Iterable[bytes], name: str, skip: int = 0) -> Iterator[list[dict[str, Any]]]:
        handle, path = tempfile.mkstemp(
            prefix="ozzy-parquet-", suffix=".parquet", dir=self.options["spool_dir"]
        )
        try:
            with os.fdopen(handle, "wb") as spool:
                for chunk in chunks:
                    spool.write(chunk)
            yield from self._rows(path, name, skip)
        finally:
            os.remove(path)

    def _rows(self, path: str, name: str, skip: int) -> Iterator[list[dict[str, Any]]]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            raise ReaderError(f"{name}: not a Parquet file ({error})") from None
        with parquet:
            metadata = parquet.metadata
            for group in range(metadata.num_row_groups):
                rows = metadata.row_group(group).num_rows
                if skip >= rows:  # delivered before the resume: not even read
                    skip -= rows
                    continue
                try:
                    for batch in parquet.iter_batches(
                        batch_size=self.options["batch_rows"], row_groups=[group], use_threads=False
                    ):
                        if skip >= batch.num_rows:
                            skip -= batch.num_rows
                            continue
                        if skip:
                            batch = batch.slice(skip)
                            skip = 0
                        yield batch.to_pylist()
                except pa.ArrowException as error:
                    raise ReaderError(f"{name}: row group {group} cannot be read ({error})") from None
