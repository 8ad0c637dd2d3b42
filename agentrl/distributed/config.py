"""The config of a Ray run: the training core's `TrainConfig` plus a `distributed` section.

    cfg = load_config(RayTrainConfig, "launch/configs/ray_cpu.yaml", ["distributed.mode=async"])

Every `agentrl train` config file also loads here (the `distributed` section is optional), so a run moves
from a laptop to a cluster by adding that section, not by rewriting the file.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from agentrl.errors import ConfigError
from agentrl.training.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class DistributedConfig:
    """How the run is spread over Ray actors and scheduled.

    - `mode`: ``sync`` generates a step's batch with the newest weights, then trains on it; ``async`` keeps
      up to `max_policy_lag` batches ahead generating while the learner trains.
    - `max_policy_lag`: the bound on ``learner version at training time - policy version that started the
      episode``. Dispatch is gated so the bound holds by construction; episodes over it (after a restart, say)
      are dropped or down-weighted as `stale` says.
    - `stale`: ``drop`` keeps stale episodes out of the update (they are still written to episodes.jsonl);
      ``downweight`` keeps them and turns on truncated importance sampling (`tis_cap`) so tokens the current
      policy finds unlikely count less.
    - `setup`: ``module:function`` hooks called in every actor and the driver before anything else, for envs
      registered at run time rather than through the ``agentrl.envs`` entry-point group.
    - `weight_sync`: ``inplace`` sends host tensors through Ray's object store to each engine's in-place reload
      (``nccl``: see `agentrl.distributed.gpu`; not wired yet).
    - `address`: None starts a local Ray instance with `num_cpus` logical CPUs (actors mostly wait, so more than
      the machine's cores is fine); ``auto`` or ``host:port`` joins a cluster.
    - GPU fields: `gpus_per_rollout_worker` (>= 2: vLLM tensor parallel over that many), `learner_gpus` (0: CPU;
      0.5 shares a GPU with a rollout worker). The learner and the rollout workers are packed with a placement
      group (`placement_strategy`); env actors go wherever there is CPU.
    - Learner ranks (each policy's learner is `learner_ranks` Ray actors, one process each; see `ranks`):

          learner_gpus: 0            learner_ranks: 1 (default)   one CPU process, plain torch (today's learner)
          learner_gpus: 0.5          (ranks: 1)                   one process on a shared GPU, plain torch
          learner_gpus: 1            (ranks: 1)                   one process on its own GPU, plain torch
          learner_gpus: 8            (ranks: 8, implied)          8 processes, one GPU each, FSDP2 over NCCL
          learner_gpus: 0            learner_ranks: 2             2 CPU processes, FSDP2 over gloo (CI, debugging)

      With more than one rank every rank gets the same episodes and trains on its share of whole groups;
      checkpoints are sharded (torch.distributed.checkpoint) and resume with any number of ranks > 1.
      `learner_compute_dtype`: the dtype the sharded learner computes in (None: `learner.dtype`, as one rank
      does; ``bfloat16`` with ``learner.dtype: float32`` keeps float32 master weights and optimizer state).
    """

    mode: Literal["sync", "async"] = "async"
    max_policy_lag: int = 1
    stale: Literal["drop", "downweight"] = "drop"
    tis_cap: float = 2.0  # used when stale == "downweight"
    num_env_actors: int = 2
    episodes_per_env_actor: int = 16  # concurrent episodes one env actor runs (its env instances)
    num_rollout_workers: int = 1
    setup: tuple[str, ...] = ()
    address: str | None = None
    num_cpus: int | None = 8
    namespace: str = "agentrl"
    max_actor_restarts: int = 5
    gpus_per_rollout_worker: float = 0.0
    learner_gpus: float = 0.0  # 0: CPU; a fraction shares one GPU with rollout workers; N >= 1: N GPUs, one a rank
    learner_ranks: int | None = None  # None: one rank per whole learner GPU (1 on CPU); > 1 on CPU: gloo ranks
    learner_compute_dtype: str | None = None  # sharded learner only; None: learner.dtype
    cpus_per_actor: float = 0.25
    placement_strategy: Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"] = "PACK"
    weight_sync: Literal["inplace", "nccl"] = "inplace"

    # Engine settings that are not Ray's moved to the core's `model` section (both trainers have them).
    renamed: ClassVar[dict[str, str]] = {"policy": "model.engine", "max_num_seqs": "model.max_num_seqs"}

    def __post_init__(self) -> None:
        if self.max_policy_lag < 0:
            raise ConfigError(f"distributed.max_policy_lag must be >= 0, got {self.max_policy_lag}.")
        if self.num_env_actors < 1 or self.num_rollout_workers < 1 or self.episodes_per_env_actor < 1:
            raise ConfigError("distributed.num_env_actors, num_rollout_workers and episodes_per_env_actor must be "
                              ">= 1.")
        for hook in self.setup:
            if ":" not in hook:
                raise ConfigError(f"distributed.setup entry {hook!r} is not a 'module:function' string.")
        if self.weight_sync == "nccl":
            raise ConfigError("distributed.weight_sync=nccl (NCCL broadcast from the learner to the vLLM engines) is a "
                              "code path in agentrl.distributed.gpu that the driver does not call yet; use inplace.")
        for problem in learner_rank_problems(self):
            raise ConfigError(problem)

    @property
    def ranks(self) -> int:
        """Learner processes per policy: `learner_ranks` if set, else one per whole learner GPU (at least 1)."""
        if self.learner_ranks is not None:
            return self.learner_ranks
        return max(1, int(self.learner_gpus))

    @property
    def gpus_per_learner_rank(self) -> float:
        """What one learner rank asks Ray for: a whole GPU each when there are several, else `learner_gpus`."""
        return 1.0 if self.learner_gpus >= 1 else self.learner_gpus

    @property
    def lag(self) -> int:
        """The effective bound: a synchronous run is an asynchronous one that may not run ahead."""
        return 0 if self.mode == "sync" else self.max_policy_lag


def learner_rank_problems(d: DistributedConfig) -> list[str]:
    """What is wrong with the learner's GPU/rank request, each with how to fix it."""
    gpus, ranks = d.learner_gpus, d.learner_ranks
    if gpus < 0:
        return [f"distributed.learner_gpus must be >= 0, got {gpus}."]
    if gpus > 1 and gpus != int(gpus):
        return [(f"distributed.learner_gpus={gpus}: more than one learner GPU means one rank per whole GPU, so it "
                f"must be a whole number (e.g. {int(gpus)} or {int(gpus) + 1}); a fraction only works below 1 (a "
                "learner sharing one GPU with a rollout worker).")]
    if ranks is not None and ranks < 1:
        return [f"distributed.learner_ranks must be >= 1 (or null), got {ranks}."]
    if ranks is not None and gpus >= 1 and ranks != int(gpus):
        return [(f"distributed.learner_ranks={ranks} with learner_gpus={gpus:g}: on GPUs every rank has one whole "
                f"GPU, so drop learner_ranks (it follows learner_gpus) or set learner_gpus: {ranks}.")]
    if ranks is not None and ranks > 1 and 0 < gpus < 1:
        return [(f"distributed.learner_ranks={ranks} with a fraction of a GPU (learner_gpus={gpus:g}): several "
                "learner ranks need a whole GPU each (learner_gpus: <ranks>) or none (learner_gpus: 0, CPU ranks "
                "over gloo).")]
    if d.learner_compute_dtype not in (None, "float32", "bfloat16", "float16"):
        return [(f"distributed.learner_compute_dtype must be null, float32, bfloat16 or float16, got "
                f"{d.learner_compute_dtype!r}.")]
    return []


@dataclasses.dataclass(frozen=True)
class RayTrainConfig(TrainConfig):
    """`TrainConfig` plus `distributed`. Every `agentrl train` key means the same here, and the core's checks
    (`agentrl.training.config.problems`) run first, so both trainers refuse a bad config with the same words; the
    checks below are about the `distributed` section or a feature the Ray trainer does not have."""

    distributed: DistributedConfig = DistributedConfig()

    def __post_init__(self) -> None:
        super().__post_init__()
        for problem in ray_problems(self):
            raise ConfigError(problem)


def ray_problems(cfg: RayTrainConfig) -> list[str]:
    """What the Ray trainer cannot do with this config, each with how to fix it."""
    a, learner, d = cfg.algorithm, cfg.learner, cfg.distributed
    problems = []
    if cfg.selfplay.enabled:
        problems.append("selfplay (a league of past snapshots) runs in `agentrl train` only; train-ray has no league "
                        "yet: run it with `agentrl train --config ...`, or set selfplay.enabled=false.")
    if cfg.model.sleep_during_update:
        problems.append("model.sleep_during_update (an engine that sleeps while the learner on its GPU updates) is "
                        "for `agentrl train` on one GPU; train-ray's engines keep generating during updates: set "
                        "model.sleep_during_update=false.")
    if cfg.run.eval_split is not None:
        problems.append("run.eval_split (held-out evaluation during training) runs in `agentrl train` only so far: "
                        "set run.eval_split=null and evaluate checkpoints with `agentrl eval --split test`.")
    if d.stale == "downweight" and a.loss.tis_cap is not None and a.loss.tis_cap != d.tis_cap:
        problems.append(f"distributed.stale=downweight uses distributed.tis_cap={d.tis_cap}, but algorithm.loss.tis_cap="
                        f"{a.loss.tis_cap} asks for another cap; set one of them (the same value in both is fine).")
    if d.ranks > 1 and learner.value_head:
        problems.append(f"learner.value_head (PPO's critic) is not sharded over several learner ranks yet (this run "
                        f"asks for {d.ranks}): use one learner rank (learner_gpus <= 1, learner_ranks: 1) or a "
                        "critic-free estimator (grpo, rloo, ...).")
    if d.ranks > 1 and learner.mini_batches != 1:
        problems.append(f"learner.mini_batches={learner.mini_batches} with {d.ranks} learner ranks is not supported "
                        "yet: set learner.mini_batches: 1 (raise learner.epochs for more optimizer steps).")
    return problems
