"""The data schedule of a training run: which episodes each step plays, with which seeds, and what it trains on.

    schedule = Schedule(tasks, cfg)
    specs    = schedule.specs(step)                          # the step's tasks x group_size, seeded
    batch    = await schedule.collect(step, first_round, run)  # dynamic-sampling refills, overlong shaping

Both trainers play exactly these specs (in process, or in Ray env actors), so a step's episodes, seeds, refill
draws and group ids do not depend on the trainer, and a resumed run sees the same data order. `run(specs)` is the
trainer's way of playing a list of specs; it returns one episode per spec, failed or not.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agentrl.errors import ConfigError
from agentrl.types import Episode, Task

Run = Callable[[list["EpisodeSpec"]], Awaitable[list[Episode]]]


@dataclasses.dataclass(frozen=True)
class EpisodeSpec:
    """One episode to play: sample `sample` of `task` at training step `step`. `tag` names a dynamic-sampling
    refill round (``r1``, ``r2``, ...) or a self-play game plan, so its group id and seed stay apart from the
    step's first round."""

    task: Task
    step: int
    sample: int
    seed: int
    tag: str = ""

    @property
    def group_id(self) -> str:
        return f"{self.step}{self.tag}:{self.task.id}"

    def info(self) -> dict[str, Any]:
        """What every saved episode records about where it came from (both trainers write the same keys)."""
        out: dict[str, Any] = {"step": self.step, "sample": self.sample}
        if self.tag:
            out["round"] = self.tag
        return out


def episode_seed(run_seed: int, step: int, sample: int, tag: str = "") -> int:
    """The env and sampling seed of one episode: a function of the run seed, the step, the sample and the round."""
    return run_seed * 1_000_003 + step * 10_007 + sample + (zlib.crc32(tag.encode()) % 9973 if tag else 0)


def refill_rng(run_seed: int, step: int) -> random.Random:
    """The generator of a step's dynamic-sampling refill draws (`rng.sample(tasks, n)` per round, in order)."""
    return random.Random(run_seed * 104_729 + step)


def specs_for(tasks: Sequence[Task], step: int, group_size: int, run_seed: int, tag: str = "") -> list[EpisodeSpec]:
    """`group_size` samples of every task, in task order."""
    return [EpisodeSpec(t, step, k, episode_seed(run_seed, step, k, tag), tag)
            for t in tasks for k in range(group_size)]


def eval_specs(tasks: Sequence[Task], step: int, run_seed: int) -> list[EpisodeSpec]:
    """One sample of every held-out task, seeded apart from training episodes (tag "eval")."""
    return specs_for(tasks, step, 1, run_seed, "eval")


@dataclasses.dataclass(frozen=True)
class StepBatch:
    """A step's episodes: everything generated (all saved), what the learners train on, sampling metrics."""

    generated: list[Episode]
    train_on: list[Episode]
    metrics: dict[str, float]


class Schedule:
    def __init__(self, tasks: Sequence[Task], cfg: Any):
        self.tasks, self.cfg = list(tasks), cfg
        n = cfg.rollout.tasks_per_step
        if n > len(self.tasks):
            raise ConfigError(f"rollout.tasks_per_step={n} but {cfg.env.id} has only {len(self.tasks)} "
                              f"{cfg.env.split!r} tasks; lower rollout.tasks_per_step.")

    def tasks_for_step(self, step: int) -> list[Task]:
        """A seeded permutation of the task list per epoch: a resumed run sees the same data order."""
        n = self.cfg.rollout.tasks_per_step
        epoch, offset = divmod(step, len(self.tasks) // n)
        order = list(range(len(self.tasks)))
        random.Random(self.cfg.run.seed * 7919 + epoch).shuffle(order)
        return [self.tasks[i] for i in order[offset * n: offset * n + n]]

    def specs(self, step: int, tag: str = "", group_size: int | None = None) -> list[EpisodeSpec]:
        """The step's first round: its tasks x `group_size` (default `rollout.group_size`)."""
        size = self.cfg.rollout.group_size if group_size is None else group_size
        return specs_for(self.tasks_for_step(step), step, size, self.cfg.run.seed, tag)

    async def collect(self, step: int, first: list[Episode], run: Run) -> StepBatch:
        """The step's batch from its first round's episodes (in spec order).

        With dynamic sampling, constant-reward groups are dropped and seeded draws of fresh tasks refill them,
        round by round, up to `rollout.max_sampling_rounds`. With overlong shaping on, the episodes trained on
        get the ``overlong`` turn term. Everything generated is returned for saving.
        """
        from agentrl.algorithms.filters import GroupRefill, apply_overlong_penalty

        r, o = self.cfg.rollout, self.cfg.algorithm.overlong
        generated, train_on, metrics = list(first), list(first), {}
        if r.dynamic_sampling:
            refill = GroupRefill(r.tasks_per_step, r.max_sampling_rounds)
            need = refill.add(first)
            rng = refill_rng(self.cfg.run.seed, step)
            while need:
                specs = specs_for(rng.sample(self.tasks, need), step, r.group_size, self.cfg.run.seed,
                                  f"r{refill.rounds}")
                more = await run(specs)
                generated += more
                need = refill.add(more)
            train_on = refill.episodes
            metrics = {"rollout/sampling_rounds": float(refill.rounds),
                       "rollout/dropped_groups": float(refill.dropped), "rollout/kept_groups": float(refill.groups)}
        if o.max_tokens is not None:
            train_on = apply_overlong_penalty(train_on, o.max_tokens, o.cache_tokens, weight=o.weight)
        return StepBatch(generated, train_on, metrics)


def rollout_metrics(episodes: Sequence[Episode], success_term: str, policies: Sequence[Any] = ()) -> dict[str, float]:
    """Reward, success, failures by status, turns and tokens of a step's episodes. Failed episodes are counted,
    never scored. `policies`: the `PolicyConfig`s of a multi-policy run (adds each policy's mean reward)."""
    ok = [e for e in episodes if not e.status.is_failure]
    rewards = [r for e in ok for r in e.reward.values()]
    wins = [float((e.outcome_rewards.get(a, {}).get(success_term) or 0.0) > 0) for e in ok for a in e.reward]
    out = {"rollout/reward": sum(rewards) / max(len(rewards), 1), "rollout/success": sum(wins) / max(len(wins), 1),
           "rollout/episodes": float(len(episodes)), "rollout/failed": float(len(episodes) - len(ok)),
           "rollout/turns": sum(len(e.turns) for e in episodes) / max(len(episodes), 1),
           "rollout/completion_tokens": float(sum(e.metrics.get("completion_tokens", 0) for e in episodes))}
    for e in episodes:
        if e.status.is_failure:
            key = f"rollout/status_{e.status.value}"
            out[key] = out.get(key, 0.0) + 1
    if len(policies) > 1:
        for p in policies:
            mine = [r for e in ok for a, r in e.reward.items() if a in p.agents]
            out[f"rollout/reward/{p.name}"] = sum(mine) / max(len(mine), 1)
    return out


def eval_metrics(episodes: Sequence[Episode], success_term: str) -> dict[str, float]:
    """`rollout_metrics` of a held-out evaluation, under eval/ (reward, success, failed, turns, episodes)."""
    keep = ("reward", "success", "failed", "turns", "episodes")
    return {f"eval/{k}": v for k, v in ((k.split("/", 1)[1], v) for k, v in rollout_metrics(episodes, success_term).items())
            if k in keep}
