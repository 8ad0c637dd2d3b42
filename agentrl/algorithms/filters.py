"""Sampling filters applied to a batch before advantages are computed.

- `exclude_failures`: infrastructure failures (env crash, policy error, verifier error, timeout) carry no
  learning signal and are never scored as 0; `compute_advantages` drops them too, this reports them.
- `dynamic_sampling` (DAPO, Yu et al., 2025): a group whose rewards are all equal has zero advantage
  everywhere and only dilutes the batch; drop it and report how many groups to sample again.
  `GroupRefill` keeps that loop honest: it accumulates informative groups until a target or a budget of
  sampling rounds is reached.
- `overlong_penalty` / `apply_overlong_penalty` (DAPO's soft overlong punishment): a graded penalty for
  completions that run into the length limit, instead of a cliff.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from agentrl.errors import ConfigError
from agentrl.types import Episode


def exclude_failures(episodes: Iterable[Episode]) -> tuple[list[Episode], list[Episode]]:
    """Split a batch into (usable, failed) by ``status.is_failure``, keeping order."""
    usable, failed = [], []
    for ep in episodes:
        (failed if ep.status.is_failure else usable).append(ep)
    return usable, failed


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def is_constant_group(episodes: Sequence[Episode], tol: float = 0.0) -> bool:
    """True when, for every agent, the group's finite rewards differ by at most `tol` (no signal to learn)."""
    per_agent: dict[str, list[float]] = defaultdict(list)
    for ep in episodes:
        for agent, raw in ep.reward.items():
            if (v := _finite(raw)) is not None:
                per_agent[agent].append(v)
    return all(max(vs) - min(vs) <= tol for vs in per_agent.values())


@dataclasses.dataclass(frozen=True)
class DynamicSamplingResult:
    """What `dynamic_sampling` kept and dropped.

    kept: usable episodes of the informative groups, in input order.
    kept_groups / dropped_groups: group ids (first-seen order); a group is dropped when its rewards are all
        equal or it has fewer than `min_size` usable episodes.
    failed: the infrastructure failures, excluded from everything.
    """

    kept: list[Episode]
    kept_groups: list[str]
    dropped_groups: list[str]
    failed: list[Episode]

    def to_refill(self, target_groups: int) -> int:
        """How many more groups must be sampled to reach `target_groups` informative ones."""
        return max(0, target_groups - len(self.kept_groups))


def dynamic_sampling(episodes: Iterable[Episode], tol: float = 0.0, min_size: int = 2) -> DynamicSamplingResult:
    """Drop groups whose rewards are all equal (DAPO dynamic sampling) and infrastructure failures."""
    usable, failed = exclude_failures(episodes)
    groups: dict[str, list[Episode]] = defaultdict(list)
    for ep in usable:
        groups[ep.group_id].append(ep)
    kept_ids = [g for g, eps in groups.items() if len(eps) >= min_size and not is_constant_group(eps, tol)]
    keep = set(kept_ids)
    return DynamicSamplingResult(
        kept=[ep for ep in usable if ep.group_id in keep],
        kept_groups=kept_ids,
        dropped_groups=[g for g in groups if g not in keep],
        failed=failed,
    )


class GroupRefill:
    """Accumulate informative groups over sampling rounds, up to `target_groups` or `max_rounds` rounds.

        refill = GroupRefill(target_groups=8, max_rounds=3)
        need = refill.add(sample(groups=8))
        while need:
            need = refill.add(sample(groups=need))
        batch = refill.episodes

    Groups beyond the target are discarded. A group id already kept in an earlier round is ignored when it
    comes again (its samples are not merged), so give resampled groups fresh ids.
    """

    def __init__(self, target_groups: int, max_rounds: int, tol: float = 0.0, min_size: int = 2):
        if target_groups < 1 or max_rounds < 1:
            raise ConfigError(f"GroupRefill needs target_groups >= 1 and max_rounds >= 1, got "
                              f"{target_groups} and {max_rounds}.")
        self.target_groups, self.max_rounds, self.tol, self.min_size = target_groups, max_rounds, tol, min_size
        self.rounds = 0
        self.dropped = 0
        self._groups: dict[str, list[Episode]] = {}

    def add(self, episodes: Iterable[Episode]) -> int:
        """Take one round of samples; return how many groups to sample next (0: stop)."""
        self.rounds += 1
        result = dynamic_sampling(episodes, self.tol, self.min_size)
        self.dropped += len(result.dropped_groups)
        fresh: dict[str, list[Episode]] = defaultdict(list)
        for ep in result.kept:
            if ep.group_id not in self._groups:  # a group id kept in an earlier round is not merged into
                fresh[ep.group_id].append(ep)
        for gid, eps in fresh.items():
            if len(self._groups) < self.target_groups:
                self._groups[gid] = eps
        if self.rounds >= self.max_rounds:
            return 0
        return max(0, self.target_groups - len(self._groups))

    @property
    def episodes(self) -> list[Episode]:
        return [ep for eps in self._groups.values() for ep in eps]

    @property
    def groups(self) -> int:
        return len(self._groups)


def overlong_penalty(length: int, max_length: int, cache_length: int) -> float:
    """DAPO's soft overlong punishment for a completion of `length` tokens.

    0 when length <= max_length - cache_length; ((max_length - cache_length) - length) / cache_length inside
    the cache window (a linear slope from 0 to -1); -1 beyond max_length.
    """
    if max_length < 1 or not 0 < cache_length <= max_length:
        raise ConfigError(f"overlong_penalty needs 0 < cache_length <= max_length, got cache_length="
                          f"{cache_length}, max_length={max_length}.")
    free = max_length - cache_length
    if length <= free:
        return 0.0
    if length <= max_length:
        return (free - length) / cache_length
    return -1.0


def apply_overlong_penalty(episodes: Iterable[Episode], max_length: int, cache_length: int,
                           name: str = "overlong", weight: float = 1.0) -> list[Episode]:
    """Add the penalty of each turn's completion length as turn term `name`, and weight x the agent's total to
    ``episode.reward[agent]`` where the agent has one.

    Turn-level estimators see the term only if `AdvantageConfig.weights` gives `name` a weight; outcome-only
    estimators see it through ``episode.reward``. Failed episodes pass through unchanged.
    """
    out = []
    for ep in episodes:
        if ep.status.is_failure:
            out.append(ep)
            continue
        totals: dict[str, float] = defaultdict(float)
        turns = []
        for t in ep.turns:
            p = overlong_penalty(len(t.completion_ids), max_length, cache_length)
            totals[t.agent] += p
            turns.append(dataclasses.replace(t, rewards={**t.rewards, name: p}))
        reward = {a: r + weight * totals.get(a, 0.0) for a, r in ep.reward.items()}
        out.append(ep.replace(turns=tuple(turns), reward=reward))
    return out
