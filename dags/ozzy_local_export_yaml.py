"""Example DAG: the job as a YAML file next to the DAG, templated by Airflow.

``configs/local_export.yaml`` is an exporters-style config; the operator renders it with Jinja at run
time (the output folder is named after ``{{ ds_nodash }}``, the paths come from the DAG's ``params``)
and checks it when the DAG is parsed, so a wrong option name fails the DAG import, naming the file
and line. Writes gzip JSON lines, one folder per country, under
``demo/airflow-out-yaml/<YYYYMMDD>/`` of the repository (``OZZY_DEMO_INPUT`` / ``OZZY_DEMO_YAML_OUTPUT``
override the paths; ``--conf`` / the trigger form can override the params). Run it with::

    airflow dags test ozzy_local_export_yaml
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_ozzy.operators.ozzy_export import OzzyExportOperator

DEMO = Path(__file__).resolve().parent.parent / "demo"

with DAG(
    "ozzy_local_export_yaml",
    description="The same orders export, configured by a templated YAML file",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ozzy", "example"],
    params={
        "input_dir": os.environ.get("OZZY_DEMO_INPUT", str(DEMO / "input")),
        "output_dir": os.environ.get("OZZY_DEMO_YAML_OUTPUT", str(DEMO / "airflow-out-yaml")),
    },
    doc_md=__doc__,
) as dag:
    OzzyExportOperator(task_id="export_orders", config="configs/local_export.yaml")
