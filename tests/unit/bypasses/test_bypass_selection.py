"""Which configurations may bypass the item pipeline (no network: configs only)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_ozzy.bypasses.base_bypass import (
    BaseBypass,
    bypass_classes,
    choose_bypass,
    copied_name_problem,
    formatter_of,
)
from airflow_provider_ozzy.bypasses.s3_bypass import DoneSet, S3Bypass
from airflow_provider_ozzy.engine.config import ResolvedJob, validate
from airflow_provider_ozzy.export_formatter.json_export_formatter import JsonExportFormatter


def resolved(config: dict[str, Any]) -> ResolvedJob:
    """The job the exporter selects its bypass from: the config validated, each section resolved once."""
    job = validate(config).job
    assert job is not None
    return job


def s3_to_s3(**changes: Any) -> ResolvedJob:
    writer = {"bucket": "dst", "filebase": "out/items_", **changes.pop("writer", {})}
    config = {
        "reader": {"name": "S3Reader", "options": {"bucket": "src", "prefix": "in/"}},
        "writer": {"name": "S3Writer", "options": writer},
        **changes,
    }
    return resolved(config)


def test_an_s3_to_s3_copy_that_changes_nothing_is_bypassed():
    assert choose_bypass(s3_to_s3(), prevent=False, state=None) is S3Bypass
    assert S3Bypass.meets_conditions(s3_to_s3(writer={"compression": "bz2", "check_consistency": True}))
    assert S3Bypass.meets_conditions(s3_to_s3(decompressor={"name": "GzipDecompressor"}))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"filter": {"name": "KeyValueFilter", "options": {"keys": [{"name": "a", "value": 1}]}}},
            "filter_before",
        ),
        (
            {"filter_after": {"name": "PythonexpFilter", "options": {"python_expression": "True"}}},
            "filter_after",
        ),
        ({"transform": {"name": "JqTransform", "options": {"jq_filter": "."}}}, "transform"),
        ({"grouper": {"name": "FileKeyGrouper", "options": {"keys": ["a"]}}}, "grouper"),
        ({"writer": {"items_limit": 10}}, "items_limit"),
        ({"writer": {"items_per_buffer_write": 10}}, "items_per_buffer_write"),
        ({"writer": {"size_per_buffer_write": 10}}, "size_per_buffer_write"),
        ({"writer": {"generate_md5": True}}, "generate_md5"),
        (
            {
                "writer": {
                    "write_buffer": "ReservoirSamplingWriteBuffer",
                    "write_buffer_options": {"sample_size": 3},
                }
            },
            "write buffer",
        ),
        ({"writer": {"compression": "zip"}}, "zip"),
        ({"writer": {"compression": "none"}}, "NoDecompressor"),
        ({"writer": {"filebase": "out/{groups[0]}/x_"}}, "groups"),
        (
            {"exporter_options": {"formatter": {"name": "CSVExportFormatter", "options": {"fields": ["a"]}}}},
            "csv",
        ),
        (
            {
                "exporter_options": {
                    "formatter": {"name": "JsonExportFormatter", "options": {"jsonlines": False}}
                }
            },
            "json",
        ),
        (
            {
                "exporter_options": {
                    "formatter": {"name": "JsonExportFormatter", "options": {"pretty_print": True}}
                }
            },
            "pretty_print",
        ),
        ({"deserializer": {"name": "CSVDeserializer"}}, "CSVDeserializer"),
        ({"decompressor": {"name": "Bz2Decompressor"}}, "Bz2Decompressor"),
        (
            {
                "writer": {"host": "http://a:1"},
                "reader": {"name": "S3Reader", "options": {"bucket": "s", "host": "http://b:2"}},
            },
            "endpoints",
        ),
    ],
)
def test_anything_that_could_change_the_output_keeps_the_pipeline(changes, reason):
    config = s3_to_s3(**changes)
    reasons = S3Bypass.reasons_against(config)
    assert any(reason in each for each in reasons), reasons
    assert choose_bypass(config, prevent=False, state=None) is None


def test_uncompressed_output_is_bypassed_only_when_bytes_pass_unchanged():
    config = s3_to_s3(writer={"compression": "none"}, decompressor={"name": "NoDecompressor"})
    assert choose_bypass(config, prevent=False, state=None) is S3Bypass


def test_prevent_bypass_and_resumed_jobs():
    config = s3_to_s3()
    assert choose_bypass(config, prevent=True, state=None) is None
    # a job that started in the pipeline resumes there; a bypassed one resumes bypassed
    assert choose_bypass(config, prevent=False, state={"reader": {}, "writer": {}}) is None
    assert (
        choose_bypass(config, prevent=False, state={"bypass": {"name": "S3Bypass", "state": {}}}) is S3Bypass
    )


def test_other_readers_and_writers_are_not_handled():
    config = resolved(
        {
            "reader": {"name": "FSReader", "options": {"input": "x"}},
            "writer": {"name": "S3Writer", "options": {"bucket": "b", "filebase": "x_"}},
        }
    )
    assert not S3Bypass.handles(config)
    assert choose_bypass(config, prevent=False, state=None) is None


def test_bypasses_are_tried_in_priority_order():
    classes = bypass_classes()
    assert S3Bypass in classes and all(issubclass(cls, BaseBypass) for cls in classes)
    assert [cls.priority for cls in classes] == sorted(cls.priority for cls in classes)


@pytest.mark.parametrize(
    ("name", "compression", "fine"),
    [
        ("a/x.jl.gz", "gz", True),
        ("a/x.jsonl.gz", "gz", True),
        ("a/x.jl.gz", "bz2", False),
        ("a/x.json.gz", "gz", False),
        ("a/x.gz", "gz", False),
        ("a/x.jl", "none", True),
        ("a/x.jl.gz", "none", False),
        ("a/x.jl.zst", "zstd", True),
        ("a/x.csv.gz", "gz", False),
    ],
)
def test_object_names_must_show_the_output_format_and_compression(name, compression, fine):
    problem = copied_name_problem(name, JsonExportFormatter(), compression)
    assert (problem is None) is fine, problem


def test_formatter_of_a_config_defaults_to_json_lines():
    assert formatter_of(s3_to_s3()).file_extension == "jl"


def test_done_set_is_small_whatever_the_completion_order():
    done = DoneSet(None)
    for index in [2, 0, 5, 1, 3]:
        done.add(index)
    assert done.state() == {"done_below": 4, "done_above": [5]}
    assert len(done) == 5 and 4 not in done and 5 in done and 0 in done
    again = DoneSet(done.state())
    assert list(again) == [0, 1, 2, 3, 5]
