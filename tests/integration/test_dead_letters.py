"""Dead letters (``exporter_options.dead_letter_file``): bad records set aside, counted, resumable.

Real files through the real ``ozzy`` command: bad JSON lines, non-object lines, invalid UTF-8,
bad CSV rows and items a transform fails on go to the dead-letter file (JSON lines with source,
line, stage and error) while every good item reaches the destination; ``bad_records`` is in the
printed stats; ``max_bad_records`` caps them; without the option a bad record still fails the
export. ``kill -9`` at seeded points and resume: every good item once at the destination and every
bad record once in the dead-letter file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.crash_harness import CrashHarness, check_exact_output
from tests.helpers import final_stats, last_json_line, output_files, read_json_lines, run_ozzy, write_config

BAD_LINES = {
    3: b"{not json",
    7: b"[1, 2]",
    8: b'{"id": 8, "text": "\xff\xfe"}',
    15: b'"just a string"',
}


def json_lines_with_bad(count: int, bad: dict[int, bytes]) -> bytes:
    lines = [bad.get(number) or json.dumps({"id": number}).encode() for number in range(1, count + 1)]
    return b"\n".join(lines) + b"\n"


def config(tmp_path: Path, **exporter_options: Any) -> dict[str, Any]:
    return {
        "reader": {"name": "FSReader", "options": {"input": {"dir": "in"}, "batch_size": 4}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/part-", "items_per_buffer_write": 5}},
        "exporter_options": exporter_options,
    }


def delivered(folder: Path) -> list[int]:
    return [item["id"] for name in output_files(folder) for item in read_json_lines(folder / name)]


def test_bad_json_lines_go_to_the_dead_letter_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jl.gz").write_bytes(gzip.compress(json_lines_with_bad(20, BAD_LINES)))
    write_config(tmp_path / "job.json", config(tmp_path, dead_letter_file="dead/{job_id}.jl"))

    result = run_ozzy("run", "job.json", "--quiet", "--job-id", "dl", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert last_json_line(result.stdout)["bad_records"] == len(BAD_LINES)
    assert last_json_line(result.stdout)["items_written"] == 20 - len(BAD_LINES)
    assert delivered(tmp_path / "out") == [n for n in range(1, 21) if n not in BAD_LINES]
    letters = read_json_lines(tmp_path / "dead" / "dl.jl")
    assert [(letter["source"], letter["line"]) for letter in letters] == [
        ("in/a.jl.gz", line) for line in sorted(BAD_LINES)
    ]
    assert all(letter["stage"] == "deserializer" and letter["error"] for letter in letters)
    assert "not valid JSON" in letters[0]["error"] and letters[0]["record"] == "{not json"
    assert "expected a JSON object" in letters[1]["error"]
    assert "UTF-8" in letters[2]["error"]


def test_without_the_option_a_bad_record_still_fails_the_export(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jl").write_bytes(json_lines_with_bad(20, BAD_LINES))
    write_config(tmp_path / "job.json", config(tmp_path))

    result = run_ozzy("run", "job.json", "--quiet", cwd=tmp_path)

    assert result.returncode == 1
    assert "in/a.jl line 3: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_more_bad_records_than_max_bad_records_fails(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jl").write_bytes(json_lines_with_bad(20, BAD_LINES))
    write_config(tmp_path / "job.json", config(tmp_path, dead_letter_file="dead.jl", max_bad_records=3))

    result = run_ozzy("run", "job.json", "--quiet", cwd=tmp_path)

    assert result.returncode == 1
    assert "more than max_bad_records=3 bad records" in result.stderr
    assert "in/a.jl line 15" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(read_json_lines(tmp_path / "dead.jl")) == 3  # the first three, flushed on failure


def test_max_bad_records_without_a_dead_letter_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    write_config(tmp_path / "job.json", config(tmp_path, max_bad_records=3))
    result = run_ozzy("validate", "job.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "exporter_options: option 'max_bad_records' needs 'dead_letter_file'" in result.stderr


def test_bad_csv_rows_go_to_the_dead_letter_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    text = 'id,name\n1,a\n2,b,extra\n3,"c"d\n4,d\n5,e\n'
    (tmp_path / "in" / "a.csv").write_text(text)
    job = config(tmp_path, dead_letter_file="dead.jl")
    job["deserializer"] = {"name": "CSVDeserializer"}
    write_config(tmp_path / "job.json", job)

    result = run_ozzy("run", "job.json", "--quiet", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert last_json_line(result.stdout)["bad_records"] == 2
    ids = sorted(
        int(item["id"])
        for name in output_files(tmp_path / "out")
        for item in read_json_lines(tmp_path / "out" / name)
    )
    assert ids == [1, 4, 5]
    letters = read_json_lines(tmp_path / "dead.jl")
    assert [(letter["line"], letter["stage"]) for letter in letters] == [
        (3, "deserializer"),
        (4, "deserializer"),
    ]
    assert "more fields than the header" in letters[0]["error"] and letters[0]["record"] == "2,b,extra"
    assert "bad CSV" in letters[1]["error"]
    assert list(csv.reader(io.StringIO(letters[0]["record"]))) == [["2", "b", "extra"]]


def test_items_a_transform_fails_on_go_to_the_dead_letter_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    items = [{"id": number, "d": 0 if number % 6 == 0 else 2} for number in range(1, 31)]
    (tmp_path / "in" / "a.jl").write_text("".join(json.dumps(item) + "\n" for item in items))
    job = config(tmp_path, dead_letter_file="dead.jl")
    job["transform"] = {
        "name": "PythonexpTransform",
        "options": {"python_expressions": ["item.update({'q': item['id'] // item['d']})"]},
    }
    write_config(tmp_path / "job.json", job)

    result = run_ozzy("run", "job.json", "--quiet", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert last_json_line(result.stdout)["bad_records"] == 5
    assert delivered(tmp_path / "out") == [n for n in range(1, 31) if n % 6]
    letters = read_json_lines(tmp_path / "dead.jl")
    assert [letter["record"]["id"] for letter in letters] == [6, 12, 18, 24, 30]
    assert {(letter["stage"], letter["module"], letter["source"]) for letter in letters} == {
        ("transform", "PythonexpTransform", "in/a.jl")
    }
    assert all("ZeroDivisionError" in letter["error"] or "division" in letter["error"] for letter in letters)


# -- kill -9 and resume --------------------------------------------------------------------------------

CRASH_ITEMS = 6000
BAD_EVERY = 97


@pytest.fixture(scope="module")
def crash_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int], list[int]]:
    folder = tmp_path_factory.mktemp("dead-letter-crash-input")
    good, bad = [], []
    for part in range(3):
        lines = []
        for number in range(part * 2000, (part + 1) * 2000):
            if number % BAD_EVERY == 5:
                lines.append(b'{"id": %d, broken' % number)
                bad.append(number)
            else:
                lines.append(json.dumps({"id": number, "pad": "x" * 30}).encode())
                good.append(number)
        (folder / f"part-{part}.jl.gz").write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    return folder, good, bad


@pytest.mark.parametrize("seed", [71, 72, 73])
def test_kill_9_and_resume_writes_every_bad_record_once(
    seed: int, tmp_path: Path, crash_input: tuple[Path, list[int], list[int]]
) -> None:
    input_dir, good, bad = crash_input
    job = {
        "reader": {"name": "FSReader", "options": {"input": {"dir": str(input_dir)}, "batch_size": 50}},
        "writer": {"name": "FSWriter", "options": {"filebase": "out/part_", "items_per_buffer_write": 120}},
        "exporter_options": {"dead_letter_file": "dead/letters.jl"},
    }
    harness = CrashHarness(tmp_path / "job", job, env={"TMPDIR": str(tmp_path)})
    total_files = -(-len(good) // 120)
    plan = harness.random_plan(random.Random(seed), total_files, CRASH_ITEMS // 50, interruptions=2)
    report = harness.run(plan, seed=seed, label="dead-letters")
    context = f"\n{report.describe()}\n{report.log_tails()}"
    assert report.interruptions >= 1, "no kill landed inside the run" + context
    problems = check_exact_output(
        harness.output,
        {"part_.jl.gz": good},
        lambda path: [item["id"] for item in read_json_lines(path)],
        items_per_file=120,
    )
    assert not problems, "\n  ".join(problems) + context
    letters = read_json_lines(tmp_path / "job" / "dead" / "letters.jl")
    numbers = [int(letter["record"].split(",")[0].split(":")[1]) for letter in letters]
    assert numbers == bad, (
        f"dead letters: {len(numbers)} for {len(bad)} bad records, "
        f"{len(numbers) - len(set(numbers))} twice" + context
    )
    state = harness.committed_state()
    assert state and state["finished"] and state["modules"]["dead_letters"]["count"] == len(bad), context
    stats = final_stats(report)
    assert stats["bad_records"] == len(bad), context
