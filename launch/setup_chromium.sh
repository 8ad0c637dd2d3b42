#!/usr/bin/env bash
# Idempotent setup of a headless browser for the `browser` tests (evaluation report rendering):
#   1. Debian's `chromium` package (Playwright's own browser download cannot work offline)
#   2. the Python `playwright` driver in the venv, which we point at /usr/bin/chromium
# Re-running skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${AGENTRL_PYTHON:-$root/.venv/bin/python}

log() { printf '[setup_chromium] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v chromium >/dev/null 2>&1; then
  log "chromium already installed"
else
  log "installing chromium with apt-get"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if "$py" -c "import playwright.async_api" >/dev/null 2>&1; then
  log "playwright already installed"
else
  log "installing playwright into $("$py" -c 'import sys; print(sys.prefix)')"
  "$py" -m pip install -q "playwright>=1.45" 2>&1 | { grep -v '^WARNING: Location' || true; }
fi
chromium --version 2>/dev/null
