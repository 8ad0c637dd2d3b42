"""Load modules of tests/integration/vllm by file, so the GPU tier reuses its fixtures and tests unchanged."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

VLLM_TESTS = Path(__file__).parents[1] / "integration" / "vllm"
sys.path.insert(0, str(VLLM_TESTS))  # vllm_owner, the helper both tiers use


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"agentrl_gpu_reuse_{name}", VLLM_TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
