"""Bad input: broken configs and broken data files give one clear, located error and a non-zero exit.

* Configs (``tests/corpus/configs``, expectations in ``expected.yaml``): ``ozzy validate`` and
  ``ozzy run`` exit 2, list every problem with ``file:line``, section, module and option, print no
  traceback, and create nothing (no output folder, no job state): a bad config fails before any
  data moves.
* Data files (generated here): ``ozzy run`` of FSReader -> FSWriter exits 1 with one message naming
  the reader, the file and, for line-level problems, the line; no traceback; no output file at
  all and no buffer file left behind. What may be at the destination when good input came
  before the damage: see ``test_good_file_then_broken_file``.

Most cases call ``airflow_provider_ozzy.cli.main`` in-process (fast); a few run the real command.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import shutil
import signal
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_ozzy.cli import main
from tests.helpers import output_files, read_json_lines, run_ozzy, write_config, write_json_lines_gz

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "configs"
EXPECTED: dict[str, list[str]] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
CONFIGS = sorted(path.name for path in CORPUS.iterdir() if path.name != "expected.yaml")


# -- helpers ----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _keep_signal_handlers():
    """``ozzy run`` in-process installs SIGINT/SIGTERM handlers; put pytest's back afterwards."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private system temporary folder, to see that no buffer file is left behind."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def ozzy(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process; an exception escaping ``main`` (a traceback) fails the test."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def tree(folder: Path) -> set[str]:
    """Every path under ``folder``, dot files included."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def json_lines(count: int, start: int = 1) -> list[bytes]:
    return [
        json.dumps({"n": number, "text": f"item {number}"}).encode() for number in range(start, start + count)
    ]


def joined(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def with_line(count: int, number: int, bad: bytes) -> bytes:
    """``count`` JSON lines whose line ``number`` is replaced by ``bad``."""
    lines = json_lines(count)
    lines[number - 1] = bad
    return joined(lines)


def zip_bytes(data: bytes, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        archive.writestr("items.jl", data)
    return out.getvalue()


def truncated_gzip() -> bytes:
    data = gzip.compress(joined(json_lines(500)))
    return data[: len(data) // 2]


def gzip_with_bad_checksum() -> bytes:
    data = bytearray(gzip.compress(joined(json_lines(50))))
    data[-6] ^= 0xFF  # inside the CRC32 of the trailer
    return bytes(data)


def damaged_zip_member() -> bytes:
    data = bytearray(zip_bytes(joined(json_lines(30)), zipfile.ZIP_STORED))
    where = data.find(b'"n": 17')
    data[where + 5 : where + 7] = b"71"  # stored data no longer matches the CRC
    return bytes(data)


def truncated_zip() -> bytes:
    data = zip_bytes(joined(json_lines(300)))
    return data[: len(data) // 2]


def fs_config(deserializer: dict[str, Any] | None = None, **writer: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/part-", **writer}},
    }
    if deserializer:
        config["deserializer"] = deserializer
    return config


CSV = {"name": "CSVDeserializer"}

# name of the broken file, its bytes, deserializer section, substrings of the one error line
DATA_CASES: list[tuple[str, Callable[[], bytes], dict[str, Any] | None, list[str]]] = [
    ("truncated.jl.gz", truncated_gzip, None, ["truncated gzip data"]),
    ("bad-checksum.jl.gz", gzip_with_bad_checksum, None, ["not valid gzip data", "Incorrect checksum"]),
    ("invalid.jl", lambda: with_line(5, 3, b'{"n": 3, "text": '), None, ["line 3: not valid JSON"]),
    (
        "invalid.jl.gz",
        lambda: gzip.compress(with_line(5, 3, b'{"n": 3,,}')),
        None,
        ["line 3: not valid JSON"],
    ),
    ("invalid.jl.bz2", lambda: bz2.compress(with_line(5, 3, b"{'n': 3}")), None, ["line 3: not valid JSON"]),
    (
        "far-line.jl.gz",  # the bad line comes long after the first decompressed chunk
        lambda: gzip.compress(with_line(120_000, 100_003, b"not json")),
        None,
        ["line 100003: not valid JSON"],
    ),
    (
        "latin1.jl",
        lambda: with_line(5, 3, '{"name": "José"}'.encode("latin-1")),
        None,
        ["line 3: not valid UTF-8 (byte 0xe9 at column 14)", "must be UTF-8"],
    ),
    (
        "latin1.jl.gz",
        lambda: gzip.compress(with_line(5, 4, '{"name": "Zoë"}'.encode("latin-1"))),
        None,
        ["line 4: not valid UTF-8"],
    ),
    ("utf16.jl", lambda: joined(json_lines(3)).decode().encode("utf-16"), None, ["line 1: not valid UTF-8"]),
    ("bom.jl", lambda: b"\xef\xbb\xbf" + joined(json_lines(3)), None, ["line 1: not valid JSON", "BOM"]),
    ("empty.jl.gz", lambda: b"", None, ["empty file is not a valid compressed stream"]),
    ("header-only.jl.gz", lambda: gzip.compress(b"")[:6], None, ["truncated gzip data"]),
    (
        "not-object.jl",
        lambda: with_line(5, 3, b"[1, 2, 3]"),
        None,
        ["line 3: expected a JSON object per line, got list"],
    ),
    (
        "scalar.jl",
        lambda: with_line(5, 2, b'"just a string"'),
        None,
        ["line 2: expected a JSON object per line, got str"],
    ),
    ("garbage.jl.gz", lambda: b"this was never gzip\n" * 3, None, ["no known compression header"]),
    ("truncated.jl.zip", truncated_zip, None, ["not a valid zip archive"]),
    ("damaged.jl.zip", damaged_zip_member, None, ["member items.jl is damaged", "CRC"]),
    ("extra-field.csv", lambda: b"a,b\n1,2\n3,4,5\n6,7\n", CSV, ["line 3: more fields than the header has"]),
    (
        "open-quote.csv",
        lambda: b'a,b\n1,2\n"3,4\n5,6\n',
        CSV,
        ["line 4: bad CSV (unexpected end of data); the row starts on line 3"],
    ),
    ("after-quote.csv", lambda: b'a,b\n1,2\n"3"x,4\n', CSV, ["line 3: bad CSV"]),
    ("latin1.csv", lambda: b"a,b\n1,2\n3,Jos\xe9\n", CSV, ["line 3: not valid utf-8", "option 'encoding'"]),
]


# -- broken configs -----------------------------------------------------------------------------------


def test_every_corpus_config_has_an_expectation():
    assert set(CONFIGS) == set(EXPECTED), "tests/corpus/configs/expected.yaml and the corpus files differ"
    assert len(CONFIGS) >= 20


@pytest.fixture
def corpus_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The corpus copied into a job folder with real input, as the cwd (configs use relative paths).

    ``in/`` holds a valid input file, so a config that got past validation would write ``out/``.
    """
    job = tmp_path / "job"
    shutil.copytree(CORPUS, job)
    write_json_lines_gz(job / "in" / "items.jl.gz", [{"n": number} for number in range(10)])
    monkeypatch.chdir(job)
    return job


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("name", CONFIGS)
def test_broken_config_is_rejected_with_located_errors(
    name: str, command: str, corpus_job: Path, capsys: pytest.CaptureFixture[str]
):
    before = tree(corpus_job)
    args = [command, name, "--quiet"] if command == "run" else [command, name]

    code, out, err = ozzy(capsys, *args)

    assert code == 2, err
    assert out == ""
    for expected in EXPECTED[name]:
        assert expected in err, f"{expected!r} missing from:\n{err}"
    assert "Traceback" not in err
    # every problem is on its own line and starts with the file (and line when there is one)
    problems = [line[4:] for line in err.splitlines() if line.startswith("  - ")]
    if problems:
        assert err.startswith("ozzy: invalid configuration: ")
        assert all(problem.startswith(f"{name}:") for problem in problems), err
        assert len(problems) == len(set(problems)), f"an error is listed twice:\n{err}"
    else:
        assert err.startswith(f"ozzy: {name}:") and err.count("\n") == 1, err
    # nothing moved: no output folder, no job state, no other file
    assert tree(corpus_job) == before


def test_several_errors_are_all_listed_at_once(corpus_job: Path, capsys: pytest.CaptureFixture[str]):
    code, _, err = ozzy(capsys, "validate", "several_errors.yaml")
    assert code == 2
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 8, err
    # an unknown option of a module does not hide the module's other problems
    assert any("unknown option 'compresion'" in line for line in problems)
    assert any("positional placeholder" in line for line in problems)


@pytest.mark.parametrize(
    "name", ["several_errors.yaml", "yaml_syntax_error.yaml", "wrong_kind_module.yaml", "not_utf8.yaml"]
)
def test_broken_config_in_a_real_process(name: str, tmp_path: Path):
    job = tmp_path / "job"
    shutil.copytree(CORPUS, job)
    write_json_lines_gz(job / "in" / "items.jl.gz", [{"n": 1}])
    before = tree(job)
    for command in (["validate", name], ["run", name]):
        result = run_ozzy(*command, cwd=job)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
        for expected in EXPECTED[name]:
            assert expected in result.stderr
    assert tree(job) == before


def test_missing_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.chdir(tmp_path)
    for command in ("validate", "run"):
        code, _, err = ozzy(capsys, command, "no-such-config.yaml")
        assert code == 2
        assert "cannot read configuration file no-such-config.yaml: No such file or directory" in err
    assert list(tmp_path.iterdir()) == []


def test_config_given_as_dict_names_section_module_and_option():
    """Configs built in code (the operator) have no file or line, but keep section, module and option."""
    from airflow_provider_ozzy.engine.config import validate
    from airflow_provider_ozzy.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as raised:
        validate({"reader": {"name": "FSReader", "options": {"input": "in", "batch_size": 0.5}}})
    errors = raised.value.errors
    assert len(errors) == 2, errors
    assert errors[0] == "writer: missing section (a config needs a reader and a writer)"
    assert errors[1].startswith("reader (FSReader): option 'batch_size' must be a")


# -- broken data files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "make", "deserializer", "expected"), DATA_CASES, ids=[case[0] for case in DATA_CASES]
)
def test_broken_data_file_fails_with_one_located_error(
    name: str,
    make: Callable[[], bytes],
    deserializer: dict[str, Any] | None,
    expected: list[str],
    tmp_path: Path,
    private_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(make())
    write_config(tmp_path / "config.yaml", fs_config(deserializer))
    monkeypatch.chdir(tmp_path)

    code, out, err = ozzy(capsys, "run", "config.yaml", "--quiet")

    assert code == 1, err
    assert out == "", "stats of a failed export must not be printed as a result"
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert lines[0].startswith(f"ozzy: export failed: FSReader: in/{name}"), err
    for part in expected:
        assert part in lines[0], f"{part!r} missing from {lines[0]!r}"
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists(), output_files(tmp_path / "out")
    assert list(private_tmp.iterdir()) == [], "buffer files were left behind"


@pytest.mark.parametrize("name", ["truncated.jl.gz", "invalid.jl.gz", "extra-field.csv"])
def test_broken_data_file_in_a_real_process(name: str, tmp_path: Path):
    _, make, deserializer, expected = next(case for case in DATA_CASES if case[0] == name)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(make())
    write_config(tmp_path / "config.json", fs_config(deserializer))

    result = run_ozzy("run", "config.json", "--quiet", cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    failures = [line for line in result.stderr.splitlines() if line.startswith("ozzy:")]
    assert len(failures) == 1 and f"FSReader: in/{name}" in failures[0], result.stderr
    assert all(part in failures[0] for part in expected), failures[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("broken", "delivers_part_of_broken_file"),
    [
        (lambda: gzip.compress(with_line(40, 3, b"{oops")), False),
        (lambda: gzip.compress(joined(json_lines(400, start=11)))[:-100], True),
    ],
    ids=["bad-line-in-small-file", "truncated-large-file"],
)
def test_good_file_then_broken_file(
    broken: Callable[[], bytes], delivers_part_of_broken_file: bool, tmp_path: Path
):
    """What may be at the destination when a broken file follows good ones in the same input.

    Conclusion: only *complete* output files, each holding whole, valid items in input order, and
    never an item twice. A failure never flushes the open buffers (that would present a cut-off
    group as a finished file): buffered items are discarded and the job state keeps the position
    of the oldest item not yet at the destination. The job fails (exit 1, no stats printed, no
    md5 manifest), and after the input is repaired ``ozzy resume`` completes it with every item
    exactly once.

    Items of the broken file itself before the damage may be among the delivered ones: streams
    are read incrementally (memory stays flat whatever the size), so a truncation or a bad line
    deep inside a large file is only found after its earlier items went through the pipeline.
    Holding every output file back until its input files were read to the end would mean keeping
    whole inputs on local disk and giving up the commit per batch, so this is accepted: those are
    real records read before the damage, in complete files, and the resume continues right
    after them. A damage found while the items of the broken file are still in the reader's
    batch (a small file, the default batch size) delivers nothing of it.
    """
    good = [json.loads(line) for line in json_lines(10)]
    write_json_lines_gz(tmp_path / "in" / "a.jl.gz", good)
    (tmp_path / "in" / "b.jl.gz").write_bytes(broken())
    write_config(
        tmp_path / "config.json",
        fs_config(items_per_buffer_write=4, generate_md5=True)
        | {"reader": {"name": "FSReader", "options": {"input": {"dir": "in"}, "batch_size": 4}}},
    )

    failed = run_ozzy("run", "config.json", "--quiet", "--job-id", "bad-input", cwd=tmp_path)

    assert failed.returncode == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    assert "FSReader: in/b.jl.gz" in failed.stderr
    files = output_files(tmp_path / "out")
    assert "md5checksum.md5" not in files, "the manifest marks a finished export"
    delivered = []
    for name in files:
        items = read_json_lines(tmp_path / "out" / name)  # a cut-off gzip file would raise here
        assert len(items) == 4, f"{name} is not a full file: {items}"
        delivered.extend(items)
    numbers = [item["n"] for item in delivered]
    assert numbers == list(range(1, len(numbers) + 1)), "items out of order, missing or repeated"
    assert len(numbers) >= 8, "complete files of the good file are kept"
    assert (len(numbers) > 10) == delivers_part_of_broken_file

    # repair the input and resume: every item exactly once
    repaired = json_lines(400 if delivers_part_of_broken_file else 40, start=11)
    (tmp_path / "in" / "b.jl.gz").write_bytes(gzip.compress(joined(repaired)))
    resumed = run_ozzy("resume", "pickle:.ozzy-state/bad-input", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    everything = [
        item["n"]
        for name in output_files(tmp_path / "out")
        if name != "md5checksum.md5"
        for item in read_json_lines(tmp_path / "out" / name)
    ]
    assert sorted(everything) == list(range(1, 11 + len(repaired)))
    assert "md5checksum.md5" in output_files(tmp_path / "out")


@pytest.mark.parametrize("extra", [[], ["a.jl"]], ids=["only-empty-file", "with-a-good-file"])
def test_empty_uncompressed_file_is_zero_items(
    extra: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.jl").write_bytes(b"")
    for name in extra:
        (tmp_path / "in" / name).write_bytes(joined(json_lines(3)))
    write_config(tmp_path / "config.yaml", fs_config())
    monkeypatch.chdir(tmp_path)

    code, out, err = ozzy(capsys, "run", "config.yaml", "--quiet")

    assert code == 0, err
    stats = json.loads(out)
    expected_items = 3 if extra else 0
    assert stats["finished"] is True
    assert stats["items_read"] == stats["items_written"] == expected_items
    written = output_files(tmp_path / "out") if (tmp_path / "out").exists() else []
    assert len(written) == (1 if extra else 0)


# -- secrets ---------------------------------------------------------------------------------------------


def test_secret_option_values_never_appear_in_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Every option marked ``"secret": True``: a wrong or rejected value is not echoed in errors."""
    from airflow_provider_ozzy.core.options import merged_options
    from airflow_provider_ozzy.engine.registry import SECTION_KINDS, all_modules

    sections = {kind: section for section, kind in SECTION_KINDS.items() if section != "filter"}
    secret = [
        (kind, name, option)
        for kind, name, cls in all_modules()
        for option, spec in merged_options(cls).items()
        if spec.get("secret") and kind in sections
    ]
    if not secret:
        pytest.skip("no option is marked secret in this package yet")
    monkeypatch.chdir(tmp_path)
    marker = "s3cr3t-VALUE-4242"
    for kind, name, option in secret:
        for value in (marker, [marker], {"key": marker}, 424242):
            config = fs_config()
            config[sections[kind]] = {"name": name, "options": {option: value, "not_an_option": 1}}
            write_config(tmp_path / "config.yaml", config)
            code, out, err = ozzy(capsys, "validate", "--strict", "config.yaml")  # notifiers: not a section
            assert code == 2
            assert marker not in err + out and "424242" not in err + out, f"{name}.{option} leaked: {err}"
