"""The typed config of a training run, shared by `agentrl train` and `agentrl train-ray`.

    cfg = load_config(TrainConfig, "launch/configs/quickstart.yaml", ["algorithm.advantage.estimator=rloo"])

Sections: `model`, `env`, `rollout`, `algorithm` (the real `AdvantageConfig` and `LossConfig` of
`agentrl.algorithms`, nested, plus DAPO's overlong shaping), `learner` (`agentrl.learner.LearnerConfig`), `run`,
`policies` (the policy map) and `selfplay`. Files hold overrides only; unknown keys are errors listing the valid
ones, and keys that moved say where to. Every check of a combination of fields lives in `problems` here, so both
trainers refuse the same configs with the same words; the Ray trainer adds only the checks of its own
`distributed` section (agentrl.distributed.config).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

from agentrl.algorithms import AdvantageConfig, LossConfig
from agentrl.errors import ConfigError
from agentrl.learner import LearnerConfig
from agentrl.selfplay import SelfPlayConfig


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The model and the rollout engine that samples from it.

    `name`: ``tiny`` (built on the spot from `tiny`, the `build_tiny_model` kwargs), ``smollm2-135m``, a local
    folder or a hub id (agentrl.models). `engine`: ``vllm`` (an in-process vLLM engine) or ``torch`` (a seeded
    sampler on the Hugging Face model: slow, but bit-reproducible, for exact-resume checks and debugging).
    `dtype`: the engine's; keep it equal to `learner.dtype` so sampler and learner score tokens alike.
    """

    name: str = "tiny"
    engine: Literal["vllm", "torch"] = "vllm"
    max_model_len: int = 1024
    max_num_seqs: int = 64  # sequences the engine runs at once
    # The engine's KV cache is sized in bytes from the model, max_model_len and max_num_seqs (docs/gpu.md);
    # `kv_cache_memory_bytes` sets it yourself, `gpu_memory_utilization` (a fraction) restores vLLM's own sizing.
    kv_cache_memory_bytes: int | None = None
    gpu_memory_utilization: float | None = None
    enforce_eager: bool | None = None  # None: CUDA graphs on a GPU, eager on CPU
    # GPU only: vLLM's sleep mode while the learner updates (KV cache dropped, weights moved to host memory, both
    # back before the weight sync), so learner and engine can each use most of one GPU. Costs a wake per step.
    sleep_during_update: bool = False
    # Host weight syncs (the learner's tensors not on the engine's GPU) go in chunks of at most this many MiB of
    # tensors, whole decoder layers each, each loaded in place before the next is sent: the sync's transient is
    # a few chunks, not a few copies of the model (docs/reliability.md). None: 128 MiB on a CPU engine, the whole state
    # at once on a CUDA one (chunked partial reloads not yet run on vLLM's CUDA build); 0: the whole state at once.
    weight_sync_chunk_mib: float | None = None
    dtype: str = "float32"
    tiny: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    id: str = "games/Echo-v0"
    split: str = "train"
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    reward_weights: dict[str, float] = dataclasses.field(default_factory=dict)  # override rubric term weights


@dataclasses.dataclass(frozen=True)
class RolloutConfig:
    """What each step samples. Dynamic sampling (DAPO) drops groups whose rewards are all equal (no advantage)
    and samples fresh tasks for the missing groups, for at most `max_sampling_rounds` rounds a step; every
    episode is still saved."""

    tasks_per_step: int = 8
    group_size: int = 8
    max_tokens: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_turns: int | None = None  # None: the env's registered max_turns
    turn_timeout: float | None = 60.0
    episode_timeout: float | None = 600.0
    dynamic_sampling: bool = False
    max_sampling_rounds: int = 3


@dataclasses.dataclass(frozen=True)
class OverlongConfig:
    """DAPO's soft overlong punishment on each turn's completion length, as the turn term ``overlong``.
    None `max_tokens`: off. `cache_tokens`: the soft zone below the limit where the penalty ramps up."""

    max_tokens: int | None = None
    cache_tokens: int = 0
    weight: float = 1.0


@dataclasses.dataclass(frozen=True)
class AlgorithmConfig:
    """The advantage estimator and the loss, as `agentrl.algorithms` defines them (docs/algorithms.md lists
    every estimator). `advantage.weights` comes from the env's rubric (set `env.reward_weights` to change it)."""

    advantage: AdvantageConfig = dataclasses.field(default_factory=AdvantageConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    overlong: OverlongConfig = OverlongConfig()

    # Where the keys of the old flat section went (full dotted paths), so an old config file gets a fix instead of a bare refusal.
    renamed: ClassVar[dict[str, str]] = {
        **{k: f"algorithm.advantage.{k}" for k in ("grouping", "scale_by_std", "gamma", "lam", "gigpo_step_weight",
                                         "gate_threshold", "gate_on", "compare")},
        **{k: f"algorithm.loss.{k}" for k in ("clip_low", "clip_high", "ratio_level", "aggregation", "kl_coef",
                                    "kl_estimator", "entropy_coef", "tis_cap")},
        "overlong_max_tokens": "algorithm.overlong.max_tokens", "overlong_cache_tokens":
        "algorithm.overlong.cache_tokens", "overlong_weight": "algorithm.overlong.weight",
    }


@dataclasses.dataclass(frozen=True)
class RunConfig:
    out_dir: str = "runs/quickstart"
    steps: int = 100
    seed: int = 0
    save_every: int = 20
    stop_at_success: float | None = None  # end early once a step's success rate reaches this
    success_term: str = "success"  # the outcome term that counts as success (its raw value > 0)
    tensorboard: bool = True
    resume: bool = True
    log_every: int = 5  # print a progress line every N steps (the bar updates every step)
    # Held-out evaluation (`agentrl train`): before the first step, every `eval_every` steps and after the last
    # one, each task of the env's `eval_split` is played once at `eval_temperature` (0: greedy) by the current
    # weights; eval/* rows in metrics.jsonl, the episodes in eval_episodes.jsonl. None: no evaluation.
    eval_split: str | None = None
    eval_every: int = 10
    eval_temperature: float = 0.0
    # The memory-stall watchdog (agentrl.training.memwatch, docs/reliability.md): the run ends with
    # MemoryStallError when the host's MemAvailable stays under `memory_floor_gib` for `memory_grace_s` seconds
    # while no turn, episode or update completes (it is thrashing, not working). None: off.
    memory_floor_gib: float | None = 0.25
    memory_grace_s: float = 120.0


@dataclasses.dataclass(frozen=True)
class PolicyConfig:
    """One trained policy of a multi-policy run: the agents it plays, optionally its own model and lr."""

    name: str
    agents: tuple[str, ...] = ()
    model: str | None = None  # default: model.name
    lr: float | None = None  # default: learner.lr


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = ModelConfig()
    env: EnvConfig = EnvConfig()
    rollout: RolloutConfig = RolloutConfig()
    algorithm: AlgorithmConfig = AlgorithmConfig()
    learner: LearnerConfig = dataclasses.field(default_factory=LearnerConfig)
    run: RunConfig = RunConfig()
    # The policy map. Empty: one policy ("main") plays every agent. Otherwise every agent of the env is listed
    # in exactly one policy; agents listed together share weights, and each policy has its own learner.
    policies: tuple[PolicyConfig, ...] = ()
    # Self-play against a league of frozen snapshots on a two-player game (agentrl.selfplay; docs/multiagent.md).
    selfplay: SelfPlayConfig = dataclasses.field(default_factory=SelfPlayConfig)

    def __post_init__(self) -> None:
        for problem in problems(self):
            raise ConfigError(problem)


def problems(cfg: TrainConfig) -> list[str]:
    """What is wrong with the config as a whole (each field alone is valid), each with how to fix it.
    Both trainers run exactly these checks when a config loads."""
    a, r, learner, run = cfg.algorithm, cfg.rollout, cfg.learner, cfg.run
    out = []
    if r.tasks_per_step < 1 or r.group_size < 1 or r.max_tokens < 1:
        out.append("rollout.tasks_per_step, group_size and max_tokens must be >= 1.")
    if run.steps < 1 or run.save_every < 1 or run.log_every < 1:
        out.append("run.steps, run.save_every and run.log_every must be >= 1.")
    if run.eval_every < 1 or run.eval_temperature < 0:
        out.append("run.eval_every must be >= 1 and run.eval_temperature >= 0 (0 is greedy).")
    if (run.memory_floor_gib is not None and run.memory_floor_gib < 0) or run.memory_grace_s <= 0:
        out.append(f"run.memory_floor_gib must be >= 0 or null (off) and run.memory_grace_s > 0 (got "
                   f"{run.memory_floor_gib} and {run.memory_grace_s}).")
    if run.eval_split is not None and run.eval_split == cfg.env.split:
        out.append(f"run.eval_split={run.eval_split!r} is the split the run trains on (env.split), so it is not "
                   "held out; name another split (most envs have 'test').")
    if run.eval_split is not None and cfg.selfplay.enabled:
        out.append("run.eval_split with selfplay: a two-player game has no fixed opponent to evaluate against; "
                   "set run.eval_split=null (the league's ratings are the evaluation).")
    if a.advantage.weights is not None:
        out.append("algorithm.advantage.weights comes from the env's rubric; change a term's weight with "
                   "env.reward_weights (e.g. env.reward_weights.success=2.0).")
    if a.advantage.estimator == "gae" and not learner.value_head:
        out.append("algorithm.advantage.estimator=gae (PPO) needs a critic: set learner.value_head=true.")
    if a.loss.kl_coef > 0 and not learner.reference_model:
        out.append("algorithm.loss.kl_coef > 0 needs learner.reference_model=true (a frozen reference copy).")
    if r.dynamic_sampling and r.group_size < 2:
        out.append("rollout.dynamic_sampling keeps groups whose rewards differ, so it needs rollout.group_size >= 2 "
                   f"(got {r.group_size}); without it every update would be skipped.")
    if cfg.model.weight_sync_chunk_mib is not None and cfg.model.weight_sync_chunk_mib < 0:
        out.append(f"model.weight_sync_chunk_mib must be >= 0 (0 sends the whole state at once) or null (128 MiB on CPU engines, whole on CUDA ones); "
                   f"got {cfg.model.weight_sync_chunk_mib}.")
    if r.max_sampling_rounds < 1:
        out.append(f"rollout.max_sampling_rounds must be >= 1 (got {r.max_sampling_rounds}).")
    o = a.overlong
    if o.max_tokens is not None and not 0 < o.cache_tokens <= o.max_tokens:
        out.append("algorithm.overlong.max_tokens needs 0 < algorithm.overlong.cache_tokens <= max_tokens "
                   f"(got {o.cache_tokens}); e.g. a quarter of it.")
    names = [p.name for p in cfg.policies]
    if len(set(names)) != len(names):
        out.append(f"policies: names must be unique, got {names}.")
    if any(not p.agents for p in cfg.policies):
        out.append("policies: every policy lists the agents it plays (agents: [...]).")
    if cfg.selfplay.enabled and cfg.policies:
        out.append(f"selfplay trains one policy against its own snapshots; leave `policies` empty (got {names}).")
    if cfg.selfplay.enabled and r.dynamic_sampling:
        out.append("selfplay and rollout.dynamic_sampling do not combine yet; turn one of them off.")
    return out


def policy_map(cfg: TrainConfig, possible_agents: tuple[str, ...]) -> tuple[PolicyConfig, ...]:
    """The validated policy map: every agent of the env in exactly one policy."""
    if not cfg.policies:
        return (PolicyConfig("main", tuple(possible_agents)),)
    seen: dict[str, str] = {}
    for p in cfg.policies:
        for agent in p.agents:
            if agent not in possible_agents:
                raise ConfigError(f"policy {p.name!r} lists agent {agent!r}, but {cfg.env.id} has agents "
                                  f"{list(possible_agents)}.")
            if agent in seen:
                raise ConfigError(f"agent {agent!r} is in policies {seen[agent]!r} and {p.name!r}; list it once.")
            seen[agent] = p.name
    missing = [a for a in possible_agents if a not in seen]
    if missing:
        raise ConfigError(f"agents {missing} of {cfg.env.id} are in no policy; add them to one of "
                          f"{[p.name for p in cfg.policies]}.")
    return cfg.policies
