"""Rewards as plain functions, and the `Rubric` that scores an episode with them.

A reward is a function, sync or async, whose arguments are injected by name::

    def correct(text, reference):             # an outcome reward
        return float(text.strip() == reference["answer"])

    async def polite(turn): ...               # a turn reward

It returns a float, or None for "not applicable", or a `Score` carrying evidence. Names that can be
injected: see `TURN_ARGS` and `OUTCOME_ARGS`.

A `Rubric` holds named, weighted turn rewards and outcome rewards (weight 0 = logged, not optimised)
and a combiner that turns them into one scalar per agent. The env's own step reward is the turn term
``env``. A reward that raises is recorded in the episode and the episode's status becomes
``verifier_error``; it is never turned into 0.

This is the contract the core (rollout, evaluation, registry) scores episodes with, so it lives in the core
together with the default combiner `Sum`. The reward functions themselves and the other combiners live in
`agentrl.verifiers`, which re-exports these names (``from agentrl.verifiers import Rubric`` keeps working).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentrl.algorithms.shaping import TurnShaping, TurnTransform
from agentrl.errors import RewardError
from agentrl.types import AgentID, Episode, Status, Turn

ENV_TERM = "env"
TURN_ARGS = frozenset({"turn", "text", "info", "index", "episode", "task", "reference", "agent", "env", "sandbox",
                       "turns"})
OUTCOME_ARGS = frozenset({"episode", "task", "reference", "agent", "env", "sandbox", "turns", "text", "info"})


@dataclasses.dataclass(frozen=True)
class Score:
    """A reward value with the evidence behind it (kept in the episode for inspection)."""

    value: float | None
    evidence: Any = None


@dataclasses.dataclass(frozen=True)
class RewardTerm:
    """One named reward function with its weight and the argument names it asks for."""

    name: str
    fn: Callable[..., Any]
    weight: float = 1.0
    args: tuple[str, ...] = ()

    async def __call__(self, available: Mapping[str, Any]) -> Score:
        result = self.fn(**{a: available[a] for a in self.args})
        if inspect.isawaitable(result):
            result = await result
        return _as_score(self.name, result)


def reward(fn: Callable[..., Any] | None = None, *, name: str | None = None, weight: float | None = None) -> Any:
    """Wrap a function as a `RewardTerm` (weight 1 unless given); ``reward(fn, weight=0.5)`` or a decorator."""
    if fn is None:
        return lambda f: reward(f, name=name, weight=weight)
    if isinstance(fn, RewardTerm):
        return dataclasses.replace(fn, name=name or fn.name, weight=fn.weight if weight is None else weight)
    weight = 1.0 if weight is None else weight
    if not callable(fn):
        raise RewardError(f"a reward must be a function, got {fn!r}.")
    params = inspect.signature(fn).parameters.values()
    args = tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                 and p.default is inspect.Parameter.empty)
    if not isinstance(weight, numbers.Real) or not math.isfinite(weight):
        raise RewardError(f"reward {name or fn.__name__!r}: weight must be a finite number, got {weight!r}.")
    return RewardTerm(name or getattr(fn, "__name__", "reward"), fn, float(weight), args)


def _as_score(name: str, result: Any) -> Score:
    if isinstance(result, Score):
        value = result.value
    else:
        value, result = result, Score(result)
    if value is None:
        return result
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise RewardError(
            f"reward {name!r} returned {value!r} ({type(value).__name__}); a reward must return a finite float, "
            "None for 'not applicable', or Score(value, evidence). Wrap booleans with float(...)."
        )
    return Score(float(value), result.evidence)


def _terms(terms: Sequence[Any] | Mapping[str, Any], kind: str, allowed: frozenset[str]) -> tuple[RewardTerm, ...]:
    if isinstance(terms, Mapping):  # {"name": fn} or {"name": (fn, weight)}
        items = [reward(v[0], name=k, weight=v[1]) if isinstance(v, tuple) else reward(v, name=k)
                 for k, v in terms.items()]
    else:
        items = [reward(t) for t in terms]
    names: set[str] = set()
    for term in items:
        bad = [a for a in term.args if a not in allowed]
        if bad:
            raise RewardError(
                f"{kind} reward {term.name!r} asks for {bad}, which cannot be injected. "
                f"A {kind} reward may take any of: {', '.join(sorted(allowed))}."
            )
        if term.name in names or term.name == ENV_TERM:
            raise RewardError(f"{kind} reward name {term.name!r} is used twice (or clashes with {ENV_TERM!r}); "
                              "pass name=... to tell them apart.")
        names.add(term.name)
    return tuple(items)


@dataclasses.dataclass(frozen=True)
class AgentScores:
    """One agent's raw reward values, handed to a combiner."""

    turns: tuple[Mapping[str, float | None], ...]
    outcome: Mapping[str, float | None]
    weights: Mapping[str, float]

    def turn_totals(self) -> list[float]:
        """Weighted sum of each turn's terms (None terms skipped)."""
        return [sum(self.weights.get(k, 0.0) * v for k, v in t.items() if v is not None) for t in self.turns]

    def outcome_total(self) -> float:
        return sum(self.weights.get(k, 0.0) * v for k, v in self.outcome.items() if v is not None)


def shaped_total(shaping: TurnShaping, scores: AgentScores) -> float:
    """outcome total + the shaped turn rewards: the same arithmetic the turn-level estimators do per turn, so an
    agent's step rewards add up to its combined reward."""
    outcome_total = scores.outcome_total()
    return sum(shaping.shape(scores.turn_totals(), scores.outcome, outcome_total)) + outcome_total


@dataclasses.dataclass(frozen=True)
class Sum:
    """Weighted sum of every turn term of every turn plus every outcome term; the default combiner.

    `turn_transform` (such as `agentrl.verifiers.combine.clip` or `delta`) reshapes the per-turn totals first.
    """

    turn_transform: TurnTransform | None = None

    def turn_shaping(self) -> TurnShaping:
        return TurnShaping(transform=self.turn_transform)

    def __call__(self, scores: AgentScores) -> float:
        return shaped_total(self.turn_shaping(), scores)


class Rubric:
    """Named, weighted turn and outcome rewards plus a combiner.

    `turn` and `outcome` take reward functions, `RewardTerm`s (from `reward(fn, weight=...)`), or a dict
    ``{name: fn or (fn, weight)}``. `env_weight` weighs the env's own step reward. `combine` defaults to
    `Sum()`; see `agentrl.verifiers.combine` for gated, lexicographic and penalty combiners and the
    clip/delta caps on turn rewards.
    """

    def __init__(self, turn: Sequence[Any] | Mapping[str, Any] = (), outcome: Sequence[Any] | Mapping[str, Any] = (),
                 *, combine: Callable[[AgentScores], float] | None = None, env_weight: float = 1.0):
        self.turn_terms = _terms(turn, "turn", TURN_ARGS)
        self.outcome_terms = _terms(outcome, "outcome", OUTCOME_ARGS)
        clash = {t.name for t in self.turn_terms} & {t.name for t in self.outcome_terms}
        if clash:
            raise RewardError(f"reward names {sorted(clash)} are both turn and outcome rewards; rename one.")
        self.combine = combine or Sum()
        self.weights = {ENV_TERM: float(env_weight)}
        self.weights.update({t.name: t.weight for t in (*self.turn_terms, *self.outcome_terms)})

    def __repr__(self) -> str:
        return (f"Rubric(turn={[t.name for t in self.turn_terms]}, outcome={[t.name for t in self.outcome_terms]}, "
                f"combine={self.combine!r})")

    async def score(self, episode: Episode, env: Any = None) -> Episode:
        """Fill turn rewards, outcome rewards and the combined reward per agent.

        Raw values of earlier scoring (such as the env term) are kept; this rubric's terms are recomputed,
        so a saved episode can be re-scored with a new rubric.
        """
        errors: list[str] = []
        evidence: dict[str, Any] = {}
        common = {"episode": episode, "task": episode.task, "reference": episode.task.reference, "env": env,
                  "sandbox": getattr(env, "sandbox", None)}
        by_agent = {agent: episode.turns_of(agent) for agent in episode.agents}
        turns = [await self._score_turn(t, list(by_agent[t.agent]), common, errors, evidence) for t in episode.turns] \
            if self.turn_terms else list(episode.turns)
        outcome: dict[AgentID, dict[str, float | None]] = {}
        for agent in episode.agents:
            mine = [t for t in turns if t.agent == agent]
            last = mine[-1] if mine else None
            available = {**common, "agent": agent, "turns": mine, "text": last.text if last else "",
                         "info": dict(last.info) if last else {}}
            outcome[agent] = {**episode.outcome_rewards.get(agent, {})}
            for term in self.outcome_terms:
                outcome[agent][term.name] = await self._run(term, available, errors, evidence, f"{agent}/outcome")
        totals = {}
        for agent in episode.agents:
            scores = AgentScores(tuple(t.rewards for t in turns if t.agent == agent), outcome[agent], self.weights)
            try:
                totals[agent] = float(self.combine(scores))
            except Exception as e:  # a combiner rejecting its inputs is a verifier failure, not a 0  # noqa: BLE001
                errors.append(f"combine for {agent!r}: {type(e).__name__}: {e}")
        info = {**episode.info, "reward_errors": errors} if errors else dict(episode.info)
        if evidence:
            info["reward_evidence"] = {**info.get("reward_evidence", {}), **evidence}
        status, error = episode.status, episode.error
        if errors and not status.is_failure:
            status, error = Status.VERIFIER_ERROR, "; ".join(errors)
        return episode.replace(turns=tuple(turns), outcome_rewards=outcome, reward=totals if not errors else {},
                               status=status, error=error, info=info)

    async def _score_turn(self, turn: Turn, agent_turns: Any, common: Mapping[str, Any], errors: list[str],
                          evidence: dict[str, Any]) -> Turn:
        available = {**common, "turn": turn, "text": turn.text, "info": dict(turn.info), "index": turn.index,
                     "agent": turn.agent, "turns": agent_turns}
        values = dict(turn.rewards)
        for term in self.turn_terms:
            values[term.name] = await self._run(term, available, errors, evidence, f"turn {turn.index}")
        return dataclasses.replace(turn, rewards=values)

    @staticmethod
    async def _run(term: RewardTerm, available: Mapping[str, Any], errors: list[str], evidence: dict[str, Any],
                   where: str) -> float | None:
        try:
            score = await term(available)
        except Exception as e:  # noqa: BLE001
            detail = traceback.format_exception_only(type(e), e)[-1].strip()
            errors.append(f"reward {term.name!r} at {where} raised {detail}")
            return None
        if score.evidence is not None:
            evidence[f"{where}/{term.name}"] = score.evidence
        return score.value
