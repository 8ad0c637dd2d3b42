#!/usr/bin/env bash
# Idempotent setup for the MiniWoB++ browser tests: Debian's chromedriver (package chromium-driver, the same
# version as the chromium package), which the official `miniwob` gymnasium env drives through Selenium. Our
# MiniWoB env itself needs only chromium + playwright (launch/setup_chromium.sh).
set -euo pipefail

log() { printf '[setup_web] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v chromedriver >/dev/null 2>&1; then
  log "chromedriver already installed"
else
  log "installing chromium-driver with apt-get"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium-driver >/dev/null
fi
chromedriver --version
