"""1M items, FSReader -> FSWriter, in shards (mapped tasks) and as one task, for a real scheduler.

Paths and the shard count come from the environment of the Airflow processes (the test sets
them); ``OZZY_SHARD_FAULT`` names the switch file of ``FaultSwitchFSWriter``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator
from airflow_provider_ozzy.operators.sharded_export import ozzy_sharded_export

INPUT = os.environ.get("OZZY_SHARD_INPUT", "/tmp/ozzy-sharded/in")
OUTPUT = os.environ.get("OZZY_SHARD_OUTPUT", "/tmp/ozzy-sharded/out")
SHARDS = int(os.environ.get("OZZY_SHARDS", "8"))
ITEMS_PER_FILE = int(os.environ.get("OZZY_ITEMS_PER_FILE", "50000"))
BATCH_SIZE = int(os.environ.get("OZZY_BATCH_SIZE", "10000"))


def _sections(folder: str) -> dict:
    return {
        "reader": {
            "name": "FSReader",
            "options": {"input": {"dir": INPUT, "pattern": r"\.jl\.gz$"}, "batch_size": BATCH_SIZE},
        },
        "writer": {
            "name": "tests.e2e.fault_modules.FaultSwitchFSWriter",
            "options": {
                "filebase": f"{OUTPUT}/{folder}/items_",
                "items_per_buffer_write": ITEMS_PER_FILE,
                "fault_switch": os.environ.get("OZZY_SHARD_FAULT", ""),
                # after its 2nd file: the 1st is committed, so the retry resumes past it
                "fault_after_files": 2,
            },
        },
        "retries": 2,
        "retry_delay": timedelta(seconds=2),
        "progress_interval": 2.0,
    }


with DAG("ozzy_sharded", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["ozzy"]) as dag:
    ozzy_sharded_export("export", shards=SHARDS, **_sections("sharded"))

with DAG(
    "ozzy_unsharded", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["ozzy"]
) as unsharded:
    OzzyExportOperator(task_id="export", **_sections("unsharded"))
