"""The partition split behind Kafka shards: disjoint, complete, deterministic, balanced."""

from __future__ import annotations

import pytest

from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.sharding.kafka_shards import split_partitions


@pytest.mark.parametrize(
    "partitions", [list(range(1)), list(range(4)), list(range(7)), [9, 3, 5, 1], list(range(64))]
)
@pytest.mark.parametrize("count", [1, 2, 3, 4, 8])
def test_shards_are_disjoint_complete_and_balanced(partitions: list[int], count: int) -> None:
    shards = split_partitions(partitions, count)
    flat = [p for shard in shards for p in shard]
    assert sorted(flat) == sorted(partitions) and len(flat) == len(set(flat))
    assert len(shards) == min(count, len(partitions))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert all(shard == sorted(shard) for shard in shards)


def test_split_is_deterministic_whatever_the_input_order() -> None:
    assert split_partitions([4, 0, 3, 1, 2], 2) == [[0, 2, 4], [1, 3]]
    assert split_partitions([0, 1, 2, 3, 4], 2) == [[0, 2, 4], [1, 3]]
    assert split_partitions([2, 2, 0], 3) == [[0], [2]]


def test_no_shard_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="at least 1"):
        split_partitions([0, 1], 0)
