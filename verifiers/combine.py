"""Combiners: how a rubric folds one agent's turn and outcome rewards into one scalar.

Each combiner is a small callable ``(AgentScores) -> float``. `Sum` and `Gated` also say what they do to each
turn (``turn_shaping()``, agentrl.algorithms.shaping), so the turn-level advantage estimators honour them
through `agentrl.algorithms.bind_rubric`; `Lexicographic` and `MultiplicativePenalty` have no per-turn form
and work with the outcome-level estimators only. Turn rewards can first pass through a transform that bounds
what a policy can accumulate by repeating rewarded steps:

- `clip(eta)`:  r'_t = min(r_t - eta, 0)           (every step reward <= 0, so the sum is bounded above)
- `delta()`:    r'_t = r_t - r_{t+1},  r'_T = r_T   (the sum telescopes to r_1)

Both follow "On Designing Effective RL Reward at Training Time for LLM Reasoning" (Gao et al., 2024).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from agentrl.algorithms.shaping import Clip, Delta, Gate, TurnShaping, TurnTransform
from agentrl.errors import RewardError

# Sum, the default combiner, lives in the core with Rubric; re-exported so it sits with the other combiners.
from agentrl.rubric import AgentScores, Sum, shaped_total  # noqa: F401


def clip(eta: float) -> TurnTransform:
    """Clip transform: shift each step reward down by `eta` and cap it at 0."""
    return Clip(eta)


def delta() -> TurnTransform:
    """Delta transform: each step keeps its reward minus the next step's; the last keeps its own."""
    return Delta()


@dataclasses.dataclass(frozen=True)
class Gated:
    """Gated reward accumulation (G-RA): turn rewards count only when the outcome reaches `threshold`.

    The gate (`agentrl.algorithms.Gate`, shared with the turn-level estimators) reads the outcome term `on`,
    or the weighted outcome total when `on` is None; a term that is not applicable (None) keeps it closed.
    reward = outcome_total + (sum of turn rewards if gate >= threshold else 0).
    """

    threshold: float
    on: str | None = None
    turn_transform: TurnTransform | None = None

    def __post_init__(self) -> None:
        Gate(self.threshold, self.on)  # validates threshold and term name where the combiner is built

    def turn_shaping(self) -> TurnShaping:
        return TurnShaping(gate=Gate(self.threshold, self.on), transform=self.turn_transform)

    def __call__(self, scores: AgentScores) -> float:
        if self.on is not None and self.on not in scores.outcome:
            raise RewardError(f"Gated reads the term {self.on!r}, but the rubric has only {sorted(scores.outcome)}.")
        return shaped_total(self.turn_shaping(), scores)


@dataclasses.dataclass(frozen=True)
class Lexicographic:
    """Prioritised outcome terms: a lower level only matters once every higher level is met.

    `levels` lists ``(term, threshold)`` from most to least important; every term must lie in [0, 1].
    With k the number of leading levels that reach their threshold, the reward is ``k + v`` where v is
    the value of the first level that falls short (0 when all pass). More satisfied priorities always
    beat any partial progress lower down, and ties on k are broken by progress on the next level.
    """

    levels: Sequence[tuple[str, float]]

    def __call__(self, scores: AgentScores) -> float:
        for k, (name, threshold) in enumerate(self.levels):
            value = _required(scores.outcome, name, "Lexicographic")
            if not 0.0 <= value <= 1.0:
                raise RewardError(f"Lexicographic needs {name!r} in [0, 1], got {value}; rescale the reward.")
            if value < threshold:
                return k + value
        return float(len(self.levels))


@dataclasses.dataclass(frozen=True)
class MultiplicativePenalty:
    """CaRL-style reward: a progress term times a factor per infraction.

    reward = progress * prod_i factor_i ** count_i, where count_i sums the term `i` over the agent's turns
    and its outcome (each infraction term returns how many infractions it saw). Infractions that should
    end the episode are the env's business (it terminates); this only scales the progress.
    """

    progress: str
    factors: Mapping[str, float]

    def __post_init__(self) -> None:
        for name, f in self.factors.items():
            if not 0.0 <= f <= 1.0:
                raise RewardError(f"penalty factor for {name!r} must be in [0, 1], got {f}.")

    def __call__(self, scores: AgentScores) -> float:
        value = _required(scores.outcome, self.progress, "MultiplicativePenalty")
        for name, factor in self.factors.items():
            count = sum(t.get(name) or 0.0 for t in scores.turns) + (scores.outcome.get(name) or 0.0)
            value *= factor ** count
        return value


def _required(values: Mapping[str, float | None], name: str, who: str) -> float:
    if name not in values:
        raise RewardError(f"{who} reads the term {name!r}, but the rubric has only {sorted(values)}.")
    v = values[name]
    if v is None or not math.isfinite(v):
        raise RewardError(f"{who} needs {name!r}, but it was not applicable (None) for this agent.")
    return v
