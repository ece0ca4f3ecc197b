"""Which JSON lines are read a second time for integers beyond 64 bits (orjson makes them floats)."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.deserializers.stream_deserializers import _LONG_DIGITS, loads_exact

BIG = [b'{"a": 123456789012345678901234567890}', b"[-9223372036854775809]", b'{"x":18446744073709551616}']
FLOATS = [
    b'{"score": 0.0071908389850935395}',
    b'{"x": 1.1234567890123456789012}',
    b'{"x": [-0.00000000000000000001]}',
]


@pytest.mark.parametrize("line", BIG)
def test_integers_beyond_64_bits_are_found_and_stay_exact(line: bytes) -> None:
    assert _LONG_DIGITS.search(line)
    assert "e" not in repr(loads_exact(line)) and "." not in repr(loads_exact(line))


@pytest.mark.parametrize("line", FLOATS)
def test_long_fractions_are_not_taken_for_big_integers(line: bytes) -> None:
    """Random floats have 19-digit fractions: they must not send a chunk to the slow line-by-line parse."""
    assert _LONG_DIGITS.search(line) is None
