"""Every output difference from exporters 0.6.18, one test per row of docs/design.md's
"Departures from exporters' output" table: each asserts Ozzy's documented behaviour."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from airflow_provider_ozzy.export_managers.basic_exporter import BasicExporter
from tests.helpers import decompress, output_files, run_ozzy, write_json_lines_gz

ITEM = {"name": "café", "ok": True, "my key": 1}


def _export(tmp_path: Path, items: list[dict[str, Any]], formatter: dict[str, Any], **writer: Any) -> Path:
    write_json_lines_gz(tmp_path / "in" / "a.jl.gz", items)
    BasicExporter(
        {
            "reader": {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "in")}}},
            "writer": {
                "name": "FSWriter",
                "options": {"filebase": str(tmp_path / "out" / "items_"), "compression": "none", **writer},
            },
            "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
            "exporter_options": {"formatter": formatter},
        }
    ).export()
    return tmp_path / "out"


def _only_data_file(out: Path) -> Path:
    [name] = [name for name in output_files(out) if name != "md5checksum.md5"]
    return out / name


def test_json_lines_are_compact_raw_utf8(tmp_path: Path) -> None:
    out = _export(tmp_path, [ITEM], {"name": "JsonExportFormatter"})
    # exporters (json.dumps): {"name": "caf\u00e9", "ok": true, "my key": 1}
    assert decompress(_only_data_file(out)) == '{"name":"café","ok":true,"my key":1}\n'.encode()


def test_xml_booleans_and_keys_with_spaces(tmp_path: Path) -> None:
    out = _export(tmp_path, [ITEM], {"name": "XMLExportFormatter"})
    text = decompress(_only_data_file(out)).decode("utf-8")
    # exporters (dicttoxml 1.7): <ok type="bool">True</ok> and <my_key type="int">1</my_key>
    assert '<ok type="bool">true</ok>' in text
    assert '<key name="my key" type="int">1</key>' in text


def test_md5_file_lines(tmp_path: Path) -> None:
    out = _export(tmp_path, [ITEM], {"name": "JsonExportFormatter"}, generate_md5=True)
    data = _only_data_file(out)
    digest = hashlib.md5(data.read_bytes(), usedforsecurity=False).hexdigest()
    # exporters: one space, and s3://bucket/key on S3; Ozzy: md5sum's two spaces, the destination name
    assert (out / "md5checksum.md5").read_text() == f"{digest}  {data}\n"


def test_flatson_keeps_the_schema_order(tmp_path: Path) -> None:
    write_json_lines_gz(tmp_path / "in" / "a.jl.gz", [{"b": 1, "a": {"y": 2, "x": 3}}])
    schema = {
        "type": "object",
        "properties": {
            "b": {"type": "number"},
            "a": {"type": "object", "properties": {"y": {"type": "number"}, "x": {"type": "number"}}},
        },
    }
    BasicExporter(
        {
            "reader": {"name": "FSReader", "options": {"input": {"dir": str(tmp_path / "in")}}},
            "transform": {"name": "FlatsonTransform", "options": {"flatson_schema": schema}},
            "writer": {
                "name": "FSWriter",
                "options": {"filebase": str(tmp_path / "out" / "items_"), "compression": "none"},
            },
            "persistence": {"name": "PicklePersistence", "options": {"file_path": str(tmp_path / "state")}},
        }
    ).export()
    # exporters (Flatson sorts the fields): {"a.x": 3, "a.y": 2, "b": 1}
    assert decompress(_only_data_file(tmp_path / "out")) == b'{"b":1,"a.y":2,"a.x":3}\n'


def test_random_reader_values(tmp_path: Path) -> None:
    from airflow_provider_ozzy.readers.random_reader import RandomReader

    reader = RandomReader({"number_of_items": 300, "batch_size": 300})
    reader.open(None)
    items = reader.get_next_batch()
    # exporters: country_code es/uk/us, state valéncia/madrid/barcelona, city {name, district 'distN'},
    # value an integer 0..10000; Ozzy: reproducible by seed, more values, district and value numbers
    assert {item["country_code"] for item in items} == {"es", "uk", "us", "fr", "de"}
    assert "valéncia" not in {item["state"] for item in items}
    assert all(isinstance(item["city"]["district"], int) for item in items)
    assert items == RandomReader({"number_of_items": 300, "batch_size": 300}).get_next_batch()


def test_an_exporters_pickle_job_state_is_refused_in_one_line(tmp_path: Path) -> None:
    state = {
        "persistence_state_id": "0b4c-job",
        "last_position": {"last_read": 9},
        "configuration": str({"reader": {"name": "exporters.readers.random_reader.RandomReader"}}),
    }
    (tmp_path / "0b4c-job").write_bytes(pickle.dumps(state, protocol=0))  # as exporters wrote it
    result = run_ozzy("resume", "pickle:0b4c-job", cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ozzy: export failed: PicklePersistence: ./0b4c-job is a job state of exporters (Python 2); Ozzy "
        "cannot resume it (its positions mean other things): run the job again with its config (ozzy run CONFIG)"
    ]
