"""Random configurations: validation either accepts them or says clearly what is wrong.

Structured configs are built from the real section names, module names and option names of the
catalogue (so validation gets past the first unknown name and reaches the option checks), with
values of every JSON shape; raw configs are random YAML/JSON text. The only allowed outcomes of
``validate``/``check`` are success or a ``ConfigurationError`` whose every line names its section
(and, in files, the file); ``ozzy validate`` exits 0 or 2 and never prints a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from airflow_provider_ozzy.cli import main
from airflow_provider_ozzy.core.options import merged_options
from airflow_provider_ozzy.engine.config import TOP_LEVEL_KEYS, check, load_config, validate
from airflow_provider_ozzy.engine.registry import CATALOGUE, SECTION_KINDS, resolve
from airflow_provider_ozzy.errors import ConfigurationError
from tests.property.inputs import tried


def _catalogue_options() -> dict[str, list[str]]:
    """Option names of every module, by class name."""
    names: dict[str, list[str]] = {}
    for kind, classes in CATALOGUE.items():
        for class_name in classes:
            try:
                names[class_name] = sorted(merged_options(resolve(class_name, kind)))
            except ImportError:  # a module whose optional dependency is missing
                names[class_name] = []
    return names


OPTIONS = _catalogue_options()
MODULES_BY_KIND = {kind: sorted(classes) for kind, classes in CATALOGUE.items()}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", ".", "..", "/", "%Y", "{groups[0]}", "{{ ds }}", "gz", "a" * 300, "\x00"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=10) | st.sampled_from(["name", "options", "dir", "file"]), children, max_size=4
        )
    ),
    max_leaves=12,
)


@st.composite
def module_sections(draw: st.DrawFn, kind: str) -> Any:
    """A section for a module of ``kind``: usually well-shaped, with real and random option names."""
    shape = draw(st.integers(0, 9))
    if shape == 0:
        return draw(json_values)
    name = draw(
        st.sampled_from(_module_names(kind))
        | st.text(max_size=20)
        | st.sampled_from(
            [
                "exporters.readers.fs_reader.FSReader",
                "ozzy.writers.fs_writer.FSWriter",
                "os.system",
                ".",
                "..x",
                "a..b",
                "x.",
            ]
        )
    )
    known = OPTIONS.get(str(name), [])
    option_names = st.sampled_from(known) | st.text(max_size=12) if known else st.text(max_size=12)
    options = draw(st.dictionaries(option_names, json_values, max_size=6) | json_values)
    section: dict[str, Any] = {"name": name, "options": options}
    if draw(st.integers(0, 9)) == 0:
        section[draw(st.text(max_size=8))] = draw(json_values)
    if draw(st.integers(0, 9)) == 0:
        del section[draw(st.sampled_from(["name", "options"]))]
    return section


def _module_names(kind: str) -> list[str]:
    return MODULES_BY_KIND.get(kind) or sorted(OPTIONS)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from(TOP_LEVEL_KEYS), max_size=len(TOP_LEVEL_KEYS), unique=True)):
        if section == "exporter_options":
            config[section] = draw(exporter_options())
        else:
            config[section] = draw(module_sections(SECTION_KINDS[section]))
    if draw(st.integers(0, 5)) == 0:
        config[draw(st.text(max_size=10))] = draw(json_values)
    return config


@st.composite
def exporter_options(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    names = st.sampled_from(
        [
            "formatter",
            "notifications",
            "resume",
            "persistence_state_id",
            "log_level",
            "prevent_bypass",
            "disable_retries",
            "threaded",
            "thread_queue_size",
            "forced_reads",
            "logger_name",
        ]
    ) | st.text(max_size=10)
    values = draw(st.dictionaries(names, json_values, max_size=5))
    if draw(st.booleans()):
        values["formatter"] = draw(module_sections("export_formatter"))
    if draw(st.integers(0, 3)) == 0:
        values["notifications"] = draw(st.lists(module_sections("notifications"), max_size=2))
    return values


def _assert_clear(error: ConfigurationError, config: dict[str, Any] | None, source: str | None) -> None:
    assert error.errors, f"a ConfigurationError without any message: {error!r}"
    places = [*TOP_LEVEL_KEYS, *(str(key) for key in config)] if isinstance(config, dict) else []
    for line in error.errors:
        assert "Traceback" not in line, line
        if source is not None:
            assert source in line, f"an error of a config file must name the file: {line}"
        elif places:
            assert any(place in line for place in places), f"the error names no section of the config: {line}"


@given(configs())
@example({"reader": {"name": "."}})  # found: ValueError from importlib
@example({"exporter_options": {"notifications": True}})  # found: TypeError, bool not iterable
def test_random_structured_configs_validate_or_fail_clearly(config: dict[str, Any]) -> None:
    tried("structured configs (validate)")
    try:
        validate(config)
    except ConfigurationError as error:
        _assert_clear(error, config, None)


@given(configs())
def test_random_configs_from_files_name_the_file(config: dict[str, Any]) -> None:
    tried("structured configs as JSON files (load + check)")
    text = json.dumps(config, default=str, allow_nan=True)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "job.json")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            loaded = load_config(path)
            errors = check(loaded)
        except ConfigurationError as error:
            _assert_clear(error, None, path)
            return
        for line in errors:
            assert line.startswith(path), f"an error of a config file must start with file:line: {line}"


yaml_fragments = st.sampled_from(
    [
        "reader:",
        "writer:",
        "  name: FSReader",
        "  name: FSWriter",
        "  options:",
        "    input: in/",
        "    filebase: out/x_",
        "- a",
        "- {",
        "}",
        "]",
        "[",
        "&a",
        "*a",
        "!!python/object:os.system",
        "? x",
        ": y",
        "'",
        '"',
        "\t",
        "exporter_options:",
        "  formatter: {name: CSVExportFormatter}",
        "---",
        "...",
        "%YAML 1.2",
        "!!binary AAAA",
        "<<: *a",
        "{{ ds }}",
        "\\u0000",
        "reader: &r {name: FSReader}",
        "writer: *r",
        "a: !!set {b}",
        "x: 1e999",
        "x: .nan",
        "\ufeff",
        "\x00",
    ]
)


@given(st.lists(yaml_fragments | st.text(max_size=20), max_size=12).map("\n".join) | st.binary(max_size=200))
@example("reader: &r {name: FSReader, options: {input: *r}}\nwriter: &w [*w]")  # found: RecursionError
def test_random_yaml_text_loads_or_fails_clearly(text: str | bytes) -> None:
    tried("raw YAML/JSON text and bytes (load + validate)")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "job.yaml")
        with open(path, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            validate(path)
        except ConfigurationError as error:
            _assert_clear(error, None, path)


@pytest.mark.parametrize("extension", [".yaml", ".json"])
@given(text=st.lists(yaml_fragments, min_size=1, max_size=8).map("\n".join))
def test_ozzy_validate_exits_0_or_2_without_a_traceback(extension: str, text: str) -> None:
    tried("ozzy validate on random files")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "job" + extension)
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as handle:
            handle.write(text)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", path])
    assert code in (0, 2), (code, err.getvalue())
    assert "Traceback" not in err.getvalue() + out.getvalue()
    if code == 2:
        assert path in err.getvalue(), err.getvalue()
