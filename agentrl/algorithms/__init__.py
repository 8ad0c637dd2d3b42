"""Credit assignment and losses for the learner: pure functions from named rewards to per-turn advantages.

    from agentrl.algorithms import AdvantageConfig, LossConfig, bind_rubric, compute_advantages, policy_loss

    config = bind_rubric(AdvantageConfig(estimator="gigpo"), rubric)   # the rubric's weights and turn shaping
    adv = compute_advantages(episodes, config)
    loss, metrics = policy_loss(new_logprobs, old_logprobs, advantages, mask, LossConfig(clip_high=0.28))

Advantage estimators take Python floats (no torch); the losses take torch tensors. docs/algorithms.md lists
every estimator with its config name, paper and assumptions.
"""

from agentrl.algorithms.advantages import compute_advantages
from agentrl.algorithms.binding import bind_rubric
from agentrl.algorithms.config import (
    ESTIMATORS,
    OUTCOME_LEVEL,
    TRANSFORM_LEVEL,
    TURN_LEVEL,
    AdvantageConfig,
    LossConfig,
)
from agentrl.algorithms.estimators import batch_normalise, discounted_returns, drgrpo, gae, grpo, rloo
from agentrl.algorithms.filters import (
    DynamicSamplingResult,
    GroupRefill,
    apply_overlong_penalty,
    dynamic_sampling,
    exclude_failures,
    overlong_penalty,
)
from agentrl.algorithms.losses import aggregate, importance_ratio, kl_penalty, policy_loss
from agentrl.algorithms.shaping import Clip, Delta, Gate, ShapesTurns, TurnShaping
from agentrl.algorithms.tournament import CompareError, round_robin, single_elimination

__all__ = [
    "ESTIMATORS",
    "OUTCOME_LEVEL",
    "TRANSFORM_LEVEL",
    "TURN_LEVEL",
    "AdvantageConfig",
    "Clip",
    "CompareError",
    "Delta",
    "DynamicSamplingResult",
    "Gate",
    "GroupRefill",
    "LossConfig",
    "ShapesTurns",
    "TurnShaping",
    "aggregate",
    "apply_overlong_penalty",
    "batch_normalise",
    "bind_rubric",
    "compute_advantages",
    "discounted_returns",
    "drgrpo",
    "dynamic_sampling",
    "exclude_failures",
    "gae",
    "grpo",
    "importance_ratio",
    "kl_penalty",
    "overlong_penalty",
    "policy_loss",
    "rloo",
    "round_robin",
    "single_elimination",
]
