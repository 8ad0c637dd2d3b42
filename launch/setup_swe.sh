#!/usr/bin/env bash
# Idempotent setup of the SWE environment's task images (run after setup_docker.sh, which starts the engine
# and builds the base image). On this host it downloads the shipped tasks' sdists and the pytest wheels from
# PyPI (pip, checked by sha256), then builds the toolchain image and one image per shipped task; existing
# images are kept. Nothing is downloaded inside a sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${AGENTRL_PYTHON:-$(pwd)/.venv/bin/python}
printf '[setup_swe] building the SWE task images (about 30 s when nothing is cached)\n'
"$py" -m agentrl.environments.swe.cli build-images
