#!/usr/bin/env bash
# The demo on a fresh machine: builds .venv, makes local input files, runs one export, shows the result.
# No servers are needed: local files in, local files out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh

rm -rf demo/input demo/out demo/state
.venv/bin/python demo/generate_input.py demo/input
echo "== ozzy validate demo/config.yaml"
.venv/bin/ozzy validate demo/config.yaml
echo "== ozzy run demo/config.yaml"
.venv/bin/ozzy run demo/config.yaml
echo "== output"
find demo/out -type f | sort | while read -r file; do
    printf '%-40s %6d lines\n' "$file" "$(wc -l < "$file")"
done
echo "== first lines of $(find demo/out -type f | sort | head -1)"
head -3 "$(find demo/out -type f | sort | head -1)"
