"""`TorchSamplerPolicy`: a token-exact policy that samples from a Hugging Face model with plain torch.

It exists for exact reproducibility, which an inference engine that batches requests cannot promise: each
turn is sampled alone (batch of one, so the arithmetic never depends on what else is running) with a
`torch.Generator` seeded by the caller, so the same weights, prompt and seed give the same tokens and
logprobs on any run. The exact-resume test and CPU debugging use it; real runs use `VLLMPolicy`.

Contract (the same as `VLLMPolicy`'s): `prompt_ids` are what the model saw (the chat template for a first
turn, the previous turn's tokens extended token-exactly after that), `completion_ids` what it sampled and
`logprobs` the raw model log-softmax of each sampled token (before temperature/top-p).

`device`: where the forward passes run (``cuda`` for a rollout worker that has a GPU); the draw itself is made
on the host from the last position's logits, so the seeded generator is the same on either device.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from agentrl.policy_contract import assistant_turn
from agentrl.types import AgentID, Message, Turn


class TorchSamplerPolicy:
    def __init__(self, model: str, *, max_tokens: int = 16, temperature: float = 1.0, top_p: float = 1.0,
                 max_model_len: int = 1024, dtype: str = "float32", seed: int = 0, device: str = "cpu"):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from agentrl.inference.vllm import ChatTokens
        from agentrl.models import resolve_model

        path = resolve_model(model)
        self.device = torch.device(device)
        self.model = AutoModelForCausalLM.from_pretrained(str(path), dtype=getattr(torch, dtype)).to(self.device).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.chat = ChatTokens(self.tokenizer)
        self.max_tokens, self.temperature, self.top_p = max_tokens, temperature, top_p
        self.max_model_len = max_model_len
        self.seed = seed
        self.version = 0
        self.last_sync_seconds: float | None = None
        self.eos = {self.tokenizer.eos_token_id} - {None}

    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None = None,
                       seed: int | None = None) -> Turn:
        prompt, room = self.chat.prompt(agent, messages, previous, self.max_model_len)
        generator = torch.Generator().manual_seed(self.seed if seed is None else seed)
        completion, logprobs, finish = self._sample(prompt, min(self.max_tokens, room), generator)
        text = self.tokenizer.decode(completion, skip_special_tokens=True)
        return assistant_turn(agent, messages, previous, text, prompt_ids=prompt, completion_ids=completion,
                              logprobs=logprobs, finish_reason=finish, policy_version=self.version)

    @torch.no_grad()
    def _sample(self, prompt: list[int], max_tokens: int, generator: torch.Generator
                ) -> tuple[list[int], list[float], str]:
        ids = torch.tensor([prompt], device=self.device)
        completion: list[int] = []
        logprobs: list[float] = []
        for _ in range(max_tokens):
            logits = self.model(input_ids=ids).logits[0, -1].float().cpu()
            raw = torch.log_softmax(logits, dim=-1)
            token = int(torch.multinomial(self._sampling_probs(logits), 1, generator=generator))
            completion.append(token)
            logprobs.append(float(raw[token]))
            if token in self.eos:
                return completion, logprobs, "stop"
            ids = torch.cat([ids, torch.tensor([[token]], device=self.device)], dim=1)
        return completion, logprobs, "length"

    def _sampling_probs(self, logits: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(logits / max(self.temperature, 1e-6), dim=-1)
        if self.top_p < 1.0:
            sorted_p, order = probs.sort(descending=True)
            keep = sorted_p.cumsum(0) - sorted_p < self.top_p
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
        return probs

    def update_weights(self, named_tensors: Iterable[tuple[str, Any]], version: int | None = None) -> float:
        started = time.monotonic()
        state = dict(named_tensors)
        missing = self.model.load_state_dict(state, strict=False).missing_keys
        if missing:  # tied embeddings may be absent from a state dict; anything else is a mismatch
            raise ValueError(f"update_weights: weights missing for {missing[:5]}")
        self.version = self.version + 1 if version is None else int(version)
        self.last_sync_seconds = time.monotonic() - started
        return self.last_sync_seconds

    def close(self) -> None:
        self.model = None
