"""Turning ``--policy`` into policies: ``scripted``, an OpenAI-compatible URL, or a local model via vLLM.

- ``scripted``: the env's registered scripted policy, built per episode with the episode's seed (so the same
  seed gives the same episode).
- ``http://HOST:PORT/v1`` (or https): an `OpenAIPolicy`, one client per episode whose requests carry the
  episode's seed (vLLM serve honours per-request seeds, which makes sampled runs repeatable). The model name is
  ``--model``, or the first model the server lists at ``/v1/models``.
- anything else: a model for `VLLMPolicy` in this process (``tiny``, ``smollm2-135m``, a checkpoint folder or
  a hub id). One engine, built at the first episode, serves every episode; its sampling is seeded once per
  run, so with concurrency > 1 the exact samples depend on scheduling. Use an OpenAI-compatible server for
  repeatable sampled runs.
"""

from __future__ import annotations

import inspect
from typing import Any

from agentrl import registry
from agentrl.errors import ConfigError
from agentrl.evaluation.plan import EvalSpec
from agentrl.policy_contract import Policy

SCRIPTED = "scripted"
_VLLM_KEYS = frozenset({"max_tokens", "temperature", "top_p", "top_k", "max_model_len", "gpu_memory_utilization",
                        "dtype", "max_num_seqs"})


def is_url(policy: str) -> bool:
    return policy.startswith(("http://", "https://"))


class PolicySource:
    """Hands out the policy for each episode and closes what it opened."""

    def __init__(self, spec: EvalSpec):
        self.spec = spec
        self._shared: Any = None
        self._model: str | None = spec.model
        if spec.policy == SCRIPTED:
            if registry.scripted_policy(spec.env_id, 0) is None:
                raise ConfigError(f"{spec.env_id} registered no scripted policy; pass --policy with a model or an "
                                  "OpenAI-compatible URL instead.")
        elif is_url(spec.policy):
            self._model = spec.model or _first_served_model(spec.policy)
        else:
            bad = set(spec.sampling) - _VLLM_KEYS
            if bad:
                raise ConfigError(f"sampling options {sorted(bad)} do not apply to a local vLLM policy; "
                                  f"valid: {sorted(_VLLM_KEYS)}.")

    def for_episode(self, seed: int) -> Policy:
        if self._shared is not None:
            return self._shared
        if self.spec.policy != SCRIPTED and not is_url(self.spec.policy):
            # built at the first episode, not before: a driver whose episodes run elsewhere (Ray) loads no engine
            from agentrl.inference import VLLMPolicy

            self._shared = VLLMPolicy(self.spec.policy, seed=self.spec.seed, **self.spec.sampling)
            return self._shared
        if self.spec.policy == SCRIPTED:
            return registry.scripted_policy(self.spec.env_id, seed)
        from agentrl.inference import OpenAIPolicy

        return OpenAIPolicy(self.spec.policy, self._model, **{**self.spec.sampling, "seed": seed})

    async def release(self, policy: Policy) -> None:
        """Close a per-episode policy (a shared engine stays open until `close`)."""
        if policy is self._shared:
            return
        close = getattr(policy, "close", None)
        if close is not None:
            result = close()
            if inspect.isawaitable(result):
                await result

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None


def _first_served_model(base_url: str) -> str:
    import httpx

    url = base_url.rstrip("/") + "/models"
    try:
        data = httpx.get(url, timeout=30).json()
        return data["data"][0]["id"]
    except Exception as e:
        raise ConfigError(f"could not list the models served at {url} ({type(e).__name__}: {e}); pass --model NAME "
                          "or check that the server is up and the URL ends in /v1.") from e
