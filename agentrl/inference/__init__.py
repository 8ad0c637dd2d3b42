"""Policies backed by real models: an in-process vLLM engine, any OpenAI-compatible server, and a seeded torch
sampler on the Hugging Face model (`torch_sampler`: slow but bit-reproducible, `model.engine: torch`).

`VLLMPolicy` is imported lazily, so ``import agentrl.inference`` works on machines without vLLM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentrl.inference.openai import OpenAIPolicy

if TYPE_CHECKING:
    from agentrl.inference.vllm import VLLMPolicy

__all__ = ["OpenAIPolicy", "VLLMPolicy"]


def __getattr__(name: str) -> Any:
    if name == "VLLMPolicy":
        from agentrl.inference.vllm import VLLMPolicy

        return VLLMPolicy
    raise AttributeError(f"module 'agentrl.inference' has no attribute {name!r}")
