"""Each section of a config is resolved once: validation resolves it, the exporter and the bypass
selection use what it resolved (a module's checks run once; the built module holds the values
validation saw)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_ozzy.core.options import Problem
from airflow_provider_ozzy.engine.config import validate
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.writers.fs_writer import FSWriter

CHECKS: list[str] = []


class CountingWriter(FSWriter):
    """A user's writer plugin that records each time its options are checked."""

    @classmethod
    def check_values(cls, values: dict[str, Any]) -> list[Problem]:
        CHECKS.append(values["filebase"])
        return super().check_values(values)


def config(tmp_path: Path) -> dict[str, Any]:
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.jl").write_text('{"n": 1}\n')
    return {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(source)}}},
        "writer": {
            "name": f"{__name__}.CountingWriter",
            "options": {"filebase": str(tmp_path / "out/items_")},
        },
        "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
    }


def test_an_export_checks_each_section_once(tmp_path: Path) -> None:
    CHECKS.clear()
    exporter = BasicExporter(config(tmp_path))
    stats = exporter.export()
    assert stats["items_written"] == 1
    assert CHECKS == [str(tmp_path / "out/items_")]  # validation only: building and bypass selection reuse it


def test_the_job_holds_every_section_with_its_class_and_values(tmp_path: Path) -> None:
    job = validate(dict(config(tmp_path), filter={"name": "NoFilter"})).job
    assert job is not None
    assert job.sections["writer"].cls is CountingWriter
    assert job.sections["writer"].options["filebase"] == str(tmp_path / "out/items_")
    assert job.sections["filter_before"].cls.__name__ == "NoFilter"  # exporters' `filter`
    assert job.sections["formatter"].cls.__name__ == "JsonExportFormatter"  # the default one
    assert job.exporter_options["formatter"] == {"name": "JsonExportFormatter"}
    built = job.sections["writer"].build()
    assert isinstance(built, CountingWriter) and built.options == job.sections["writer"].options
