"""How many bytes a vLLM engine's KV cache needs, computed from the model and the engine's limits.

vLLM sizes its KV cache from `gpu_memory_utilization`, a fraction of the device's memory. On the CPU backend
that fraction is taken of what NUMA node 0 *reports*, which on small or busy machines is far from what is
free, so a fraction that works on one machine fails on the next. agentrl instead asks for what the engine
needs (vLLM's `kv_cache_memory_bytes`, honoured by the CUDA and the CPU workers alike):

    bytes per token = 2 (K and V) x layers x KV heads x head dim x bytes per element
    tokens          = max_num_seqs x max_model_len (rounded up to whole blocks)

plus a small margin. When that is more than a share of what the device has free (`DEFAULT_SHARE`), the
cache shrinks to that share (fewer sequences at full length run at once; vLLM queues or preempts the rest),
never below one sequence of `max_model_len`; when not even that fits, `EngineMemoryError` names the setting
to lower and to what.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentrl.errors import ConfigError, EngineMemoryError

log = logging.getLogger(__name__)

GiB = 1 << 30
BLOCK_TOKENS = 128  # the largest block size vLLM uses for dense attention here; rounding up to it is safe
MARGIN = 0.05  # page padding and per-layer alignment vLLM adds on top of the raw K/V bytes
_DTYPE_BYTES = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2, "fp8": 1, "fp8_e4m3": 1,
                "fp8_e5m2": 1, "int8": 1}


@dataclass(frozen=True)
class KVShape:
    """What one token of context costs in the KV cache."""

    layers: int
    kv_heads: int
    head_dim: int
    element_bytes: int

    @property
    def bytes_per_token(self) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * self.element_bytes

    @classmethod
    def from_config(cls, config: Mapping[str, Any], dtype: str = "auto", kv_cache_dtype: str = "auto") -> KVShape:
        """From a Hugging Face ``config.json`` mapping (a multimodal model's ``text_config`` is used).

        `dtype` is the engine's weight dtype ("auto" = the checkpoint's); `kv_cache_dtype` vLLM's setting of
        that name ("auto" = the weights' dtype).
        """
        config = dict(config.get("text_config") or config)
        try:
            layers = int(config["num_hidden_layers"])
            heads = int(config["num_attention_heads"])
            hidden = int(config["hidden_size"])
        except KeyError as e:
            raise ConfigError(f"the model config has no {e.args[0]!r}, so agentrl cannot size its KV cache; pass "
                              "kv_cache_memory_bytes (or gpu_memory_utilization) to VLLMPolicy explicitly.") from e
        kv_heads = int(config.get("num_key_value_heads") or heads)
        head_dim = int(config.get("head_dim") or hidden // heads)
        chosen = kv_cache_dtype if kv_cache_dtype != "auto" else dtype
        if chosen == "auto":
            chosen = str(config.get("torch_dtype") or config.get("dtype") or "float32")
        chosen = chosen.removeprefix("torch.")
        if chosen not in _DTYPE_BYTES and not chosen.startswith("fp8"):
            raise ConfigError(f"dtype {chosen!r} is not one agentrl can size a KV cache for; use one of "
                              f"{sorted(_DTYPE_BYTES)} or pass kv_cache_memory_bytes explicitly.")
        return cls(layers, kv_heads, head_dim, _DTYPE_BYTES.get(chosen, 1))


def read_config(model: str) -> dict[str, Any]:
    """The model's config as a mapping: ``config.json`` of a local folder, else transformers' AutoConfig."""
    path = Path(model) / "config.json"
    if path.is_file():
        return json.loads(path.read_text())
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(model).to_dict()


def weight_bytes(model: str) -> int:
    """Bytes of the checkpoint's weight files (0 for a hub id: unknown until downloaded)."""
    folder = Path(model)
    if not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.iterdir() if f.suffix in (".safetensors", ".bin", ".pt"))


def round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def tokens_needed(max_model_len: int, max_num_seqs: int) -> int:
    """KV slots for `max_num_seqs` sequences all at `max_model_len`, in whole blocks."""
    return max_num_seqs * round_up(max_model_len, BLOCK_TOKENS)


def cache_bytes(shape: KVShape, tokens: int) -> int:
    """Bytes to ask vLLM for `tokens` slots, margin included, rounded up to MiB."""
    return round_up(int(shape.bytes_per_token * tokens * (1 + MARGIN)), 1 << 20)


@dataclass(frozen=True)
class KVPlan:
    """The KV cache an engine is started with, and why."""

    bytes: int
    tokens: int  # how many tokens of context it holds (without the margin)
    full_bytes: int  # what max_num_seqs sequences at max_model_len would need
    budget_bytes: int  # what was free for it (device free memory less weights and headroom)
    seq_tokens: int  # one sequence of max_model_len, in whole blocks

    @property
    def full_length_sequences(self) -> int:
        return self.tokens // self.seq_tokens


def plan_kv_cache(shape: KVShape, *, max_model_len: int, max_num_seqs: int, free_bytes: int, weights: int,
                  headroom: int, device: str, share: float = 1.0) -> KVPlan:
    """Size the KV cache: all `max_num_seqs` at `max_model_len` if that fits in `share` of what is left
    (``free - weights - headroom``), else as much as that share holds but at least one sequence of
    `max_model_len`; when not even that fits in all that is left, `EngineMemoryError`."""
    left = max(0, free_bytes - weights - headroom)
    budget = int(left * share)
    seq_tokens = round_up(max_model_len, BLOCK_TOKENS)
    full_tokens = tokens_needed(max_model_len, max_num_seqs)
    full = cache_bytes(shape, full_tokens)
    if full <= budget:
        return KVPlan(full, full_tokens, full, budget, seq_tokens)
    minimum = cache_bytes(shape, seq_tokens)
    if minimum > budget and minimum <= left:
        budget = minimum
    if minimum > budget:
        budget = left
        fits = (int(budget / (1 + MARGIN)) // shape.bytes_per_token) // BLOCK_TOKENS * BLOCK_TOKENS
        advice = (f"lower max_model_len to {fits} or less" if fits >= BLOCK_TOKENS
                  else "free memory on it (nothing useful fits)")
        raise EngineMemoryError(
            f"the vLLM engine does not fit on {device}: its KV cache needs {minimum / GiB:.2f} GiB for one "
            f"sequence of max_model_len={max_model_len} ({shape.bytes_per_token} bytes per token), but only "
            f"{budget / GiB:.2f} GiB is free for it ({free_bytes / GiB:.2f} GiB free, less "
            f"{weights / GiB:.2f} GiB of weights and {headroom / GiB:.2f} GiB of headroom). To fix: {advice}, "
            f"or stop what else holds memory there, or pass kv_cache_memory_bytes explicitly.")
    tokens = max(seq_tokens, (int(budget / (1 + MARGIN)) // shape.bytes_per_token) // BLOCK_TOKENS * BLOCK_TOKENS)
    plan = KVPlan(cache_bytes(shape, tokens), tokens, full, budget, seq_tokens)
    log.warning("KV cache shrunk to %.2f GiB (%d tokens, %d sequences of max_model_len=%d at once) because %s has "
                "%.2f GiB free for it; max_num_seqs=%d at full length would need %.2f GiB. Longer batches queue "
                "or are preempted; lower max_num_seqs to %d to match.", plan.bytes / GiB, tokens,
                plan.full_length_sequences, max_model_len, device, budget / GiB, max_num_seqs, full / GiB,
                max(1, plan.full_length_sequences))
    return plan


def host_free_bytes() -> int:
    """Free host memory as vLLM's CPU worker will judge it (NUMA node 0 where it reports less than the OS)."""
    import psutil

    free = psutil.virtual_memory().available
    try:
        from vllm.utils.cpu_resource_utils import get_memory_node_info
    except ImportError:  # other vLLM versions keep it elsewhere; the OS figure is then the best we have
        return free
    try:
        return min(free, get_memory_node_info(0).available_memory)
    except (OSError, KeyError, ValueError):
        return free


def cuda_free_bytes(device: int = 0) -> int:
    import torch

    return int(torch.cuda.mem_get_info(device)[0])


def engine_headroom(device_kind: str) -> int:
    """Memory an engine uses besides weights and KV cache: activations, CUDA graphs, sampler buffers on GPU;
    the worker's own runtime (torch, oneDNN) on CPU. Override with AGENTRL_ENGINE_HEADROOM_GIB."""
    override = os.environ.get("AGENTRL_ENGINE_HEADROOM_GIB")
    if override:
        return int(float(override) * GiB)
    # CPU: 1.5 GiB refused every training run of the suite while another process held all but 3 GiB (the
    # engine was left 0.7-1.4 GiB); the tiny-model quickstart passed there with 0.3 GiB.
    return 4 * GiB if device_kind == "cuda" else GiB // 2


# The most of what is left (free memory less weights and headroom) a default-sized KV cache takes: a CPU
# engine on a shared machine must leave the rest to other processes, a GPU engine to a colocated learner.
# An explicit kv_cache_memory_bytes is not limited by it.
DEFAULT_SHARE = {"cpu": 0.15, "cuda": 0.5}
