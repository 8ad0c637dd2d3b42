"""Runs inside vLLM's worker process: loads weights sent by `VLLMPolicy.update_weights`.

vLLM mixes this class into its worker (engine argument ``worker_extension_cls``), so its methods are reachable
with ``collective_rpc(name, args=...)``. Two transports, both carried by every vLLM RPC path without enabling
pickle-based serialization (only str, int, bool, bytes and lists travel):

- host bytes (`pack` / `unpack`): each tensor copied to host memory and sent as raw bytes with dtype and shape.
  Works everywhere (CPU engines, a learner on another device).
- CUDA IPC handles (`share` / `open_shared`): when the learner's tensors live on the engine's own GPU, only a
  handle to each tensor's memory travels; the worker maps the same memory and copies it into its parameters
  on the GPU. No byte goes through the host.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch

Packed = list[tuple[str, str, list[int], bytes]]
# name, dtype, size, stride, storage offset (elements), then storage._share_cuda_()'s fields minus the device:
# handle, storage bytes, storage offset (bytes), ref-counter handle and offset, event handle, event sync needed.
Shared = list[tuple[str, str, list[int], list[int], int, bytes, int, int, bytes, int, bytes, bool]]


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


def share(named_tensors: Iterable[tuple[str, torch.Tensor]]) -> tuple[Shared, list[torch.Tensor]]:
    """CUDA tensors -> IPC descriptors, plus the tensors the descriptors point into.

    The caller must keep the returned tensors alive until the worker has copied them (a non-contiguous input
    is copied into fresh memory here, which nothing else holds).
    """
    shared, keep = [], []
    for name, tensor in named_tensors:
        t = tensor.detach().contiguous()
        keep.append(t)
        storage = t.untyped_storage()
        (_, handle, size_bytes, offset_bytes, ref_handle, ref_offset, event_handle,
         event_sync) = storage._share_cuda_()
        shared.append((name, str(t.dtype).removeprefix("torch."), list(t.shape), list(t.stride()),
                       t.storage_offset(), handle, size_bytes, offset_bytes, ref_handle, ref_offset,
                       event_handle, event_sync))
    return shared, keep


def open_shared(shared: Shared, device: int) -> Iterator[tuple[str, torch.Tensor]]:
    """IPC descriptors -> tensors on `device` (this process's index of the same GPU) viewing the sender's memory."""
    from torch.multiprocessing.reductions import rebuild_cuda_tensor

    for (name, dtype, size, stride, offset, handle, size_bytes, offset_bytes, ref_handle, ref_offset,
         event_handle, event_sync) in shared:
        yield name, rebuild_cuda_tensor(torch.Tensor, torch.Size(size), tuple(stride), offset,
                                        torch.storage.TypedStorage, getattr(torch, dtype), device, handle,
                                        size_bytes, offset_bytes, False, ref_handle, ref_offset, event_handle,
                                        event_sync)


class WeightSyncExtension:
    """Worker mixin: in-place weight loading from HF-named tensors.

    Host bytes go through vLLM's in-place reload: vLLM's CPU backend repacks linear weights into oneDNN/SGL
    kernels and frees the originals, so a plain ``model.load_weights`` is not enough there; the reload re-runs
    that post-processing. CUDA IPC tensors go straight to the model's ``load_weights``, which copies each
    into its parameter on the GPU (dense bf16/fp16/fp32 checkpoints keep their parameters as loaded).
    """

    def agentrl_load_weights(self, packed: Packed) -> int:
        self.model_runner.reload_weights(weights_iterator=unpack(packed))  # type: ignore[attr-defined]
        return len(packed)

    def agentrl_device_uuid(self) -> str:
        """The UUID of this worker's GPU ("" on CPU), to tell whether a learner's tensors live on it."""
        device: Any = getattr(self, "device", None)
        if device is None or getattr(device, "type", "cpu") != "cuda":
            return ""
        return str(torch.cuda.get_device_properties(device).uuid)

    def agentrl_load_shared(self, shared: Shared) -> int:
        device = self.device.index or 0  # type: ignore[attr-defined]
        model = self.get_model()  # type: ignore[attr-defined]  # the raw model, outside any CUDA-graph wrapper
        with torch.device(self.device):  # type: ignore[attr-defined]
            model.load_weights(open_shared(shared, device))
        torch.cuda.synchronize(device)  # the copies are done before the sender may free or change its tensors
        return len(shared)
