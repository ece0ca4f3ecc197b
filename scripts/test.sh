#!/usr/bin/env bash
# The whole test suite on a fresh machine: builds .venv, lints, type-checks, runs pytest.
# Servers the integration tests need are started by the test session itself (tests/servers/).
# OZZY_STRESS=1 also runs the slow stress tests (20 random kill -9 points per writer, load tests).
# OZZY_TEST_WORKERS=N sets the pytest-xdist processes (default 6: most tests wait on servers or on
# child processes, so 6 workers keep two cores busy; each worker starts its own servers). 0 runs
# in this process. Measured on 2 cores (2026-12-07, worksteal): 4 workers 13:58, 6 workers 12:26,
# serial about 32 minutes. Tests start longest first (tests/durations.py; --dist loadgroup keeps
# the tests of one xdist_group on one worker): on that day's profile the simulated wall time with
# 6 workers fell from 1033 s to 817 s (4 workers: 1321 s to 1225 s).
# Since 2026-12-07 xdist_group works again (tests/durations.name_xdist_groups: pytest 9 ignored
# pytest-xdist's group suffix, so module fixtures were built once per worker). That evening, quiet
# machine: pytest 1240 s for 2,546 tests, whole command 1420 s wall, 39.8 CPU-min; the suite is
# CPU-bound on 2 cores. OZZY_CPU_LOG=FILE + python -m tests.cpu_report FILE shows where CPU goes.
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
marker=(-m "not slow and not celery")
[ "${OZZY_STRESS:-0}" = "1" ] && marker=(-m "not celery")
workers=(-n "${OZZY_TEST_WORKERS:-6}" --dist loadgroup --no-loadscope-reorder)
[ "${OZZY_TEST_WORKERS:-6}" = "0" ] && workers=()
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=20 "${workers[@]}" "${marker[@]}" "$@"
pytest_status=$?
[ $pytest_status -ne 0 ] && status=$pytest_status

# CeleryExecutor across network-namespace hosts (issue 23): its own Airflow deployment, run alone
# after the suite (about 4 minutes); needs root for the namespaces, skips with the reason otherwise.
# OZZY_CELERY=0 leaves it out.
if [ "${OZZY_CELERY:-1}" = "1" ]; then
  echo "== pytest -m celery"
  .venv/bin/python -m pytest -q -p no:cacheprovider -m celery tests/e2e/test_celery_scale_out.py
  celery_status=$?
  [ $celery_status -ne 0 ] && status=$celery_status
fi
exit $status
