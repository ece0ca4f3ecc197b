#!/usr/bin/env bash
# Test servers that do not come from PyPI, installed into the git-ignored .servers/ folder.
# Azurite (the Azure Blob emulator) is an npm package; re-running is cheap: nothing is installed
# when the wanted version is already there. tests/servers/azurite_server.py runs this script when
# Azurite is missing, so a bare `pytest` works too.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium and chromedriver, for the Airflow UI test (tests/e2e/test_sharded_scheduler.py);
# only as root and only when missing (never a browser download). Without them the UI test skips.
if [ ! -x /usr/bin/chromedriver ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y chromium chromium-driver >/dev/null 2>&1 \
        || { apt-get update >/dev/null 2>&1 && apt-get install -y chromium chromium-driver >/dev/null 2>&1; } \
        || echo "setup-servers: could not install chromium/chromium-driver; the UI test will be skipped" >&2
fi

azurite_version=3.35.0
installed="$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' .servers/node_modules/azurite/package.json 2>/dev/null | head -1 || true)"
if [ -x .servers/node_modules/.bin/azurite-blob ] && [ "$installed" = "$azurite_version" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "setup-servers: npm is needed to install Azurite $azurite_version (the Azure Blob emulator)" >&2
    exit 1
fi
mkdir -p .servers
npm install --prefix .servers --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >/dev/null
echo "setup-servers: Azurite $azurite_version installed in .servers/"
