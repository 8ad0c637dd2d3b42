"""Runs inside vLLM's worker process: loads weights sent by `VLLMPolicy.update_weights`.

vLLM mixes this class into its worker (engine argument ``worker_extension_cls``), so the method is reachable
with ``collective_rpc("agentrl_load_weights", args=(packed,))``. Tensors travel as raw bytes with dtype and
shape, which every vLLM transport carries without enabling pickle-based serialization.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

Packed = list[tuple[str, str, list[int], bytes]]


def pack(named_tensors) -> Packed:
    """(name, tensor) pairs -> (name, dtype, shape, bytes), copied to host memory."""
    out = []
    for name, tensor in named_tensors:
        t = tensor.detach().to("cpu").contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        out.append((name, str(t.dtype).removeprefix("torch."), list(t.shape), raw))
    return out


def unpack(packed: Packed) -> Iterator[tuple[str, torch.Tensor]]:
    for name, dtype, shape, raw in packed:
        flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        yield name, flat.view(getattr(torch, dtype)).reshape(shape)


class WeightSyncExtension:
    """Worker mixin: in-place weight loading from HF-named tensors.

    A plain ``model.load_weights`` is not enough after start-up: vLLM's CPU backend repacks linear weights
    into oneDNN/SGL kernels and frees the originals, so we go through vLLM's in-place reload, which re-runs
    that post-processing.
    """

    def agentrl_load_weights(self, packed: Packed) -> int:
        self.model_runner.reload_weights(weights_iterator=unpack(packed))  # type: ignore[attr-defined]
        return len(packed)
