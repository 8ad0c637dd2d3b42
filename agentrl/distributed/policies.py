"""The policy map of a Ray run: which agents each trained policy plays, and what each policy is built from.

The map is `agentrl train`'s (`TrainConfig.policies`, validated by `agentrl.train.policy_map`), so one config
file trains several policies either way:

    policies:
      - {name: attacker, agents: [player_1]}
      - {name: defender, agents: [player_2], lr: 0.0005}     # its own learning rate (and optionally `model`)

Each policy gets its own learner actor, its own rollout workers (`distributed.num_rollout_workers` per policy)
and its own checkpoint folder; an episode's turns are routed to the worker of the policy that plays the turn's
agent. Without a map there is one policy, ``main``, playing every agent (no env is built to find out which).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agentrl.train import PolicyConfig, policy_map

MAIN = "main"


def resolve(cfg: Any) -> tuple[PolicyConfig, ...]:
    """The validated policy map; `agents` is empty for the single policy that plays every agent."""
    if not cfg.policies:
        return (PolicyConfig(MAIN),)
    from agentrl import registry

    possible = tuple(registry.make(cfg.env.id, **cfg.env.kwargs).possible_agents)
    return policy_map(cfg, possible)


def find(cfg: Any, name: str) -> PolicyConfig:
    for p in resolve(cfg):
        if p.name == name:
            return p
    raise KeyError(f"no policy {name!r} in the run's policy map")


def trained_agents(policy: PolicyConfig) -> tuple[str, ...] | None:
    """What the learner trains on: None (every agent) for the single policy, else its agents."""
    return tuple(policy.agents) or None


def model_path(cfg: Any, policy: PolicyConfig | None = None) -> str:
    """The policy's starting model: its own `model`, else `model.name` (a tiny model from `model.tiny` kwargs)."""
    from agentrl.models import build_tiny_model, resolve_model

    name = (policy.model if policy is not None else None) or cfg.model.name
    tiny = getattr(cfg.model, "tiny", None)
    return str(build_tiny_model(**tiny)) if name == "tiny" and tiny else str(resolve_model(name))


def learner_config(cfg: Any, policy: PolicyConfig) -> Any:
    return dataclasses.replace(cfg.learner, lr=policy.lr) if policy.lr else cfg.learner


def actor_names(policy: str, single: bool, workers: int) -> tuple[str, list[str]]:
    """Ray actor names: ``learner`` and ``rollout-<i>`` for one policy, ``learner-<p>``/``rollout-<p>-<i>`` else."""
    if single:
        return "learner", [f"rollout-{i}" for i in range(workers)]
    return f"learner-{policy}", [f"rollout-{policy}-{i}" for i in range(workers)]
