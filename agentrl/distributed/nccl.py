"""NCCL weight broadcast from learner rank 0 into vLLM engines (the GPU weight path; not called by the driver
yet: the config refuses ``distributed.weight_sync: nccl`` until it has run once on GPUs).

Learner rank 0 gathers the full state dict tensor by tensor and broadcasts each one over a NCCL group
{learner rank 0} + {every vLLM worker rank} (`broadcast_weights`); each vLLM worker receives into fresh CUDA
tensors and calls ``model.load_weights`` (`NCCLWeightReceiver`, a vLLM worker extension): in place, no disk,
no host copy. `weight_specs` is the (name, dtype, shape) list both sides iterate in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from agentrl.learner import Learner


def broadcast_weights(learner: Learner, communicator: Any) -> int:
    """Learner rank 0: send every full tensor over the NCCL group (rank 0 of `communicator` is the learner).
    The receivers must be inside `NCCLWeightReceiver.receive_weights` with the same spec list."""
    sent = 0
    for _, tensor in learner.export_weights():
        communicator.broadcast(tensor.contiguous(), src=0, stream=torch.cuda.current_stream())
        sent += 1
    torch.cuda.synchronize()
    return sent


def weight_specs(learner: Learner) -> list[tuple[str, str, list[int]]]:
    """(name, dtype, shape) of every tensor of the learner's model, in the order `broadcast_weights` sends them."""
    return [(n, str(t.dtype).removeprefix("torch."), list(t.shape)) for n, t in learner.model.state_dict().items()]


class NCCLWeightReceiver:
    """vLLM worker extension (``worker_extension_cls``) for the GPU weight path.

    The rollout worker calls, through ``engine.collective_rpc``: `agentrl_init_weight_group` once (every vLLM
    rank joins a stateless NCCL group with the learner's rank 0, at ranks 1..), then `agentrl_receive_weights`
    for each sync while the learner runs `broadcast_weights`. `agentrl_load_weights` keeps the host path
    working as well (the same method as `agentrl.inference.weight_sync.WeightSyncExtension`).
    """

    def agentrl_init_weight_group(self, host: str, port: int, rank_offset: int, world_size: int) -> None:
        from vllm.distributed.device_communicators.pynccl import PyNcclCommunicator
        from vllm.distributed.parallel_state import get_world_group
        from vllm.distributed.utils import StatelessProcessGroup

        rank = get_world_group().rank + rank_offset
        group = StatelessProcessGroup.create(host=host, port=port, rank=rank, world_size=world_size)
        self._agentrl_comm = PyNcclCommunicator(group, device=self.device)  # type: ignore[attr-defined]

    def agentrl_receive_weights(self, specs: list[tuple[str, str, list[int]]]) -> int:
        def received() -> Iterator[tuple[str, torch.Tensor]]:
            for name, dtype, shape in specs:
                buffer = torch.empty(shape, dtype=getattr(torch, dtype), device=self.device)  # type: ignore
                self._agentrl_comm.broadcast(buffer, src=0, stream=torch.cuda.current_stream())
                yield name, buffer

        self.model_runner.model.load_weights(weights=received())  # type: ignore[attr-defined]
        torch.cuda.synchronize()
        return len(specs)

    def agentrl_load_weights(self, packed: list, index: int = 0, count: int = 1) -> int:
        from agentrl.inference.weight_sync import WeightSyncExtension

        return WeightSyncExtension.agentrl_load_weights(self, packed, index, count)  # type: ignore[arg-type]
