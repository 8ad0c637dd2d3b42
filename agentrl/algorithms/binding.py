"""`bind_rubric`: the one place a rubric's reward definition reaches the advantage estimators.

The trainers call it when they build a learner::

    advantage = bind_rubric(AdvantageConfig(**cfg.algorithm.advantage), rubric)

It copies the rubric's weights and its combiner's turn shaping into the config, so every estimator
optimises the reward the rubric defines, and it refuses (ConfigError, at config load) every pairing a
turn-level estimator cannot honour. The rubric is duck-typed (``.weights`` and ``.combine``), so the core
never imports the verifiers.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

from agentrl.algorithms.config import OUTCOME_LEVEL, TRANSFORM_LEVEL, TURN_LEVEL, AdvantageConfig
from agentrl.algorithms.shaping import ShapesTurns, TurnShaping
from agentrl.errors import ConfigError

_TURN_COMBINERS = "Sum, Gated (agentrl.verifiers.combine), or any combiner with a turn_shaping() method"


def bind_rubric(config: AdvantageConfig, rubric: Any) -> AdvantageConfig:
    """`config` with the rubric's weights and what the turn-level estimators need to honour `rubric.combine`.

    - weights: ``rubric.weights``; terms only the config weighs (such as a trainer's ``overlong``) are kept,
      and a term both weigh differently is an error (set it on the rubric: ``env.reward_weights``).
    - Outcome-level estimators read the combined ``episode.reward``: every combiner works.
    - Turn-level estimators take the combiner's `TurnShaping` (gate and transform) into `gate_threshold`,
      `gate_on` and `turn_transform`. A combiner without ``turn_shaping()`` is refused, naming the
      estimators that do honour it. A gate or transform the config already sets (G-RA from a config file)
      is kept when the combiner has none, and must agree with it when it has one.
    """
    weights = _merged_weights(config.weights, rubric)
    combine = getattr(rubric, "combine", None)
    if config.estimator in OUTCOME_LEVEL:
        return dataclasses.replace(config, weights=weights)
    shaping = _shaping_of(combine, config.estimator)
    own = config.turn_shaping()
    gate = _agree("gate", own.gate, shaping.gate, combine)
    transform = _agree("turn transform", own.transform, shaping.transform, combine)
    if transform is not None and config.estimator not in TRANSFORM_LEVEL:
        raise ConfigError(
            f"the rubric's combiner {_name(combine)} transforms turn rewards with {transform!r}, which estimator "
            f"{config.estimator!r} cannot honour (it normalises each named term's total, and a transform of the "
            f"per-turn sums has no per-term form). Use one of {', '.join(TRANSFORM_LEVEL)} or an outcome-level "
            f"estimator ({', '.join(OUTCOME_LEVEL)}), or drop the combiner's turn_transform."
        )
    if gate is not None and gate.on is not None and gate.on not in weights:
        raise ConfigError(f"the gate reads the outcome term {gate.on!r}, but the rubric's terms are "
                          f"{sorted(weights)}; name one of them in gate_on / Gated(on=...).")
    return dataclasses.replace(
        config, weights=weights,
        gate_threshold=None if gate is None else gate.threshold, gate_on=None if gate is None else gate.on,
        turn_transform=transform,
    )


def _merged_weights(own: Mapping[str, float] | None, rubric: Any) -> dict[str, float]:
    theirs = getattr(rubric, "weights", None)
    if not isinstance(theirs, Mapping):
        raise ConfigError(f"bind_rubric needs a rubric with .weights {{term: weight}}, got {rubric!r}.")
    merged = {str(k): float(v) for k, v in theirs.items()}
    for term, weight in (own or {}).items():
        if term in merged and merged[term] != float(weight):
            raise ConfigError(
                f"the advantage config weighs term {term!r} {weight} but the rubric weighs it {merged[term]}; "
                "there is one reward: set the weight on the rubric (env.reward_weights) and leave it out of "
                "the advantage config."
            )
        merged.setdefault(term, float(weight))
    return merged


def _shaping_of(combine: Any, estimator: str) -> TurnShaping:
    if not isinstance(combine, ShapesTurns):
        raise ConfigError(
            f"the rubric's combiner {_name(combine)} has no turn-level meaning (no turn_shaping() method), so "
            f"the turn-level estimator {estimator!r}, which builds per-turn rewards from the raw terms, cannot "
            f"honour it. Use an outcome-level estimator, which reads the combined reward "
            f"({', '.join(OUTCOME_LEVEL)}), or give the rubric a combiner that works with {', '.join(TURN_LEVEL)}: "
            f"{_TURN_COMBINERS}."
        )
    shaping = combine.turn_shaping()
    if not isinstance(shaping, TurnShaping):
        raise ConfigError(f"{_name(combine)}.turn_shaping() returned {shaping!r}; it must return a "
                          "agentrl.algorithms.TurnShaping(gate, transform).")
    return shaping


def _agree(what: str, own: Any, theirs: Any, combine: Any) -> Any:
    """The config's and the combiner's setting when they agree (or one is unset); an error otherwise."""
    if own is None or theirs is None or own == theirs:
        return theirs if theirs is not None else own
    raise ConfigError(
        f"the advantage config sets the {what} {own!r} but the rubric's combiner {_name(combine)} has {theirs!r}; "
        f"there is one reward: drop the {what} from the advantage config (the combiner's applies) or change "
        "the combiner."
    )


def _name(combine: Any) -> str:
    """A combiner as a user would recognise it: a function by its name, anything else by its repr."""
    if inspect.isfunction(combine) or inspect.ismethod(combine):
        return f"function {combine.__qualname__}"
    return repr(combine)
