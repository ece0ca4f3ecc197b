#!/usr/bin/env bash
# The sharded export on a real Airflow (scheduler + dag-processor + api-server, LocalExecutor,
# parallelism 2, PostgreSQL metadata DB): 1M items in 8 shards, one shard killed once and resumed,
# then the UI checked in headless Chromium. Prints the task start/end table; saves the UI
# screenshots to docs/. OZZY_SHARDED_ITEMS changes the size (default 1,000,000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-servers.sh  # chromium + chromedriver (apt, as root) when missing
OZZY_UI_SCREENSHOTS_TO_DOCS=1 exec .venv/bin/python -m pytest -q -p no:cacheprovider -s -m slow \
    tests/e2e/test_sharded_scheduler.py "$@"
