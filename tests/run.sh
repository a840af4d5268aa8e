#!/usr/bin/env bash
# Sets up and runs every test of tb_prune_plugin: lint, Python tests (real training, real
# TensorBoard, real browser) and the frontend's unit tests. Run from anywhere:
#   bash tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "== installing the package (builds the frontend with npm) and the test requirements"
python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
(cd frontend && npm ci --no-audit --no-fund --loglevel=error)
python -m pip install -q --disable-pip-version-check -e .

echo "== lint"
python -m ruff check tb_prune_plugin callbacks tests benchmarks setup.py
python -m ruff format --check tb_prune_plugin callbacks tests benchmarks setup.py

echo "== frontend: typecheck and unit tests"
(cd frontend && npm run --silent typecheck && npm test --silent)

echo "== python tests"
python -m pytest -q -p no:cacheprovider "$@"
