#!/usr/bin/env bash
# Idempotent setup of the open-source agent harness that swe/MiniSWEAgent-v0 runs inside the SWE sandboxes:
# mini-swe-agent and its dependencies, pinned with hashes in launch/harness/mini-swe-agent.txt, installed
# by pip on this host into a self-contained folder (about 220 MB) that the env mounts read-only into each
# container. Nothing is downloaded inside a sandbox. The folder is for CPython 3.11 (the task images' Python,
# Debian bookworm); it is byte-compiled here because sandboxes never write .pyc files.
# Folder: $AGENTRL_HARNESS_DIR (default ~/.cache/agentrl/harness)/mini-swe-agent.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${AGENTRL_PYTHON:-$(pwd)/.venv/bin/python}
reqs=launch/harness/mini-swe-agent.txt
dest=${AGENTRL_HARNESS_DIR:-$HOME/.cache/agentrl/harness}/mini-swe-agent
want=$(sha256sum "$reqs" | cut -c1-16)

log() { printf '[setup_harness] %s\n' "$*"; }
if [ "$(cat "$dest/.agentrl-harness" 2>/dev/null)" = "$want" ]; then
  log "mini-swe-agent already installed at $dest"
  exit 0
fi
"$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { log "$py is not CPython 3.11, the Python of the SWE task images: set AGENTRL_PYTHON to a 3.11"; exit 1; }
log "installing mini-swe-agent into $dest (about a minute)"
rm -rf "$dest.tmp"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary :all: \
  --no-compile --target "$dest.tmp" -r "$reqs" 2>&1 | { grep -v '^WARNING: Location' || true; }
[ -d "$dest.tmp/minisweagent" ] || { log "pip did not install minisweagent: see its output above"; exit 1; }
"$py" -m compileall -q -j 1 --invalidation-mode unchecked-hash "$dest.tmp" >/dev/null \
  || log "byte-compiling reported errors (files that are not Python 3.11 source); continuing"
chmod -R a+rX "$dest.tmp"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "$want" > "$dest/.agentrl-harness"
log "done: $(du -sh "$dest" | cut -f1)"
