"""`compute_advantages`: from a batch of scored episodes to one advantage per turn.

Contract
- Input: episodes (any order, any mix of task groups); `episode.group_id` names the group of repeated
  samples of one task. Output: ``{episode.id: [advantage per turn, in episode.turns order]}``; the learner
  broadcasts a turn's advantage over that turn's completion tokens.
- Episodes whose ``status.is_failure`` is True are infrastructure failures: they are left out of every
  statistic and of the output (never scored as 0).
- The unit of credit is one agent in one episode. Its group is chosen by `AdvantageConfig.grouping`:
  ``agent`` -> (group_id, agent), ``role`` -> (group_id, role), ``all`` -> (group_id,).
- Outcome-only estimators (grpo, drgrpo, rloo, reinforce++, gdpo's outcome part) read ``episode.reward[agent]``,
  the rubric-combined scalar; an agent without a finite reward there is "not applicable": it is left out of
  the statistics and its turns get 0.
- Turn-level estimators (gae, gigpo, turn_returns, gdpo) read the raw named terms (``turn.rewards`` and
  ``episode.outcome_rewards[agent]``) weighted by `AdvantageConfig.weights`; None terms are skipped. An agent's
  step rewards are its weighted per-turn totals passed through the config's `TurnShaping` (G-RA gate, clip or
  delta; see agentrl.algorithms.shaping), plus its weighted outcome total on its last turn. Their sum is what
  a `Sum` or `Gated` combiner gives, so `bind_rubric` makes both paths agree.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence

from agentrl.algorithms import estimators as est
from agentrl.algorithms.config import AdvantageConfig
from agentrl.algorithms.shaping import TurnShaping, finite
from agentrl.algorithms.tournament import round_robin, single_elimination
from agentrl.errors import ConfigError
from agentrl.types import Episode, Turn

GroupKey = tuple[Hashable, ...]


@dataclasses.dataclass(frozen=True)
class Unit:
    """One agent's part of one episode: the thing that gets one advantage per turn."""

    episode: Episode
    agent: str
    positions: tuple[int, ...]  # indices of this agent's turns in episode.turns
    key: GroupKey

    @property
    def turns(self) -> list[Turn]:
        return [self.episode.turns[p] for p in self.positions]


def usable(episodes: Iterable[Episode]) -> list[Episode]:
    """Episodes that carry a learning signal: everything except infrastructure failures."""
    return [ep for ep in episodes if not ep.status.is_failure]


def role_of(agent: str, roles: Mapping[str, str] | None = None) -> str:
    """The agent's role: `roles[agent]`, else its name without a trailing ``_<number>``."""
    if roles and agent in roles:
        return roles[agent]
    return re.sub(r"_\d+$", "", agent)


def group_key(episode: Episode, agent: str, config: AdvantageConfig) -> GroupKey:
    if config.grouping == "agent":
        return (episode.group_id, agent)
    if config.grouping == "role":
        return (episode.group_id, role_of(agent, config.roles))
    return (episode.group_id,)


def units_of(episodes: Sequence[Episode], config: AdvantageConfig) -> list[Unit]:
    """Every (episode, agent with at least one turn) of the usable episodes, with its group key."""
    units = []
    for ep in episodes:
        by_agent: dict[str, list[int]] = defaultdict(list)
        for pos, turn in enumerate(ep.turns):
            by_agent[turn.agent].append(pos)
        for agent, positions in by_agent.items():
            units.append(Unit(ep, agent, tuple(positions), group_key(ep, agent, config)))
    return units


def groups_of(units: Sequence[Unit]) -> dict[GroupKey, list[Unit]]:
    groups: dict[GroupKey, list[Unit]] = defaultdict(list)
    for u in units:
        groups[u.key].append(u)
    return dict(groups)


# -- reading rewards ----------------------------------------------------------------------------------------

def outcome_scalar(unit: Unit) -> float | None:
    """The rubric-combined reward of this agent, or None when it has none (not applicable)."""
    return finite(unit.episode.reward.get(unit.agent))


def weighted_sum(terms: Mapping[str, float | None], config: AdvantageConfig) -> float:
    """sum_k weight_k * value_k over the terms that are not None."""
    return sum(config.weight(k) * v for k, raw in terms.items() if (v := finite(raw)) is not None)


def outcome_terms(unit: Unit) -> Mapping[str, float | None]:
    return unit.episode.outcome_rewards.get(unit.agent, {})


def weighted_outcome(unit: Unit, config: AdvantageConfig) -> float:
    return weighted_sum(outcome_terms(unit), config)


def step_rewards(unit: Unit, config: AdvantageConfig, shaping: TurnShaping) -> list[float]:
    """Per-turn rewards of one agent: shaped weighted turn totals, plus the weighted outcome on its last turn."""
    total = weighted_outcome(unit, config)
    rewards = shaping.shape([weighted_sum(t.rewards, config) for t in unit.turns], outcome_terms(unit), total)
    rewards[-1] += total
    return rewards


def gate_open(unit: Unit, config: AdvantageConfig, shaping: TurnShaping) -> bool:
    """Whether the agent's turn terms count: the shaping's gate (G-RA) is open, or there is no gate."""
    return shaping.gate is None or shaping.gate.is_open(outcome_terms(unit), weighted_outcome(unit, config))


# -- estimators over units ----------------------------------------------------------------------------------

PerUnit = dict[int, list[float]]  # id(unit) -> one advantage per turn of that unit


def _broadcast(unit: Unit, value: float) -> list[float]:
    return [value] * len(unit.positions)


def _outcome_relative(groups: Mapping[GroupKey, list[Unit]], config: AdvantageConfig) -> PerUnit:
    out: PerUnit = {}
    for units in groups.values():
        scored = [(u, r) for u in units if (r := outcome_scalar(u)) is not None]
        rewards = [r for _, r in scored]
        if config.estimator == "rloo":
            advs = est.rloo(rewards)
        elif config.estimator == "drgrpo":
            advs = est.drgrpo(rewards)
        else:
            advs = est.grpo(rewards, config.eps, config.unbiased_std, config.scale_by_std)
        for (u, _), a in zip(scored, advs):
            out[id(u)] = _broadcast(u, a)
    return out


def _reinforce_pp(groups: Mapping[GroupKey, list[Unit]], config: AdvantageConfig) -> PerUnit:
    scored = [(u, r) for units in groups.values() for u in units if (r := outcome_scalar(u)) is not None]
    values = [r for _, r in scored]
    if config.estimator == "reinforce++_baseline":
        centred: dict[int, float] = {}
        for units in groups.values():
            rs = [(u, r) for u in units if (r := outcome_scalar(u)) is not None]
            for (u, _), c in zip(rs, est.drgrpo([r for _, r in rs])):
                centred[id(u)] = c
        values = [centred[id(u)] for u, _ in scored]
    advs = est.batch_normalise(values, config.eps, config.unbiased_std)
    return {id(u): _broadcast(u, a) for (u, _), a in zip(scored, advs)}


def _turn_returns(groups: Mapping[GroupKey, list[Unit]], config: AdvantageConfig, shaping: TurnShaping) -> PerUnit:
    """Discounted per-turn returns, baselined per turn position within the group."""
    returns = {id(u): est.discounted_returns(step_rewards(u, config, shaping), config.gamma)
               for units in groups.values() for u in units}
    out: PerUnit = {}
    for units in groups.values():
        for u in units:
            out[id(u)] = [0.0] * len(u.positions)
        longest = max(len(u.positions) for u in units)
        for k in range(longest):
            present = [u for u in units if len(u.positions) > k]
            advs = est.grpo([returns[id(u)][k] for u in present], config.eps, config.unbiased_std,
                            config.scale_by_std)
            for u, a in zip(present, advs):
                out[id(u)][k] = a
    return out


def _state_key(turn: Turn, episode: Episode) -> Hashable:
    key = turn.info.get("state_key")
    if key is None:
        return None
    try:
        hash(key)
    except TypeError:
        raise ConfigError(
            f"episode {episode.id}: turn {turn.index} has an unhashable info['state_key'] "
            f"({type(key).__name__}); GiGPO needs a hashable state key such as a string or a tuple."
        ) from None
    return key


def _gigpo(groups: Mapping[GroupKey, list[Unit]], config: AdvantageConfig, shaping: TurnShaping) -> PerUnit:
    """Episode-level group advantage plus weight x step-level advantage within identical-state groups.

    The episode return is the sum of the agent's shaped step rewards (equal to ``episode.reward`` under a
    `Sum` or `Gated` combiner), so a gate or transform reaches both levels. An agent without a finite
    ``episode.reward`` is not applicable at the episode level, as in GRPO.
    """
    rewards = {id(u): step_rewards(u, config, shaping) for units in groups.values() for u in units}
    out: PerUnit = {}
    seen_key = False
    for units in groups.values():
        scored = [u for u in units if outcome_scalar(u) is not None]
        episode_level = est.grpo([sum(rewards[id(u)]) for u in scored], config.eps, config.unbiased_std,
                                 config.scale_by_std)
        for u in units:
            out[id(u)] = _broadcast(u, 0.0)
        for u, a in zip(scored, episode_level):
            out[id(u)] = _broadcast(u, a)
        step_groups: dict[Hashable, list[tuple[Unit, int, float]]] = defaultdict(list)
        for u in units:
            returns = est.discounted_returns(rewards[id(u)], config.gamma)
            for k, (turn, g) in enumerate(zip(u.turns, returns)):
                state = _state_key(turn, u.episode)
                seen_key |= state is not None
                # a turn without a state key forms its own step group (step advantage 0)
                step_groups[state if state is not None else ("__no_state__", id(u), k)].append((u, k, g))
        for members in step_groups.values():
            advs = est.grpo([g for _, _, g in members], config.eps, config.unbiased_std, config.scale_by_std)
            for (u, k, _), a in zip(members, advs):
                out[id(u)][k] += config.gigpo_step_weight * a
    if groups and not seen_key:
        raise ConfigError(
            "estimator 'gigpo' found no turn with info['state_key']; the env must put a hashable key of the "
            "observed state in each turn's info so identical states across a group can be grouped."
        )
    return out


def _components(unit: Unit, turns_count: bool) -> dict[str, float]:
    """Per named term, the unit's total raw value over its turns and outcome (terms that are all None absent).

    With `turns_count` False (a closed G-RA gate) the turn terms stay present but count 0.
    """
    totals: dict[str, float] = {}
    for terms, scale in [*((t.rewards, float(turns_count)) for t in unit.turns), (outcome_terms(unit), 1.0)]:
        for name, raw in terms.items():
            if (v := finite(raw)) is not None:
                totals[name] = totals.get(name, 0.0) + scale * v
    return totals


def _gdpo(groups: Mapping[GroupKey, list[Unit]], config: AdvantageConfig, shaping: TurnShaping) -> PerUnit:
    """Normalise each named component within the group, then sum with the rubric weights."""
    if shaping.transform is not None:  # the config refuses this; a hand-built shaping must not slip through
        raise ConfigError(f"gdpo cannot honour turn transform {shaping.transform!r}; see AdvantageConfig.")
    sums: dict[int, float] = {}
    ordered: list[Unit] = []
    for units in groups.values():
        comps = {id(u): _components(u, gate_open(u, config, shaping)) for u in units}
        names = sorted({n for c in comps.values() for n in c if config.weight(n) != 0.0})
        for u in units:
            sums[id(u)] = 0.0
            ordered.append(u)
        for name in names:
            present = [u for u in units if name in comps[id(u)]]
            advs = est.grpo([comps[id(u)][name] for u in present], config.eps, config.unbiased_std,
                            config.scale_by_std)
            for u, a in zip(present, advs):
                sums[id(u)] += config.weight(name) * a
    values = [sums[id(u)] for u in ordered]
    if config.gdpo_batch_norm:
        values = est.batch_normalise(values, config.eps, config.unbiased_std)
    return {id(u): _broadcast(u, v) for u, v in zip(ordered, values)}


def _tournament(groups: Mapping[GroupKey, list[Unit]], config: AdvantageConfig) -> PerUnit:
    """Rank whole episodes within their group by `config.compare`; each agent gets its episode's advantage."""
    by_group: dict[str, list[Episode]] = defaultdict(list)
    for units in groups.values():
        for u in units:
            if all(e is not u.episode for e in by_group[u.episode.group_id]):
                by_group[u.episode.group_id].append(u.episode)
    episode_adv: dict[int, float] = {}
    judge = config.judge()
    for gid, eps in sorted(by_group.items()):
        if config.tournament_mode == "round_robin":
            scores, _ = round_robin(eps, judge)
        else:
            seed = _stable_seed(config.tournament_seed, gid)
            scores, _ = single_elimination(eps, judge, seed=seed)
        for ep, a in zip(eps, est.grpo(scores, config.eps, config.unbiased_std, config.scale_by_std)):
            episode_adv[id(ep)] = a
    return {id(u): _broadcast(u, episode_adv[id(u.episode)]) for units in groups.values() for u in units}


def _stable_seed(seed: int, group_id: str) -> int:
    """A per-group bracket seed that is the same in every process (unlike hash(), which is salted)."""
    return (seed * 1_000_003 + zlib.crc32(group_id.encode("utf-8"))) & 0x7FFFFFFF


def _gae(units: Sequence[Unit], config: AdvantageConfig, values: Mapping[str, Sequence[float]] | None,
         shaping: TurnShaping) -> PerUnit:
    if values is None:
        raise ConfigError("estimator 'gae' needs values={episode.id: [value per turn]} from the learner's value head.")
    out: PerUnit = {}
    for u in units:
        ep_values = values.get(u.episode.id)
        if ep_values is None or len(ep_values) != len(u.episode.turns):
            got = "none" if ep_values is None else f"{len(ep_values)}"
            raise ConfigError(
                f"gae: episode {u.episode.id} has {len(u.episode.turns)} turns but {got} values; "
                "give one value estimate per turn, in episode.turns order."
            )
        advs, _ = est.gae(step_rewards(u, config, shaping), [float(ep_values[p]) for p in u.positions], config.gamma,
                          config.lam)
        out[id(u)] = advs
    return out


def compute_advantages(episodes: Iterable[Episode], config: AdvantageConfig | None = None, *,
                       values: Mapping[str, Sequence[float]] | None = None) -> dict[str, list[float]]:
    """One advantage per turn for every usable episode; see the module docstring for the contract.

    `values` (only for ``estimator="gae"``): ``{episode.id: [V per turn in episode.turns order]}``.
    """
    config = config or AdvantageConfig()
    kept = usable(episodes)
    ids = [ep.id for ep in kept]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ConfigError(f"episode ids must be unique within a batch; repeated: {dup[:5]}.")
    units = units_of(kept, config)
    groups = groups_of(units)
    name = config.estimator
    shaping = config.turn_shaping()
    if name in ("grpo", "drgrpo", "rloo"):
        per_unit = _outcome_relative(groups, config)
    elif name in ("reinforce++", "reinforce++_baseline"):
        per_unit = _reinforce_pp(groups, config)
    elif name == "turn_returns":
        per_unit = _turn_returns(groups, config, shaping)
    elif name == "gigpo":
        per_unit = _gigpo(groups, config, shaping)
    elif name == "gdpo":
        per_unit = _gdpo(groups, config, shaping)
    elif name == "tournament":
        per_unit = _tournament(groups, config)
    else:  # "gae"; the config validated the name
        per_unit = _gae(units, config, values, shaping)
    out = {ep.id: [0.0] * len(ep.turns) for ep in kept}
    for u in units:
        for pos, a in zip(u.positions, per_unit.get(id(u), _broadcast(u, 0.0))):
            out[u.episode.id][pos] = a
    return out
