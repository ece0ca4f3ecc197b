"""OpenLineage events of a real ``dag.test()`` run, through the provider's file transport.

The provider reads its configuration once per process and caches it, so the run happens in a child
process with ``[openlineage] transport`` pointing at a file (no network) and events emitted in a
thread (no fork). The task's COMPLETE event must carry the reader's directory as input and the
writer's rendered folder as output, with what the export wrote as output statistics.

Marked slow: the child process imports Airflow and runs the DAG (about a minute on a busy machine);
``tests/unit/test_lineage.py`` checks the facets of every reader/writer pair in the default run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import DAGS

ROOT = Path(__file__).parents[2]
SCRIPT = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("e2e_dag_ozzy_lineage", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test(logical_date=__import__("datetime").datetime(2026, 5, 6, tzinfo=__import__("datetime").UTC))
print("STATE", run.state)
"""


@pytest.mark.slow
def test_a_dag_run_emits_the_export_datasets(airflow_db: str, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for part in range(2):
        lines = [json.dumps({"id": part * 50 + n}) for n in range(50)]
        (tmp_path / "in" / f"part-{part}.jl").write_text("\n".join(lines) + "\n")
    events_file = tmp_path / "events.jsonl"
    env = dict(
        os.environ,
        OZZY_E2E_LINEAGE_INPUT=str(tmp_path / "in"),
        OZZY_E2E_LINEAGE_OUTPUT=str(tmp_path / "out"),
        AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        AIRFLOW__OPENLINEAGE__NAMESPACE="ozzy-e2e",
        AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD="True",
        AIRFLOW__OPENLINEAGE__DISABLED="False",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DAGS / "ozzy_lineage.py")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
    )
    assert "STATE success" in result.stdout, (result.stdout[-2000:], result.stderr[-4000:])
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    task_events = {
        event["eventType"]: event for event in events if event["job"]["name"] == "ozzy_lineage.export"
    }
    assert {"START", "COMPLETE"} <= set(task_events), [(e["eventType"], e["job"]["name"]) for e in events]

    host = socket.gethostname()
    for event in (task_events["START"], task_events["COMPLETE"]):
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
            (f"file://{host}", str(tmp_path / "in"))
        ]
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
            (f"file://{host}", str(tmp_path / "out" / "20260506"))
        ]
    statistics = task_events["COMPLETE"]["outputs"][0]["outputFacets"]["outputStatistics"]
    assert (statistics["rowCount"], statistics["fileCount"]) == (100, 4)
    assert statistics["size"] > 0
