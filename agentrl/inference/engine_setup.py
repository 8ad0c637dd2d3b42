"""Engine settings `VLLMPolicy` derives for the device it runs on: dtype, memory, and the owner mark.

Kept apart from `vllm.py` so the rules are readable (and unit-testable) without starting an engine.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

from agentrl.inference import sizing
from agentrl.inference.reaper import OWNER_ENV

log = logging.getLogger(__name__)


def engine_dtype(dtype: str, config: Mapping[str, Any], cuda: bool) -> str:
    """The dtype to start vLLM with. "auto" on a GPU is bf16 unless the checkpoint is fp16 (vLLM's "auto"
    would run a float32 checkpoint in fp16 there); elsewhere the caller's choice stands."""
    if dtype != "auto" or not cuda:
        return dtype
    text = dict(config.get("text_config") or config)
    saved = str(text.get("torch_dtype") or text.get("dtype") or "").removeprefix("torch.")
    return "float16" if saved == "float16" else "bfloat16"


def memory_args(model: str, config: Mapping[str, Any], dtype: str, kv_cache_dtype: str, max_model_len: int,
                max_num_seqs: int, cuda: bool, kv_cache_memory_bytes: int | None = None) -> dict[str, Any]:
    """vLLM engine arguments that size the engine in bytes: ``kv_cache_memory_bytes`` always, plus on a GPU a
    ``gpu_memory_utilization`` just large enough for weights + KV cache + headroom (vLLM refuses to start
    when the GPU has less free than that fraction of its memory, even when the KV size is given in bytes)."""
    shape = sizing.KVShape.from_config(config, dtype, kv_cache_dtype)
    kind = "cuda" if cuda else "cpu"
    weights = sizing.weight_bytes(model)
    if dtype in ("bfloat16", "float16", "half") and str(config.get("torch_dtype") or config.get("dtype")) in (
            "float32", "torch.float32"):
        weights //= 2  # a float32 checkpoint served in 16 bits
    headroom = sizing.engine_headroom(kind)
    if cuda:
        import torch

        free, total = (int(x) for x in torch.cuda.mem_get_info(0))
        device = f"GPU 0 ({torch.cuda.get_device_name(0)})"
    else:
        free, total = sizing.host_free_bytes(), 0
        device = "the host (vLLM's CPU backend)"
    if kv_cache_memory_bytes is not None:
        kv = int(kv_cache_memory_bytes)
    else:
        plan = sizing.plan_kv_cache(shape, max_model_len=max_model_len, max_num_seqs=max_num_seqs, free_bytes=free,
                                    weights=weights, headroom=headroom, device=device,
                                    share=sizing.DEFAULT_SHARE[kind])
        kv = plan.bytes
    log.info("vLLM KV cache: %.3f GiB (%d bytes per token, max_model_len=%d, max_num_seqs=%d) on %s",
             kv / sizing.GiB, shape.bytes_per_token, max_model_len, max_num_seqs, device)
    args: dict[str, Any] = {"kv_cache_memory_bytes": kv}
    if cuda:
        need = weights + kv + headroom
        args["gpu_memory_utilization"] = round(min(need, free * 0.99) / total, 4)
    return args


@contextlib.contextmanager
def engine_owner() -> Iterator[None]:
    """While vLLM spawns its processes, mark this process as their owner (see `agentrl.inference.reaper`)."""
    before = os.environ.get(OWNER_ENV)
    os.environ[OWNER_ENV] = str(os.getpid())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(OWNER_ENV, None)
        else:
            os.environ[OWNER_ENV] = before


@contextlib.contextmanager
def in_process_worker(enabled: bool) -> Iterator[None]:
    """While vLLM builds a CPU engine whose worker runs in the engine core's process (``uni``), tell it not to
    switch that back to a worker process: vLLM's CPU platform does so unless VLLM_ENABLE_V1_MULTIPROCESSING is
    0, and the uni executor asserts the same variable in the engine core (which inherits it when spawned).
    AsyncLLM starts its engine core in its own process whatever the variable says, so nothing else changes."""
    if not enabled:
        yield
        return
    before = os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING")
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("VLLM_ENABLE_V1_MULTIPROCESSING", None)
        else:
            os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = before
