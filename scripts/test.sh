#!/usr/bin/env bash
# The whole test suite on a fresh machine: builds .venv, lints, type-checks, runs pytest.
# Servers the integration tests need are started by the test session itself (tests/servers/).
# OZZY_STRESS=1 also runs the slow stress tests (20 random kill -9 points per writer, load tests).
# OZZY_TEST_WORKERS=N sets the pytest-xdist processes (default 4: most tests wait on servers, so
# 4 workers keep two cores busy; each worker starts its own servers). 0 runs in this process.
# Measured on 2 cores (2026-12-07): 4 workers 13:58, 6 workers 12:26, serial about 32 minutes.
# With PYTHONDONTWRITEBYTECODE set, tests/conftest.py caches bytecode under $TMPDIR/ozzy-pycache-<uid>
# (PYTHONPYCACHEPREFIX) for every process the suite starts; OZZY_PYCACHE=0 compiles from source.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh || exit 1
bash scripts/setup-servers.sh || exit 1  # Azurite (npm) into .servers/

status=0
echo "== ruff"
.venv/bin/ruff check airflow_provider_ozzy tests demo dags || status=1
.venv/bin/ruff format --check airflow_provider_ozzy tests demo dags || status=1
echo "== mypy"
.venv/bin/mypy || status=1

echo "== pytest"
marker=(-m "not slow")
[ "${OZZY_STRESS:-0}" = "1" ] && marker=()
workers=(-n "${OZZY_TEST_WORKERS:-4}" --dist worksteal)
[ "${OZZY_TEST_WORKERS:-4}" = "0" ] && workers=()
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=20 "${workers[@]}" "${marker[@]}" "$@"
pytest_status=$?
[ $pytest_status -ne 0 ] && status=$pytest_status
exit $status
