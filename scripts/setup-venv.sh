#!/usr/bin/env bash
# Build (or refresh) .venv at the repository root from the committed lock.
# Plain pip cannot resolve Airflow + all providers in reasonable time, so uv installs the lock
# (requirements.lock, made with `uv pip compile --python-version 3.11 requirements.in -o requirements.lock`).
# Re-running is cheap: nothing is installed when the lock and pyproject.toml did not change.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${OZZY_PYTHON:-}"
if [ -z "$python_bin" ]; then
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
    done
fi
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "setup-venv: Python 3.11 is required (found $("$python_bin" --version 2>&1)); set OZZY_PYTHON" >&2
    exit 1
fi

stamp=.venv/.ozzy-installed
wanted="$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    exit 0
fi

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
.venv/bin/uv pip install --quiet --python .venv/bin/python -r requirements.lock
.venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .
echo "$wanted" > "$stamp"
echo "setup-venv: .venv ready ($(.venv/bin/python --version), $(.venv/bin/ozzy --help >/dev/null && echo 'ozzy installed'))"
