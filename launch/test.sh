#!/usr/bin/env bash
# The test command: sets up everything the tests need (venv, vLLM CPU build, Docker engine, ...) and
# runs the whole suite. Extra arguments go to pytest, e.g. `bash launch/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh
# The linter first: ruff's default rules plus import sorting (pyproject.toml), over the whole tree.
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q -rfEs "$@"
