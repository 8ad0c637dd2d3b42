"""What a training run is built from, for both trainers: the env's tasks and rubric, the policy map, each policy's
model, learner config and estimator, and the rollout engine.

    parts  = prepare(cfg)                            # every check that needs the registry, before anything starts
    engine = make_engine(cfg, model_path(cfg, p))    # vLLM (or the torch sampler) with the run's sampling
    learner_args(cfg, p, parts)                      # (model, LearnerConfig, AdvantageConfig, LossConfig)

`prepare` is the second half of "config load": `TrainConfig` checks what the fields say alone and together, and
`prepare` checks them against the env (the reward-weight names, the rubric's combiner against the estimator,
enough tasks for a step), so a bad run stops before an engine or an actor starts, in either trainer.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agentrl.errors import ConfigError
from agentrl.training.config import PolicyConfig, TrainConfig, policy_map
from agentrl.types import Task

MAIN = "main"


@dataclasses.dataclass(frozen=True)
class RunParts:
    tasks: list[Task]
    rubric: Any
    advantage: Any  # the AdvantageConfig bound to the rubric
    policies: tuple[PolicyConfig, ...]
    max_turns: int
    eval_tasks: list[Task] = dataclasses.field(default_factory=list)  # run.eval_split's tasks (held out)


def prepare(cfg: TrainConfig) -> RunParts:
    from agentrl import registry
    from agentrl.training.schedule import Schedule

    spec = registry.spec(cfg.env.id)
    tasks = registry.tasks(cfg.env.id, cfg.env.split)
    Schedule(tasks, cfg)  # enough tasks for a step
    rubric = rubric_for(cfg)
    policies = resolve_policies(cfg)
    if cfg.selfplay.enabled:
        from agentrl.selfplay import seats

        seats(tuple(registry.make(cfg.env.id, **cfg.env.kwargs).possible_agents))
    eval_tasks = registry.tasks(cfg.env.id, cfg.run.eval_split) if cfg.run.eval_split is not None else []
    if cfg.run.eval_split is not None and not eval_tasks:
        raise ConfigError(f"run.eval_split={cfg.run.eval_split!r}: {cfg.env.id} has no tasks in that split; name a "
                          "split the env has (most have 'test') or set run.eval_split=null.")
    return RunParts(tasks, rubric, advantage_config(cfg, rubric), policies, cfg.rollout.max_turns or spec.max_turns,
                    eval_tasks)


def rubric_for(cfg: TrainConfig) -> Any:
    """The env's registered rubric with `env.reward_weights` applied."""
    from agentrl import registry

    rubric = registry.rubric(cfg.env.id)
    for name, weight in cfg.env.reward_weights.items():
        if name not in rubric.weights:
            raise ConfigError(f"env.reward_weights names {name!r}, but the rubric's terms are {sorted(rubric.weights)}.")
        rubric.weights[name] = float(weight)
    return rubric


def advantage_config(cfg: TrainConfig, rubric: Any) -> Any:
    """The estimator's config bound to the rubric (its weights, and its combiner where the estimator works on
    turns; a combination no estimator can honour is refused here), plus the overlong term's weight."""
    from agentrl.algorithms import bind_rubric

    adv = bind_rubric(cfg.algorithm.advantage, rubric)
    if cfg.algorithm.overlong.max_tokens is not None:
        adv = dataclasses.replace(adv, weights={**adv.weights, "overlong": cfg.algorithm.overlong.weight})
    return adv


def loss_config(cfg: TrainConfig, tis_cap: float | None = None) -> Any:
    loss = cfg.algorithm.loss
    return dataclasses.replace(loss, tis_cap=tis_cap) if tis_cap is not None else loss


def resolve_policies(cfg: TrainConfig) -> tuple[PolicyConfig, ...]:
    """The validated policy map. Without `policies`, one policy ``main`` with no agent list: it plays every agent
    (and no env is built to find out which)."""
    if not cfg.policies:
        return (PolicyConfig(MAIN),)
    from agentrl import registry

    return policy_map(cfg, tuple(registry.make(cfg.env.id, **cfg.env.kwargs).possible_agents))


def find_policy(cfg: TrainConfig, name: str) -> PolicyConfig:
    for p in resolve_policies(cfg):
        if p.name == name:
            return p
    raise KeyError(f"no policy {name!r} in the run's policy map")


def trained_agents(policy: PolicyConfig) -> tuple[str, ...] | None:
    """What the policy's learner trains on: None (every agent) for the single policy, else its agents."""
    return tuple(policy.agents) or None


def model_path(cfg: TrainConfig, policy: PolicyConfig | None = None) -> str:
    """The policy's starting model: its own `model`, else `model.name` (a tiny model from `model.tiny` kwargs)."""
    from agentrl.models import build_tiny_model, resolve_model

    name = (policy.model if policy is not None else None) or cfg.model.name
    return str(build_tiny_model(**cfg.model.tiny)) if name == "tiny" and cfg.model.tiny else str(resolve_model(name))


def learner_args(cfg: TrainConfig, policy: PolicyConfig, advantage: Any, tis_cap: float | None = None
                 ) -> tuple[str, Any, Any, Any]:
    """(model path, LearnerConfig, AdvantageConfig, LossConfig) for one policy's learner; `advantage` is the
    bound estimator config (`RunParts.advantage`, or `advantage_config(cfg, rubric_for(cfg))`)."""
    learner = dataclasses.replace(cfg.learner, lr=policy.lr) if policy.lr else cfg.learner
    return model_path(cfg, policy), learner, advantage, loss_config(cfg, tis_cap)


def make_engine(cfg: TrainConfig, model: str, *, seed: int | None = None, device: str = "cpu",
                engine_kwargs: dict[str, Any] | None = None) -> Any:
    """The rollout engine of `model.engine` with the run's sampling settings; `seed` defaults to `run.seed`."""
    common = {"max_tokens": cfg.rollout.max_tokens, "temperature": cfg.rollout.temperature,
              "top_p": cfg.rollout.top_p, "max_model_len": cfg.model.max_model_len, "dtype": cfg.model.dtype,
              "seed": cfg.run.seed if seed is None else seed}
    if cfg.model.engine == "torch":
        from agentrl.inference.torch_sampler import TorchSamplerPolicy

        return TorchSamplerPolicy(model, device=device, **common)
    from agentrl.inference.vllm import VLLMPolicy

    chunk = cfg.model.weight_sync_chunk_mib
    return VLLMPolicy(model, gpu_memory_utilization=cfg.model.gpu_memory_utilization,
                      kv_cache_memory_bytes=cfg.model.kv_cache_memory_bytes, enforce_eager=cfg.model.enforce_eager, max_num_seqs=cfg.model.max_num_seqs,
                      sleep_mode=cfg.model.sleep_during_update, engine_kwargs=engine_kwargs or {},
                      weight_sync_chunk_bytes=None if chunk is None else int(chunk * 2**20), **common)
