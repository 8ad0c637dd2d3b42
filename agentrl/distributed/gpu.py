"""GPU code paths: placement groups, the FSDP2 learner, NCCL weight broadcast to vLLM engines.

`placement`, `scheduling` and `FSDPLearner` (over gloo ranks) run on CPU in CI; NCCL ranks and the vLLM
broadcast are the GPU path, written against torch.distributed and vLLM's public worker-extension hook. How it
fits together on GPUs:

    placement group bundles:  [learner rank 0: 1 GPU] ... [learner rank N-1: 1 GPU] [worker 0: g GPUs] ...
    learner ranks 0..N-1      one `LearnerActor` each (agentrl/distributed/actors.py), each an FSDPLearner
                              (fully_shard per decoder layer, then the root) in one NCCL process group
    weight sync (inplace):    every rank gathers the full tensors (a collective); rank 0 keeps a host copy
                              that the rollout workers load
    weight sync (nccl):       learner rank 0 gathers the full state dict layer by layer and broadcasts each
                              tensor over a NCCL group {learner rank 0} + {every vLLM worker rank};
                              each vLLM worker receives into fresh CUDA tensors and calls model.load_weights
                              (in place, no disk, no host copy). Not called by the driver yet.

Weight sync `inplace` (the CPU default) sends host tensors through Ray's object store to
`VLLMPolicy.update_weights`, which goes through vLLM's `reload_weights` (the CPU backend repacks weights).

This module is the one to import from (the driver, the learner actors and vLLM's ``worker_extension_cls``
name it); the pieces live in siblings: `placement` (`placement`, `scheduling`), `fsdp` (`FSDPLearner`,
`ShardingConfig`, `make_learner`) and `nccl` (`broadcast_weights`, `weight_specs`, `NCCLWeightReceiver`).
"""

from agentrl.distributed.fsdp import FSDP_STATE, SHARDED, FSDPLearner, ShardingConfig, make_learner
from agentrl.distributed.nccl import NCCLWeightReceiver, broadcast_weights, weight_specs
from agentrl.distributed.placement import placement, scheduling

__all__ = ["FSDP_STATE", "SHARDED", "FSDPLearner", "NCCLWeightReceiver", "ShardingConfig", "broadcast_weights",
           "make_learner", "placement", "scheduling", "weight_specs"]
