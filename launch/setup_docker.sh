#!/usr/bin/env bash
# Idempotent setup of the sandbox backends on a fresh Debian machine (run as root):
#   1. apt packages: docker.io (engine), bubblewrap (daemon-less backend), debootstrap (offline base image)
#   2. a Docker engine: if none answers, start `dockerd --bridge=none --iptables=false` in the background
#      (no bridge: sandboxes run with network_mode=none and nothing may reach private-range addresses)
#   3. the offline base image (agentrl sandbox build-base), if its tag is missing
# Re-running skips what is already in place. Engine log: $AGENTRL_DOCKERD_LOG (default /var/log/agentrl-dockerd.log).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${AGENTRL_PYTHON:-$root/.venv/bin/python}
dockerd_log=${AGENTRL_DOCKERD_LOG:-/var/log/agentrl-dockerd.log}

log() { printf '[setup_docker] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} with apt-get"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

engine_up() { docker info >/dev/null 2>&1; }
if engine_up; then
  log "docker engine already running"
else
  log "starting dockerd --bridge=none --iptables=false (log: $dockerd_log)"
  # setsid: the engine must outlive this script and the shell that ran it.
  as_root setsid dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    >>"$dockerd_log" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    if [ -S /var/run/docker.sock ] && engine_up; then break; fi
    sleep 0.5
  done
  engine_up || { log "dockerd did not answer within 60 s; last log lines:"; tail -20 "$dockerd_log"; exit 1; }
  log "docker engine up"
fi

# The venv may lack the Docker SDK when pyproject's extras do not carry it yet.
"$py" -c "import docker" 2>/dev/null || "$root/.venv/bin/pip" install -q "docker>=7"
"$py" -m agentrl.sandbox.cli build-base
