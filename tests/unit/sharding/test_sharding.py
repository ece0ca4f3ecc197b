"""Shard planning, per-shard configs and the shard check, on real files and real Ozzy exports."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_ozzy.core.filebase import Filebase
from airflow_provider_ozzy.errors import ConfigurationError
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.operators.ozzy_export import _shard_report
from airflow_provider_ozzy.sharding.check import ShardCheckError, check_shards, write_manifest
from airflow_provider_ozzy.sharding.planning import apply_shard, assign, plan_shards, sharding_problems
from tests.helpers import read_json_lines, resumable_job


def _inputs(folder: Path, files: int, per_file: int) -> list[int]:
    folder.mkdir(parents=True)
    ids = []
    for part in range(files):
        count = per_file * (1 + part % 3)
        first = len(ids)
        ids.extend(range(first, first + count))
        lines = "".join(json.dumps({"id": n}) + "\n" for n in range(first, first + count))
        (folder / f"part-{part:02d}.jl.gz").write_bytes(gzip.compress(lines.encode()))
    return ids


def _config(tmp_path: Path, **writer: Any) -> dict[str, Any]:
    reader = {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "in")}, "batch_size": 100}}
    return resumable_job(tmp_path, reader, file_name="items_", items_per_buffer_write=150, **writer)


def _run_shard(config: dict[str, Any], shard: dict[str, Any]) -> dict[str, Any]:
    """One shard through the exporter, reported as OzzyExportOperator reports it (its own function)."""
    exporter = BasicExporter(apply_shard(config, shard), auto_resume=True)
    stats = exporter.export()
    stats["shard"] = _shard_report(shard, exporter.writer)
    return stats


def test_assignment_is_deterministic_balanced_and_complete() -> None:
    units = [(f"key-{n:03d}", random.Random(n).randint(1, 1000)) for n in range(101)]
    shards = assign(units, 8)
    shuffled = units[:]
    random.Random(7).shuffle(shuffled)
    assert assign(shuffled, 8) == shards  # listing order does not matter
    assert sorted(unit for shard in shards for unit in shard) == sorted(units)
    assert all(shard == sorted(shard) for shard in shards)
    loads = [sum(size for _, size in shard) for shard in shards]
    assert max(loads) - min(loads) <= max(size for _, size in units)
    # unknown sizes: spread by count
    assert [len(shard) for shard in assign([(f"k{n}", None) for n in range(10)], 4)] == [3, 3, 2, 2]


def test_more_shards_than_units_gives_empty_shards_and_zero_is_refused() -> None:
    assert assign([("a", 1)], 3) == [[("a", 1)], [], []]
    with pytest.raises(ConfigurationError, match="at least 1"):
        assign([("a", 1)], 0)


def test_shard_file_names_never_collide() -> None:
    assert Filebase.sharded("out/items_", 3, 8) == "out/items_shard003_"
    assert (
        Filebase.sharded("out/{groups[0]}/x_{file_number}.part", 12, 20)
        == "out/{groups[0]}/x_shard012_{file_number}.part"
    )
    assert Filebase.sharded("items_", 5, 1500) == "items_shard0005_"
    names = {Filebase.sharded("out/%Y/items_", index, 64) for index in range(64)}
    assert len(names) == 64


def test_apply_shard_overrides_reader_names_and_state_id(tmp_path: Path) -> None:
    config = _config(tmp_path)
    shard = {"index": 2, "count": 4, "units": ["a"], "reader_options": {"input": [{"file": "a"}]}}
    sharded = apply_shard(config, shard)
    assert sharded["reader"]["options"] == {"input": [{"file": "a"}], "batch_size": 100}
    assert sharded["writer"]["options"]["filebase"].endswith("items_shard002_")
    assert sharded["exporter_options"]["persistence_state_id"] == "job/shard-2"
    assert config["reader"]["options"]["input"] == {"dir": str(tmp_path / "in")}  # untouched
    with pytest.raises(ConfigurationError, match="lacks reader_options"):
        apply_shard(config, {"index": 0, "count": 1})


def test_unshardable_configs_are_refused_before_anything_is_read(tmp_path: Path) -> None:
    random_reader = {"reader": {"name": "RandomReader", "options": {}}, "writer": {"name": "ConsoleWriter"}}
    assert any("RandomReader cannot be split" in problem for problem in sharding_problems(random_reader))
    problems = sharding_problems(_config(tmp_path, generate_md5=True))
    assert problems and "FSWriter: option 'generate_md5'" in problems[0]
    with pytest.raises(ConfigurationError, match="RandomReader"):
        plan_shards(random_reader, 2)


def test_shards_together_export_every_item_once_and_the_check_writes_a_manifest(tmp_path: Path) -> None:
    ids = _inputs(tmp_path / "in", files=10, per_file=100)
    config = _config(tmp_path)
    plan = plan_shards(config, 4)
    assert plan == plan_shards(config, 4)  # the same listing gives the same plan
    assert sorted(unit for shard in plan for unit in shard["units"]) == sorted(
        str(path) for path in (tmp_path / "in").iterdir()
    )
    assert [shard["index"] for shard in plan] == [0, 1, 2, 3]
    results = [_run_shard(config, shard) for shard in plan]
    out = sorted((tmp_path / "out").iterdir())
    written = [item["id"] for path in out for item in read_json_lines(path)]
    assert sorted(written) == ids
    assert all(path.name.startswith("items_shard00") for path in out)

    manifest = check_shards(plan, results)
    assert manifest["items_read"] == manifest["items_written"] == len(ids)
    assert sorted(entry["name"] for entry in manifest["files"]) == [str(path) for path in out]
    assert {entry["shard"] for entry in manifest["files"]} == {0, 1, 2, 3}
    path = write_manifest(manifest)
    assert path == str(tmp_path / "out" / "ozzy-manifest.json")
    assert json.loads(Path(path).read_text())["files_written"] == len(out)


def test_the_check_names_missing_and_inconsistent_shards(tmp_path: Path) -> None:
    _inputs(tmp_path / "in", files=4, per_file=50)
    config = _config(tmp_path)
    plan = plan_shards(config, 3)
    results = [_run_shard(config, shard) for shard in plan]
    with pytest.raises(ShardCheckError, match=r"shard\(s\) 1 of 3 reported nothing"):
        check_shards(plan, [results[0], results[2]])
    wrong = dict(results[0], items_written=results[0]["items_written"] - 1)
    with pytest.raises(ShardCheckError, match="shard 0: read .* but wrote"):
        check_shards(plan, [wrong, *results[1:]])
    extra = Path(results[2]["shard"]["filebase"] + "9999.jl.gz")
    extra.write_bytes(b"")
    with pytest.raises(ShardCheckError, match="shard 2: .* file\\(s\\) at the destination"):
        check_shards(plan, results)


def test_filebase_regex_matches_only_the_shards_names() -> None:
    pattern = Filebase("out/{groups[0]}/items_shard001_").regex()
    assert pattern.match("out/es/items_shard001_0000.jl.gz")
    assert not pattern.match("out/es/items_shard0010_0000.jl.gz")
    assert not pattern.match("out/es/sub/items_shard001_0000.jl.gz")
