"""Configs for the advantage estimators and the policy loss.

Both are frozen dataclasses validated on construction, so a typo in an estimator or aggregation name fails
where the config is built, with the list of valid names, not deep inside an update step.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from agentrl.algorithms.shaping import Gate, TurnShaping, TurnTransform, parse_transform
from agentrl.errors import ConfigError, did_you_mean

# Outcome-level estimators read the combined `episode.reward` (or judge whole episodes), so every combiner
# reaches them. Turn-level ones build per-turn rewards from the raw named terms and honour a combiner only
# through its `TurnShaping` (see agentrl.algorithms.shaping and `bind_rubric`).
OUTCOME_LEVEL = ("grpo", "drgrpo", "rloo", "reinforce++", "reinforce++_baseline", "tournament")
TURN_LEVEL = ("gae", "gigpo", "turn_returns", "gdpo")
# gdpo normalises each named term's total; a transform of the per-turn sums over all terms has no per-term form.
TRANSFORM_LEVEL = ("gae", "gigpo", "turn_returns")
ESTIMATORS = OUTCOME_LEVEL + TURN_LEVEL
GROUPINGS = ("agent", "role", "all")
TOURNAMENT_MODES = ("single_elimination", "round_robin")
RATIO_LEVELS = ("token", "sequence")
AGGREGATIONS = ("token_mean", "sequence_mean", "constant")
KL_ESTIMATORS = ("k1", "k2", "k3")

# compare(a, b) > 0: a is better; < 0: b is better; == 0: a tie.
Compare = Callable[[Any, Any], float]

_ENTRY_POINT = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
_GRA_GONE = (
    "estimator 'gra' is gone: G-RA is now a gate that every turn-level estimator honours. Write "
    "estimator: turn_returns with gate_threshold: <t> (1.0 was the old default) and, to gate on one outcome "
    "term, gate_on: <term>; or give the rubric combine=Gated(threshold, on) and keep any estimator."
)


def _choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError(f"unknown {what} {value!r}.{did_you_mean(str(value), valid)} Valid: {', '.join(valid)}.")


def _entry_point(what: str, value: str) -> None:
    if not _ENTRY_POINT.fullmatch(value):
        raise ConfigError(f"{what} {value!r} is not a 'module:function' path; write e.g. 'mypkg.judges:compare'.")


@functools.lru_cache(maxsize=64)
def resolve_entry_point(what: str, path: str) -> Any:
    """Import the object a ``"module:attr"`` path names; a ConfigError naming `what` when it does not resolve."""
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"{what} {path!r}: cannot import module {module_name!r} ({e}); check the spelling "
                          "and that its package is installed.") from e
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{what} {path!r}: module {module_name!r} has no attribute {attr!r}.")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"{what} {path!r} names {type(obj).__name__} {obj!r}, which is not callable.")
    return obj


def _in_range(name: str, value: float, low: float, high: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
        raise ConfigError(f"{name} must be a number in [{low}, {high}], got {value!r}.")


@dataclasses.dataclass(frozen=True)
class AdvantageConfig:
    """How `compute_advantages` turns an episode batch's rewards into one advantage per turn.

    Every field can be set from a config file. In training, build it from the file and pass it through
    ``bind_rubric(config, rubric)``, which takes the weights and the turn shaping from the rubric.

    estimator: one of `ESTIMATORS` (see docs/algorithms.md for the paper behind each).
    weights: the rubric's ``{term: weight}`` (the env's step reward is ``"env"``); turn-level estimators weigh
        the raw named turn and outcome terms with it. A term missing from `weights` counts 0, as in the rubric.
        None weighs every term 1.0 (handy in tests; `bind_rubric` fills it in training).
    grouping: multi-agent grouping of the statistics: ``"agent"`` (one group per task group and agent),
        ``"role"`` (agents sharing a role pool their statistics; see `roles`), ``"all"`` (all agents of a task
        group together).
    roles: ``{agent: role}``; agents not listed take their name without a trailing ``_<number>``
        (PettingZoo's ``pursuer_0`` -> ``pursuer``).
    scale_by_std: divide centred values by the group std (GRPO). False gives Dr.GRPO-style centring only;
        estimator ``"drgrpo"`` ignores this and never scales.
    unbiased_std: use the sample std (n-1 denominator, as common GRPO implementations do) instead of the
        population std.
    eps: added to the std before dividing.
    gamma, lam: discount and GAE lambda over an agent's turns.
    gigpo_step_weight: weight of the step-level advantage added to the episode-level one (GiGPO's omega).
    gate_threshold, gate_on: G-RA's gate for the turn-level estimators: an agent's turn rewards count only
        when the outcome term `gate_on` (or its weighted outcome total when `gate_on` is None) is
        >= `gate_threshold`. None: no gate. `bind_rubric` fills these from a ``Gated`` combiner.
    turn_transform: applied to each agent's weighted per-turn totals by the turn-level estimators:
        ``"clip(<eta>)"``, ``"delta"``, a ``"module:function"`` path or a function (None: as is).
        `bind_rubric` fills it from the combiner's ``turn_transform``.
    gdpo_batch_norm: after summing the per-component normalised advantages, normalise the sum over the batch.
    compare: the pairwise judge for ``"tournament"``: a function, or a ``"module:function"`` path imported at
        first use.
    tournament_mode, tournament_seed: the bracket for ``"tournament"``.
    """

    estimator: str = "grpo"
    weights: Mapping[str, float] | None = None
    grouping: str = "agent"
    roles: Mapping[str, str] | None = None
    scale_by_std: bool = True
    unbiased_std: bool = True
    eps: float = 1e-6
    gamma: float = 1.0
    lam: float = 1.0
    gigpo_step_weight: float = 1.0
    gate_threshold: float | None = None
    gate_on: str | None = None
    turn_transform: str | TurnTransform | None = None
    gdpo_batch_norm: bool = True
    compare: str | Compare | None = None
    tournament_mode: str = "single_elimination"
    tournament_seed: int = 0

    def __post_init__(self) -> None:
        if self.estimator == "gra":
            raise ConfigError(_GRA_GONE)
        _choice("advantage estimator", self.estimator, ESTIMATORS)
        _choice("grouping", self.grouping, GROUPINGS)
        _choice("tournament mode", self.tournament_mode, TOURNAMENT_MODES)
        _in_range("gamma", self.gamma, 0.0, 1.0)
        _in_range("lam", self.lam, 0.0, 1.0)
        _in_range("eps", self.eps, 0.0, math.inf)
        _in_range("gigpo_step_weight", self.gigpo_step_weight, -math.inf, math.inf)
        if self.weights is not None:
            if not isinstance(self.weights, Mapping):
                raise ConfigError(f"weights must be a mapping {{term: weight}}, got {type(self.weights).__name__}.")
            for name, w in self.weights.items():
                _in_range(f"weights[{name!r}]", w, -math.inf, math.inf)
            object.__setattr__(self, "weights", dict(self.weights))
        self._check_shaping()
        if isinstance(self.compare, str):
            _entry_point("compare", self.compare)
        elif self.compare is not None and not callable(self.compare):
            raise ConfigError(f"compare must be a function or a 'module:function' path, got {self.compare!r}.")
        if self.estimator == "tournament" and self.compare is None:
            raise ConfigError(
                "estimator 'tournament' needs compare=fn(a, b) (or a 'module:function' path) returning >0 when "
                "episode a is better, <0 when b is better and 0 for a tie."
            )

    def _check_shaping(self) -> None:
        if self.gate_threshold is not None:
            _in_range("gate_threshold", self.gate_threshold, -math.inf, math.inf)
        if self.gate_on is not None:
            if not isinstance(self.gate_on, str) or not self.gate_on:
                raise ConfigError(f"gate_on must name an outcome term, got {self.gate_on!r}.")
            if self.gate_threshold is None:
                raise ConfigError(f"gate_on={self.gate_on!r} needs gate_threshold: the gate opens when the term "
                                  "reaches it (G-RA used 1.0 for a solved task).")
        if isinstance(self.turn_transform, str):
            if parse_transform(self.turn_transform) is None and not _ENTRY_POINT.fullmatch(self.turn_transform):
                raise ConfigError(f"turn_transform {self.turn_transform!r} is not 'clip(<eta>)', 'delta' or a "
                                  "'module:function' path.")
        elif self.turn_transform is not None and not callable(self.turn_transform):
            raise ConfigError(f"turn_transform must be a function or a string, got {self.turn_transform!r}.")
        shaped = [f for f in ("gate_threshold", "turn_transform") if getattr(self, f) is not None]
        if shaped and self.estimator not in TURN_LEVEL:
            raise ConfigError(
                f"{' and '.join(shaped)} {'shape' if len(shaped) > 1 else 'shapes'} the turn rewards of the turn-level estimators "
                f"({', '.join(TURN_LEVEL)}), but {self.estimator!r} reads the rubric's combined reward, so it "
                "would be ignored. Give the rubric combine=Gated(threshold, on, turn_transform=...) (or "
                "Sum(turn_transform=...)) instead, or pick a turn-level estimator."
            )
        if self.turn_transform is not None and self.estimator not in TRANSFORM_LEVEL:
            raise ConfigError(
                f"turn_transform {self.turn_transform!r} cannot be honoured by {self.estimator!r}: it normalises "
                "each named term's total, and a transform of the per-turn sums over all terms has no per-term "
                f"form. Use {', '.join(TRANSFORM_LEVEL)}, or drop the transform."
            )

    def weight(self, term: str) -> float:
        """The weight of a named reward term (1.0 for every term when no weights were given)."""
        if self.weights is None:
            return 1.0
        return float(self.weights.get(term, 0.0))

    def turn_shaping(self) -> TurnShaping:
        """The gate and transform the turn-level estimators apply to each agent's per-turn totals."""
        gate = None if self.gate_threshold is None else Gate(float(self.gate_threshold), self.gate_on)
        transform = self.turn_transform
        if isinstance(transform, str):
            transform = parse_transform(transform) or resolve_entry_point("turn_transform", transform)
        return TurnShaping(gate, transform)

    def judge(self) -> Compare:
        """The tournament's pairwise judge, importing a ``"module:function"`` path on first use."""
        if self.compare is None:
            raise ConfigError("no compare judge is set; estimator 'tournament' needs compare=fn(a, b).")
        if isinstance(self.compare, str):
            return resolve_entry_point("compare", self.compare)
        return self.compare


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """The policy-gradient loss of `policy_loss`.

    clip_low, clip_high: the ratio is clipped to [1 - clip_low, 1 + clip_high] (DAPO's clip-higher raises
        clip_high, e.g. 0.28). None disables clipping on that side.
    ratio_level: ``"token"`` (PPO/GRPO/DAPO) or ``"sequence"`` (GSPO: the length-normalised sequence ratio).
    aggregation: ``"token_mean"`` (every completion token in the batch weighs the same, DAPO),
        ``"sequence_mean"`` (mean over each row's tokens, then over rows, original GRPO) or ``"constant"``
        (masked sum divided by rows x `constant_normaliser`, Dr.GRPO's length-unbiased form).
    constant_normaliser: the token budget for ``"constant"``; None uses the padded width T.
    kl_coef, kl_estimator: KL penalty against the reference policy (needs ref_logprobs), estimator k1/k2/k3.
    entropy_coef: entropy bonus (needs per-token entropy).
    tis_cap: truncated importance sampling: weigh each token by min(exp(old - rollout), tis_cap) when rollout
        logprobs are given (off-policy rollouts, engine/learner mismatch). None disables it.
    """

    clip_low: float | None = 0.2
    clip_high: float | None = 0.2
    ratio_level: str = "token"
    aggregation: str = "token_mean"
    constant_normaliser: float | None = None
    kl_coef: float = 0.0
    kl_estimator: str = "k3"
    entropy_coef: float = 0.0
    tis_cap: float | None = None

    def __post_init__(self) -> None:
        _choice("ratio level", self.ratio_level, RATIO_LEVELS)
        _choice("aggregation", self.aggregation, AGGREGATIONS)
        _choice("KL estimator", self.kl_estimator, KL_ESTIMATORS)
        for name in ("clip_low", "clip_high"):
            value = getattr(self, name)
            if value is not None:
                _in_range(name, value, 0.0, math.inf)
        if self.clip_low is not None and self.clip_low >= 1.0:
            raise ConfigError(f"clip_low must be < 1 (the ratio floor is 1 - clip_low), got {self.clip_low}.")
        _in_range("kl_coef", self.kl_coef, 0.0, math.inf)
        _in_range("entropy_coef", self.entropy_coef, -math.inf, math.inf)
        if self.constant_normaliser is not None:
            _in_range("constant_normaliser", self.constant_normaliser, 1e-12, math.inf)
        if self.tis_cap is not None:
            _in_range("tis_cap", self.tis_cap, 1e-12, math.inf)
