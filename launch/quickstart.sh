#!/usr/bin/env bash
# The main job: set everything up, then train a tiny model on the Echo task with GRPO through real vLLM (CPU).
# Extra KEY=VALUE arguments override the config, e.g. `bash launch/quickstart.sh run.steps=50`.
set -euo pipefail
cd "$(dirname "$0")/.."
AGENTRL_SETUP_ONLY=venv bash launch/setup.sh
exec .venv/bin/agentrl train --config launch/configs/quickstart.yaml "$@"
