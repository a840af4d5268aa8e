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

echo "== installing the test requirements, the frontend's npm packages and the package"
python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
(cd frontend && npm ci --no-audit --no-fund --loglevel=error)

echo "== the committed frontend bundle is the one its sources build"
(cd frontend && npm run --silent build >/dev/null)
# Fails when the committed sources build another bundle than the committed one; with
# uncommitted frontend edits (work in progress) it only says so.
if git rev-parse --git-dir >/dev/null 2>&1 \
  && [ -n "$(git status --porcelain -- tb_prune_plugin/static)" ]; then
  git status --short -- tb_prune_plugin/static
  if [ -n "$(git status --porcelain -- frontend ':!frontend/node_modules')" ]; then
    echo "note: frontend/ has uncommitted changes; commit tb_prune_plugin/static/ with them"
  else
    echo "tb_prune_plugin/static/ is stale: it differs from what frontend/ builds. Fix:"
    echo "  cd frontend && npm ci && npm run build, then commit tb_prune_plugin/static/"
    exit 1
  fi
fi
python -m pip install -q --disable-pip-version-check -e ".[demo]"

echo "== lint"
python -m ruff check tb_prune_plugin callbacks tests benchmarks setup.py
python -m ruff format --check tb_prune_plugin callbacks tests benchmarks setup.py

echo "== frontend: typecheck and unit tests"
(cd frontend && npm run --silent typecheck && npm test --silent)

echo "== python tests"
python -m pytest -q -p no:cacheprovider "$@"
