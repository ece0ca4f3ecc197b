#!/usr/bin/env bash
# The demo on a fresh machine: builds .venv, makes local input files, runs the same export twice,
# from the command line (`ozzy run demo/config.yaml`) and as an Airflow task (`airflow dags test
# ozzy_local_export`, dags/ozzy_local_export.py), and shows what each wrote.
# No servers are needed: local files in, local files out, and a throw-away SQLite Airflow home in
# .demo-airflow/ (recreated on every run; inspect it afterwards with AIRFLOW_HOME=.demo-airflow).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
bash scripts/setup-venv.sh

show_output() {  # every file under $1 with its line count, then the first lines of the first one
    find "$1" -type f | sort | while read -r file; do
        printf '%-48s %6d lines\n' "$file" "$(wc -l < "$file")"
    done
    echo "-- first lines of $(find "$1" -type f | sort | head -1)"
    head -3 "$(find "$1" -type f | sort | head -1)"
}

rm -rf demo/input demo/out demo/state demo/airflow-out
.venv/bin/python demo/generate_input.py demo/input
echo "== input: $(find demo/input -type f | sort | tr '\n' ' ')(20,000 orders, gzip JSON lines)"

echo
echo "== 1. the command line: ozzy validate demo/config.yaml && ozzy run demo/config.yaml"
.venv/bin/ozzy validate demo/config.yaml
.venv/bin/ozzy run demo/config.yaml
show_output demo/out

echo
echo "== 2. Airflow: airflow dags test ozzy_local_export (dags/ozzy_local_export.py)"
# A throw-away Airflow: SQLite in .demo-airflow/, the DAGs of dags/, nothing from the user's setup.
export AIRFLOW_HOME="$PWD/.demo-airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export OZZY_DEMO_INPUT="$PWD/demo/input"
export OZZY_DEMO_OUTPUT="$PWD/demo/airflow-out"
unset AIRFLOW_CONFIG
rm -rf "$AIRFLOW_HOME"
mkdir -p "$AIRFLOW_HOME"
echo "-- airflow db migrate (SQLite in .demo-airflow/)"
if ! .venv/bin/airflow db migrate > "$AIRFLOW_HOME/db-migrate.log" 2>&1; then
    tail -30 "$AIRFLOW_HOME/db-migrate.log"
    exit 1
fi
echo "-- airflow dags test ozzy_local_export (whole log: .demo-airflow/dags-test.log)"
status=0
.venv/bin/airflow dags test ozzy_local_export > "$AIRFLOW_HOME/dags-test.log" 2>&1 || status=$?
# the export's own log lines, without timestamps and logger names
grep -E 'Ozzy progress|check_consistency' "$AIRFLOW_HOME/dags-test.log" \
    | sed -E 's/^[^ ]+ +\[[a-z ]+\] +//; s/ +\[[A-Za-z0-9_.]+\] +loc=.*$//' || true
# the run's state and the stats the task returned (its XCom), read from the SQLite metadata DB
.venv/bin/python - "$AIRFLOW_HOME/airflow.db" <<'EOF' || status=1
import json
import sqlite3
import sys

db = sqlite3.connect(sys.argv[1])
run_id, state = db.execute(
    "SELECT run_id, state FROM dag_run WHERE dag_id = 'ozzy_local_export' ORDER BY id DESC LIMIT 1"
).fetchone()
print(f"-- dag run {run_id}: {state}")
row = db.execute(
    "SELECT value FROM xcom WHERE dag_id = 'ozzy_local_export' AND run_id = ? AND task_id = 'export_orders'"
    " AND key = 'return_value'",
    (run_id,),
).fetchone()
if row:
    print("-- stats returned by the task (XCom return_value):")
    print(json.dumps(json.loads(row[0]), indent=2))
sys.exit(0 if state == "success" and row else 1)
EOF
if [ "$status" -ne 0 ]; then
    echo "airflow dags test failed; the end of its log:" >&2
    tail -40 "$AIRFLOW_HOME/dags-test.log" >&2
    exit 1
fi
show_output demo/airflow-out

echo
echo "== demo finished in $(( $(date +%s) - started )) s"
