"""Module names to classes: short names, ``ozzy.*``, full package paths, legacy ``exporters.*``, plugins."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from airflow_provider_ozzy.engine.config import check, load_config
from airflow_provider_ozzy.engine.registry import (
    ALIASES,
    CATALOGUE,
    PACKAGE,
    UnknownModuleError,
    all_modules,
    kind_of,
    resolve,
)
from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from airflow_provider_ozzy.filters.base_filter import BaseFilter
from airflow_provider_ozzy.groupers.file_key_grouper import FileKeyGrouper
from airflow_provider_ozzy.readers.fs_reader import FSReader
from airflow_provider_ozzy.writers.fs_writer import FSWriter
from tests.helpers import read_json_lines, run_ozzy, write_json_lines_gz

ENTRIES = [(kind, name, module) for kind, classes in CATALOGUE.items() for name, module in classes.items()]


@pytest.mark.parametrize(
    ("kind", "class_name", "module_file"), ENTRIES, ids=[f"{k}.{c}" for k, c, _ in ENTRIES]
)
def test_every_catalogued_module_resolves_by_every_name(kind, class_name, module_file):
    cls = resolve(class_name)
    assert cls.__name__ == class_name
    assert cls.__module__ == f"{PACKAGE}.{kind}.{module_file}"
    names = [
        class_name,
        f"ozzy.{kind}.{module_file}.{class_name}",
        f"{PACKAGE}.{kind}.{module_file}.{class_name}",
        f"exporters.{kind}.{module_file}.{class_name}",
        f"exporters.{kind}.{class_name}",  # exporters' package re-exports
    ]
    for name in names:
        assert resolve(name) is cls, name
        assert resolve(name, kind) is cls, name
    assert kind_of(class_name) == kind


def test_resolved_classes_are_pipeline_modules_of_their_kind():
    from airflow_provider_ozzy.engine.registry import base_class

    for kind, class_name, cls in all_modules():
        base = base_class(kind)
        if base is not None:
            assert issubclass(cls, base), f"{class_name} is not a {kind} module"
        assert isinstance(cls.supported_options, dict)
    assert len(all_modules()) == len(ENTRIES)


def test_legacy_exporters_paths_of_an_0_6_18_config():
    assert resolve("exporters.readers.fs_reader.FSReader", "readers") is FSReader
    assert resolve("exporters.writers.fs_writer.FSWriter", "writers") is FSWriter
    assert resolve("exporters.writers.FSWriter", "writers") is FSWriter
    assert resolve("exporters.groupers.file_key_grouper.FileKeyGrouper", "groupers") is FileKeyGrouper
    assert resolve("exporters.decompressors.ZLibDecompressor", "decompressors").__name__ == "ZLibDecompressor"
    assert (
        resolve("exporters.deserializers.JsonLinesDeserializer", "deserializers").__name__
        == "JsonLinesDeserializer"
    )
    assert resolve("exporters.write_buffers.base.WriteBuffer", "write_buffers").__name__ == "WriteBuffer"


def test_old_class_names_are_aliases():
    assert ALIASES["KeyFileGrouper"] == "FileKeyGrouper"
    assert resolve("KeyFileGrouper", "groupers") is FileKeyGrouper
    assert resolve("exporters.groupers.file_key_grouper.KeyFileGrouper", "groupers") is FileKeyGrouper


def test_surrounding_whitespace_is_ignored():
    assert resolve("  FSReader\n", "readers") is FSReader


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_empty_or_non_string_names(name):
    with pytest.raises(UnknownModuleError, match="non-empty string"):
        resolve(name)


def test_unknown_short_name_suggests_close_names():
    with pytest.raises(UnknownModuleError) as raised:
        resolve("FSReder", "readers")
    assert str(raised.value).startswith("unknown readers module 'FSReder'")
    assert "did you mean FSReader" in str(raised.value)


def test_unknown_name_without_close_match_lists_the_kind():
    with pytest.raises(UnknownModuleError) as raised:
        resolve("Zzzzzz", "groupers")
    assert "FileKeyGrouper" in str(raised.value) and "NoGrouper" in str(raised.value)


def test_module_of_another_kind_is_refused():
    with pytest.raises(UnknownModuleError) as raised:
        resolve("FSWriter", "readers")
    message = str(raised.value)
    assert "unknown readers module 'FSWriter'" in message
    assert "writers" in message and "FSReader" in message


@pytest.mark.parametrize(
    "name", ["ozzy.readers.nope.NopeReader", "exporters.readers.made_up_reader.MadeUpReader", "ozzy.Nothing"]
)
def test_unknown_ozzy_and_exporters_names(name):
    with pytest.raises(UnknownModuleError, match="unknown readers module"):
        resolve(name, "readers")


def test_full_package_path_to_a_missing_class():
    with pytest.raises(UnknownModuleError, match="has no class 'Missing'"):
        resolve(f"{PACKAGE}.readers.fs_reader.Missing", "readers")


# -- third-party modules by dotted path --------------------------------------------------------------------


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A tiny third-party package on sys.path; returns its (unique) name."""
    package = f"ozzy_plugin_{abs(hash(str(tmp_path))) % 10**8}"
    folder = tmp_path / "plugins" / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "filters.py").write_text(
        textwrap.dedent(
            """
            from airflow_provider_ozzy.filters.base_filter import BaseFilter

            class EvenFilter(BaseFilter):
                '''Keeps items whose ``field`` is even.'''

                supported_options = {"field": {"type": str, "default": "n"}}

                def filter(self, item):
                    return item[self.options["field"]] % 2 == 0

            class NotAModule:
                pass

            not_a_class = 42
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    yield package
    import sys

    for name in [name for name in sys.modules if name.startswith(package)]:
        del sys.modules[name]


def test_third_party_class_by_dotted_path(plugin):
    cls = resolve(f"{plugin}.filters.EvenFilter", "filters")
    assert cls.__name__ == "EvenFilter" and issubclass(cls, BaseFilter)
    assert cls({"field": "x"}).options == {"field": "x"}


def test_third_party_missing_module_or_class(plugin):
    with pytest.raises(UnknownModuleError, match=f"cannot import module '{plugin}.nothing'"):
        resolve(f"{plugin}.nothing.EvenFilter", "filters")
    with pytest.raises(UnknownModuleError, match="has no class 'Missing'"):
        resolve(f"{plugin}.filters.Missing", "filters")
    with pytest.raises(UnknownModuleError, match="has no class 'not_a_class'"):
        resolve(f"{plugin}.filters.not_a_class", "filters")


def test_third_party_module_in_a_real_export(plugin, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_json_lines_gz("in/items.jl.gz", [{"n": number} for number in range(10)])
    config = {
        "reader": {"name": "FSReader", "options": {"input": "in/items.jl.gz", "batch_size": 3}},
        "filter": {"name": f"{plugin}.filters.EvenFilter"},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/items_"}},
        "persistence": {"name": "PicklePersistence", "options": {"file_path": ".state"}},
    }
    stats = BasicExporter(config).export()
    assert read_json_lines("out/items_0000.jl.gz") == [{"n": number} for number in (0, 2, 4, 6, 8)]
    assert stats["items_filtered"] == 5


def test_third_party_options_and_base_class_are_validated(plugin):
    config = {
        "reader": {"name": "RandomReader"},
        "filter_before": {"name": f"{plugin}.filters.EvenFilter", "options": {"feild": "n"}},
        "filter_after": {"name": f"{plugin}.filters.NotAModule"},
        "writer": {"name": "ConsoleWriter"},
    }
    errors = check(load_config(config))
    assert len(errors) == 2
    assert errors[0].startswith("filter_before (EvenFilter): unknown option 'feild'")
    assert errors[1] == f"filter_after: {plugin}.filters.NotAModule is not a filter module"


def test_modules_command_lists_every_module(tmp_path):
    result = run_ozzy("modules", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert sorted((entry["kind"], entry["name"]) for entry in listing) == sorted(
        (k, c) for k, c, _ in ENTRIES
    )
    writer = next(entry for entry in listing if entry["name"] == "FSWriter")
    assert writer["options"]["filebase"]["mandatory"] is True
    assert writer["options"]["compression"] == {
        "type": "string",
        "mandatory": False,
        "default": "gz",
        "help": "gz, bz2, zip, zstd or none.",
    }
    persistence = next(entry for entry in listing if entry["name"] == "PicklePersistence")
    assert persistence["options"]["file_path"]["env_fallback"] == "OZZY_STATE_DIR"
