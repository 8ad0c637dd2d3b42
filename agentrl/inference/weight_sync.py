"""Runs inside vLLM's worker process: loads weights sent by `VLLMPolicy.update_weights`.

vLLM mixes this class into its worker (engine argument ``worker_extension_cls``), so its methods are reachable
with ``collective_rpc(name, args=...)``. Two transports, both carried by every vLLM RPC path without enabling
pickle-based serialization (only str, int, bool, bytes and lists travel):

- host bytes (`chunks`, `pack` / `unpack`): the tensors are sent as raw bytes with dtype and shape, in chunks of
  at most `DEFAULT_CHUNK_BYTES` (whole decoder layers per chunk), one RPC per chunk, each loaded in place before
  the next is packed. Works everywhere (CPU engines, a learner on another device).
- CUDA IPC handles (`share` / `open_shared`): when the learner's tensors live on the engine's own GPU, only a
  handle to each tensor's memory travels; the worker maps the same memory and copies it into its parameters
  on the GPU. No byte goes through the host.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

Packed = list[tuple[str, str, list[int], bytes]]
# name, dtype, size, stride, storage offset (elements), then storage._share_cuda_()'s fields minus the device:
# handle, storage bytes, storage offset (bytes), ref-counter handle and offset, event handle, event sync needed.
Shared = list[tuple[str, str, list[int], list[int], int, bytes, int, int, bytes, int, bytes, bool]]


# A host sync's message is at most this many bytes of tensor data (`chunks`). Every copy of a chunk exists once at
# a time: the RPC's message on the sending side, the received message and its decoded bytes in the engine, so
# the sync's transient is a few times this, not a few times the model (2.3 GiB for SmolLM2-135M in float32 sent
# whole, docs/reliability.md). Smaller costs one more RPC and in-place reload pass per chunk.
DEFAULT_CHUNK_BYTES = 128 * 2**20

_LAYER = re.compile(r"^(.*?\.\d+)(?:\.|$)")


def group_key(name: str) -> str:
    """The part of a Hugging Face parameter name that must not be split across chunks: through the first
    numeric component (``model.layers.3``: a decoder layer with all its experts), else "" (embeddings, the
    final norm and the head, which travel together so a tied head always comes with its embedding)."""
    match = _LAYER.match(name)
    return match.group(1) if match else ""


def chunks(named_tensors: Iterable[tuple[str, Any]], max_bytes: int | None) -> list[list[tuple[str, Any]]]:
    """(name, tensor) pairs split into chunks of at most `max_bytes` of tensor data, never splitting a
    `group_key` group: vLLM fuses a layer's projections (q/k/v, gate/up) into one parameter and processes a
    layer once all of it has arrived, so a chunk carries whole layers. A group larger than `max_bytes` is a
    chunk of its own. `max_bytes` None (or 0): one chunk."""
    items = list(named_tensors)
    if not max_bytes:
        return [items] if items else []
    groups: dict[str, list[tuple[str, Any]]] = {}
    for name, tensor in items:
        groups.setdefault(group_key(name), []).append((name, tensor))
    out: list[list[tuple[str, Any]]] = []
    size = 0
    for group in groups.values():
        nbytes = sum(t.numel() * t.element_size() for _, t in group)
        if out and size + nbytes <= max_bytes:
            out[-1].extend(group)
            size += nbytes
        else:
            out.append(list(group))
            size = nbytes
    return out


def pack(named_tensors) -> Packed:
    """(name, tensor) pairs -> (name, dtype, shape, raw bytes) for an RPC.

    The bytes are a view of the tensor's host memory, not a copy (a CPU tensor that is already contiguous is
    not copied at all): the RPC's encoder copies them into its message once. So the tensors must not change
    until the RPC has been sent; `VLLMPolicy.update_weights` blocks until then."""
    out = []
    for name, tensor in named_tensors:
        t = tensor.detach().to("cpu").contiguous()
        raw = memoryview(t.reshape(-1).view(torch.uint8).numpy()) if t.numel() else b""
        out.append((name, str(t.dtype).removeprefix("torch."), list(t.shape), raw))
    return out  # type: ignore[return-value]  # memoryviews travel as bytes


def unpack(packed: Packed) -> Iterator[tuple[str, torch.Tensor]]:
    """Tensors viewing the received bytes, not copies of them: the loaders only read what they load (copying it
    into the model's parameters), and the message is dropped after the load. torch warns once that the buffer
    is read-only; that is the point here, so the warning is silenced."""
    for name, dtype, shape, raw in packed:
        if raw:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="The given buffer is not writable")
                flat = torch.frombuffer(raw, dtype=torch.uint8)
        else:
            flat = torch.empty(0, dtype=torch.uint8)
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


def trim_memory() -> bool:
    """glibc's ``malloc_trim(0)``: returns freed heap memory to the system. False where there is no glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False


_RELOAD_LOGGERS = ("vllm.model_executor.model_loader.reload.layerwise",
                   "vllm.model_executor.model_loader.reload.inplace")


class _ChunkLogFilter(logging.Filter):
    """While one chunk reloads: drops vLLM's per-layer "Failed to load weights" (the layers other chunks carry)
    and keeps the names of its "weights were not loaded" warning in `not_loaded` instead of printing them."""

    def __init__(self) -> None:
        super().__init__()
        self.not_loaded: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        if message.endswith("Failed to load weights"):
            return False
        if message.startswith("Following weights were not loaded"):
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            self.not_loaded |= {str(n) for n in (args[0] if args else ())}
            return False
        return True

    @contextmanager
    def installed(self) -> Iterator[None]:
        loggers = [logging.getLogger(name) for name in _RELOAD_LOGGERS]
        for logger in loggers:
            logger.addFilter(self)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(self)


class WeightSyncExtension:
    """Worker mixin: in-place weight loading from HF-named tensors.

    Host bytes go through vLLM's in-place reload: vLLM's CPU backend repacks linear weights into oneDNN/SGL
    kernels and frees the originals, so a plain ``model.load_weights`` is not enough there; the reload re-runs
    that post-processing. CUDA IPC tensors go straight to the model's ``load_weights``, which copies each
    into its parameter on the GPU (dense bf16/fp16/fp32 checkpoints keep their parameters as loaded).
    """

    def agentrl_load_weights(self, packed: Packed, index: int = 0, count: int = 1) -> int:
        """Load chunk `index` of `count` (`chunks`) in place; returns the tensors loaded.

        Each chunk is a whole in-place reload of the layers it carries (vLLM's reload restores every other
        layer's tensors as they were), so the model is complete between chunks. vLLM warns per reload about
        every layer and weight it did not get; for a chunk that is every other layer, so those warnings are
        collected instead, and after the last chunk the weights that no chunk loaded get one warning, as a
        whole-state reload would have given them."""
        if count == 1:
            self.model_runner.reload_weights(weights_iterator=unpack(packed))  # type: ignore[attr-defined]
            return len(packed)
        quiet = _ChunkLogFilter()
        with quiet.installed():
            self.model_runner.reload_weights(weights_iterator=unpack(packed))  # type: ignore[attr-defined]
        missing = quiet.not_loaded if index == 0 else self._agentrl_not_loaded & quiet.not_loaded
        self._agentrl_not_loaded = missing
        if index == count - 1 and missing:
            logging.getLogger(_RELOAD_LOGGERS[1]).warning(
                "Following weights were not loaded by any of the %d chunks of the weight sync: %s", count,
                sorted(missing))
        return len(packed)

    def agentrl_trim_memory(self) -> bool:
        """Hand the memory the C allocator keeps after frees back to the system (glibc's ``malloc_trim``)."""
        return trim_memory()

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
