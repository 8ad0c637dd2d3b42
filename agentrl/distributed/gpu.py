"""GPU code paths: placement groups, the FSDP2 learner, NCCL weight broadcast to vLLM engines.

Only `placement` and `scheduling` run on CPU (the CPU test exercises them with CPU-only bundles). The rest is
the GPU path, written against torch.distributed and vLLM's public worker-extension hook; it is not exercised
on the CPU machines this project's CI uses. How it fits together on GPUs:

    placement group bundles:  [learner: learner_gpus GPUs] [worker 0: g GPUs] [worker 1: g GPUs] ...
    learner ranks 0..N-1      FSDPLearner (fully_shard per decoder layer, then the root), one process each
    weight sync (nccl):       learner rank 0 gathers the full state dict layer by layer and broadcasts each
                              tensor over a NCCL group {learner rank 0} + {every vLLM worker rank};
                              each vLLM worker receives into fresh CUDA tensors and calls model.load_weights
                              (in place, no disk, no host copy).

Weight sync `inplace` (the CPU default) sends host tensors through Ray's object store to
`VLLMPolicy.update_weights`, which goes through vLLM's `reload_weights` (the CPU backend repacks weights).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from agentrl.learner import Learner


def placement(d: Any) -> Any:
    """One bundle for the learner, one per rollout worker, packed by `d.placement_strategy`."""
    from ray.util.placement_group import placement_group

    def bundle(cpus: float, gpus: float) -> dict[str, float]:
        return {"CPU": cpus, **({"GPU": gpus} if gpus else {})}

    bundles = [bundle(1, d.learner_gpus)] + [bundle(d.cpus_per_actor, d.gpus_per_rollout_worker)
                                               for _ in range(d.num_rollout_workers)]
    group = placement_group(bundles, strategy=d.placement_strategy, name=f"{d.namespace}-train")
    import ray

    ray.get(group.ready(), timeout=600)
    return group


def scheduling(group: Any, index: int) -> Any:
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    return PlacementGroupSchedulingStrategy(placement_group=group, placement_group_bundle_index=index,
                                            placement_group_capture_child_tasks=True)


class FSDPLearner(Learner):
    """The learner sharded with FSDP2 over the ranks of the default process group (GPU only, untested here).

    Each rank is a Ray actor started with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set; every rank gets
    the same episodes and trains on the groups ``group_index % world_size == rank`` (groups stay whole, so
    group-relative advantages are unchanged). FSDP averages gradients over ranks, which equals the token mean
    of the whole batch when the ranks hold similar token counts.
    """

    def _build_model(self, model_path: str | Path) -> torch.nn.Module:
        import torch.distributed as dist
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        if not dist.is_initialized():
            dist.init_process_group("nccl")
        torch.cuda.set_device(dist.get_rank() % torch.cuda.device_count())
        self.device = torch.device("cuda", torch.cuda.current_device())
        model = super()._build_model(model_path)
        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
        for layer in model.model.layers:
            fully_shard(layer, mp_policy=mp)
        fully_shard(model, mp_policy=mp)
        return model

    def update(self, episodes):  # type: ignore[override]
        import torch.distributed as dist

        groups = sorted({e.group_id for e in episodes})
        mine = {g for i, g in enumerate(groups) if i % dist.get_world_size() == dist.get_rank()}
        return super().update([e for e in episodes if e.group_id in mine])

    def export_weights(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Full (unsharded) tensors on every rank, one at a time, for rank 0 to broadcast."""
        for name, tensor in self.model.state_dict().items():
            full = tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor
            yield name, full.detach()


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
    return [(n, str(t.dtype).removeprefix("torch."), list(t.shape)) for n, t in learner.model.state_dict().items()]


class NCCLWeightReceiver:
    """vLLM worker extension (``worker_extension_cls``) for the GPU weight path.

    The rollout worker calls, through ``engine.collective_rpc``: `agentrl_init_weight_group` once (every vLLM
    rank joins a stateless NCCL group with the learner's rank 0, at ranks 1..), then `agentrl_receive_weights`
    for each sync while the learner runs `broadcast_weights`. `agentrl_load_weights` keeps the host path
    working as well (the same method as `agentrl.policies._vllm_worker.WeightSyncExtension`).
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

    def agentrl_load_weights(self, packed: list) -> int:
        from agentrl.policies._vllm_worker import WeightSyncExtension

        return WeightSyncExtension.agentrl_load_weights(self, packed)  # type: ignore[arg-type]
