"""Turn shaping: what a rubric's combiner means for each turn, in one record the estimators can read.

A combiner folds an agent's rewards into one scalar, which is all the outcome-level estimators need. The
turn-level estimators (gae, gigpo, turn_returns, gdpo) build one reward per turn from the raw named terms
instead, so they can only honour a combiner that says what it does to the turns. A combiner says so by
returning a `TurnShaping` from a ``turn_shaping()`` method (the `ShapesTurns` protocol); a callable without
that method is outcome-only, and `bind_rubric` refuses it with a turn-level estimator.

A combiner with turn shaping means::

    reward = sum(shaping.shape(turn_totals, outcome, outcome_total)) + outcome_total

and the turn-level estimators use ``shaping.shape(...)`` as the agent's per-turn rewards, with the outcome
total added on its last turn, so both paths compute the same thing with the same code.

The gate is G-RA's ("Stabilizing Long-term Multi-turn RL with Gated Rewards"); the
transforms are Clip and Delta from Gao et al., 2024, "On Designing Effective RL Reward at Training Time for
LLM Reasoning".
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from agentrl.errors import ConfigError

TurnTransform = Callable[[list[float]], list[float]]


def finite(value: object) -> float | None:
    """`value` as a float when it is a finite real number (not a bool), else None ("not applicable")."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


@dataclasses.dataclass(frozen=True)
class Gate:
    """G-RA's gate: turn rewards count only when the long-term outcome reaches `threshold`.

    The gate value is the outcome term `on`, or the weighted outcome total when `on` is None. A term that is
    missing or not applicable (None) keeps the gate closed: the goal was not shown to be met.
    """

    threshold: float
    on: str | None = None

    def __post_init__(self) -> None:
        if finite(self.threshold) is None:
            raise ConfigError(f"a gate threshold must be a finite number, got {self.threshold!r}.")
        if self.on is not None and not isinstance(self.on, str):
            raise ConfigError(f"a gate's `on` must be the name of an outcome term, got {self.on!r}.")

    def value(self, outcome: Mapping[str, float | None], outcome_total: float) -> float | None:
        if self.on is None:
            return outcome_total
        return finite(outcome.get(self.on))

    def is_open(self, outcome: Mapping[str, float | None], outcome_total: float) -> bool:
        value = self.value(outcome, outcome_total)
        return value is not None and value >= self.threshold


@dataclasses.dataclass(frozen=True)
class Clip:
    """r'_t = min(r_t - eta, 0): every step reward is <= 0, so repeating rewarded steps cannot pay."""

    eta: float

    def __post_init__(self) -> None:
        if finite(self.eta) is None:
            raise ConfigError(f"clip needs a finite eta, got {self.eta!r}.")

    def __call__(self, rewards: list[float]) -> list[float]:
        return [min(r - self.eta, 0.0) for r in rewards]


@dataclasses.dataclass(frozen=True)
class Delta:
    """r'_t = r_t - r_{t+1}, r'_T = r_T: the sum telescopes to r_1."""

    def __call__(self, rewards: list[float]) -> list[float]:
        return [r - rewards[i + 1] for i, r in enumerate(rewards[:-1])] + rewards[-1:]


@dataclasses.dataclass(frozen=True)
class TurnShaping:
    """What a combiner does to one agent's per-turn reward totals before adding its outcome total.

    gate: turn rewards count only when the gate is open (None: always).
    transform: applied to the agent's list of weighted per-turn totals, e.g. `Clip` or `Delta` (None: as is).
    """

    gate: Gate | None = None
    transform: TurnTransform | None = None

    def __post_init__(self) -> None:
        if self.gate is not None and not isinstance(self.gate, Gate):
            raise ConfigError(f"TurnShaping.gate must be a Gate(threshold, on), got {self.gate!r}.")
        if self.transform is not None and not callable(self.transform):
            raise ConfigError(f"TurnShaping.transform must be a function of a list of floats, got {self.transform!r}.")

    def shape(self, turn_totals: Sequence[float], outcome: Mapping[str, float | None],
              outcome_total: float) -> list[float]:
        """The agent's per-turn rewards after the gate and the transform (the same length as `turn_totals`)."""
        totals = [float(r) for r in turn_totals]
        if self.gate is not None and not self.gate.is_open(outcome, outcome_total):
            return [0.0] * len(totals)
        if self.transform is None:
            return totals
        shaped = list(self.transform(totals))
        if len(shaped) != len(totals):
            raise ConfigError(f"turn transform {self.transform!r} returned {len(shaped)} rewards for "
                              f"{len(totals)} turns; a transform must keep one reward per turn.")
        return shaped


@runtime_checkable
class ShapesTurns(Protocol):
    """A combiner with a turn-level meaning: every turn-level estimator honours its `TurnShaping`."""

    def turn_shaping(self) -> TurnShaping: ...


_CLIP = re.compile(r"clip\(\s*([^()]+?)\s*\)")


def parse_transform(text: str) -> TurnTransform | None:
    """``"clip(<eta>)"`` -> Clip, ``"delta"`` or ``"delta()"`` -> Delta; None for anything else."""
    text = text.strip()
    if text in ("delta", "delta()"):
        return Delta()
    if m := _CLIP.fullmatch(text):
        try:
            return Clip(float(m.group(1)))
        except ValueError:
            raise ConfigError(f"turn_transform {text!r}: clip needs a number, e.g. 'clip(0.5)'.") from None
    return None
