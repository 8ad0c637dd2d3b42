"""GPU tier: the vLLM integration tests again, on CUDA, plus what only a GPU shows (IPC weight sync, memory
given back when an owner dies). Every test here is marked `gpu` (tests/conftest.py) and deselected where
torch sees no CUDA device, so CPU runs neither run nor count them."""

from __future__ import annotations

from reuse import load

_fixtures = load("conftest")
tiny_model_dir = _fixtures.tiny_model_dir
engine_outputs = _fixtures.engine_outputs
tiny_policy = _fixtures.tiny_policy
hf_model = _fixtures.hf_model
