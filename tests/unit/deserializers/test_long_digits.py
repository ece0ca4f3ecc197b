"""Which JSON lines are read a second time for integers beyond 64 bits (orjson makes them floats)."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.deserializers.stream_deserializers import loads_exact, long_integer_in

BIG = [b'{"a": 123456789012345678901234567890}', b"[-9223372036854775809]", b'{"x":18446744073709551616}']
FLOATS = [
    b'{"score": 0.0071908389850935395}',
    b'{"x": 1.1234567890123456789012}',
    b'{"x": [-0.00000000000000000001]}',
    b'{"x": 0.' + b"7" * 60 + b"}",
]


@pytest.mark.parametrize("line", BIG)
def test_integers_beyond_64_bits_are_found_and_stay_exact(line: bytes) -> None:
    assert long_integer_in(line)
    assert "e" not in repr(loads_exact(line)) and "." not in repr(loads_exact(line))


@pytest.mark.parametrize("line", FLOATS)
def test_long_fractions_are_not_taken_for_big_integers(line: bytes) -> None:
    """Random floats have 19-digit fractions: they must not send a chunk to the slow line-by-line parse."""
    assert not long_integer_in(line)
    assert isinstance(loads_exact(line), dict)


def test_a_big_integer_after_long_fractions_in_one_chunk_is_found() -> None:
    chunk = b"\n".join([*FLOATS, b'{"id": 12345678901234567890}', *FLOATS])
    assert long_integer_in(chunk)
    assert not long_integer_in(chunk, chunk.index(b'{"id"'))  # only what comes before ``end``


def test_a_chunk_of_long_fractions_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One orjson call per line: the line-by-line parse would call it twice for every line."""
    import orjson

    from airflow_provider_ozzy.deserializers.stream_deserializers import JsonLinesDeserializer

    lines = [b'{"n": %d, "score": 0.00%d71908389850935395}' % (n, n) for n in range(1000)]
    calls = []
    real_loads = orjson.loads
    monkeypatch.setattr(orjson, "loads", lambda data: calls.append(1) or real_loads(data))
    batches = list(JsonLinesDeserializer({}).batches([b"\n".join(lines) + b"\n"], "items.jl"))
    assert [item["n"] for batch in batches for item in batch] == list(range(1000))
    assert len(calls) == len(lines)
