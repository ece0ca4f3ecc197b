"""Retries of transient errors (with a real flaky data source) and the progress display."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, BinaryIO

import pytest

import airflow_provider_ozzy.core.retries as retries_module
from airflow_provider_ozzy.core.progress import ProgressPrinter, describe
from airflow_provider_ozzy.core.retries import call_with_retries, is_transient
from airflow_provider_ozzy.errors import ReaderError
from airflow_provider_ozzy.readers.base_stream_reader import Stream, StreamBasedReader


class _FlakyStream(io.RawIOBase):
    """Serves ``data`` but drops the connection once after ``fail_after`` bytes."""

    def __init__(self, data: bytes, fail_after: int | None) -> None:
        self._data = data
        self._position = 0
        self._fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._fail_after is not None and self._position >= self._fail_after:
            raise ConnectionResetError(104, "Connection reset by peer")
        end = len(self._data) if self._fail_after is None else min(len(self._data), self._fail_after)
        size = min(len(buffer), end - self._position, 100)
        buffer[:size] = self._data[self._position : self._position + size]
        self._position += size
        return size


class FlakySource(StreamBasedReader):
    """A stream reader whose first connection breaks mid-stream, like a dropped HTTP download."""

    opened = 0

    def get_read_streams(self) -> list[Stream]:
        return [Stream("flaky://items.jl", None)]

    def open_stream(self, stream: Stream) -> BinaryIO:
        FlakySource.opened += 1
        lines = b"".join(b'{"n": %d}\n' % n for n in range(50))
        return _FlakyStream(lines, 333 if FlakySource.opened == 1 else None)  # type: ignore[return-value]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZZY_RETRY_MAX_WAIT", "0.01")  # the documented override: waits of 10 ms at most


def test_a_dropped_connection_is_retried_and_the_stream_resumes_after_the_last_delivered_item() -> None:
    FlakySource.opened = 0
    reader = FlakySource({"batch_size": 7})
    reader.open(None)
    items = []
    while not reader.is_finished():
        items.extend(reader.get_next_batch())
    assert [item["n"] for item in items] == list(range(50))
    assert FlakySource.opened == 2


def test_permanent_errors_are_not_retried() -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        raise ReaderError("bad data")

    with pytest.raises(ReaderError):
        call_with_retries(broken)
    assert calls == [1]


def test_transient_errors_are_retried_until_success() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("slow server")
        return "ok"

    assert call_with_retries(flaky) == "ok"
    assert len(calls) == 3


def test_retries_stop_after_the_attempt_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def down() -> None:
        calls.append(1)
        raise ConnectionRefusedError(111, "refused")

    with pytest.raises(ConnectionRefusedError):
        retries_module.retrying(attempts=4)(down)
    assert len(calls) == 4
    monkeypatch.setenv("OZZY_DISABLE_RETRIES", "1")
    calls.clear()
    with pytest.raises(ConnectionRefusedError):
        retries_module.retrying(attempts=4)(down)
    assert len(calls) == 1


class _HttpError(Exception):
    def __init__(self, status: int) -> None:
        self.status_code = status


@pytest.mark.parametrize(
    ("error", "transient"),
    [(_HttpError(503), True), (_HttpError(429), True), (_HttpError(404), False), (ValueError("x"), False)],
)
def test_http_status_classification(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_draws_a_bar_with_rate_and_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    screen = _Terminal()
    printer = ProgressPrinter(screen, interval=0)
    printer({"items_read": 500, "items_written": 400, "elapsed_seconds": 5.0, "fraction": 0.5})
    printer(
        {"items_read": 1000, "items_written": 1000, "elapsed_seconds": 10.0, "fraction": 1.0, "done": True}
    )
    text = screen.getvalue()
    assert "\r[###############---------------] 500 read, 400 written, 100/s, 50%, ETA 0:00:05 " in text
    assert text.endswith("\n")
    assert all(len(drawn) == 119 for drawn in text.rstrip("\n").split("\r")[1:])


def test_progress_elsewhere_is_throttled_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    printer = ProgressPrinter(io.StringIO(), interval=3600)
    with caplog.at_level("INFO", logger="airflow_provider_ozzy.progress"):
        for count in range(1, 50):
            printer({"items_read": count, "elapsed_seconds": 1.0})
        logging.getLogger("tests.noise").warning("another logger, as a client's thread would")
        printer({"items_read": 50, "elapsed_seconds": 1.0, "done": True})
    # other threads of this worker (a Kafka client left by an earlier test) log to the same root
    lines = [r.getMessage() for r in caplog.records if r.name == "airflow_provider_ozzy.progress"]
    assert len(lines) == 2
    assert lines[-1].startswith("Progress: 50 items read")


def test_describe_without_a_known_total_has_no_eta() -> None:
    assert describe({"items_read": 10, "elapsed_seconds": 2.0}) == "10 items read, 0 written, 5 items/s"


def test_a_log_record_ends_the_bar_line_once_and_close_restores_logging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    screen = _Terminal()
    original = logging.getLogRecordFactory()
    printer = ProgressPrinter(screen, interval=0)
    printer.keep_logs_apart()
    try:
        printer({"items_read": 500, "items_written": 400, "elapsed_seconds": 5.0, "fraction": 0.5})
        assert "\n" not in screen.getvalue()
        logging.getLogger("tests.progress").warning("a log line")
        logging.getLogger("tests.progress").warning("another")
        assert screen.getvalue().count("\n") == 1 and screen.getvalue().endswith("\n")
    finally:
        printer.close()
    assert logging.getLogRecordFactory() is original
    printer({"items_read": 600, "items_written": 600, "elapsed_seconds": 6.0, "fraction": 0.6})
    logging.getLogger("tests.progress").warning("after close")
    assert screen.getvalue().count("\n") == 1, "closed: log records leave the bar alone"


def test_an_export_leaves_no_retry_budget_behind_in_its_thread(tmp_path: Path) -> None:
    """One export tried once (``disable_retries``); code that runs after it in the same thread,
    another export included, keeps the default budget."""
    from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter

    config = {
        "reader": {"name": "RandomReader", "options": {"number_of_items": 3}},
        "writer": {"name": "FSWriter", "options": {"filebase": str(tmp_path / "out" / "x_")}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
        "exporter_options": {"disable_retries": True},
    }
    exporter = BasicExporter(config)
    assert retries_module.current_policy() == retries_module.RetryPolicy()
    exporter.export()
    assert retries_module.current_policy() == retries_module.RetryPolicy()
