"""Advantage estimators as pure functions over plain floats.

Each function takes the rewards of one group (or one trajectory) and returns advantages in the same order.
They know nothing about episodes; `agentrl.algorithms.advantages` gathers the rewards and calls them.

Conventions shared by all of them:
- A group of one has no baseline to compare against: every group-relative estimator gives it 0.
- A group whose rewards are all equal gives 0 everywhere (no signal, never a division by zero).
- `std` is the sample std (n-1) unless ``unbiased=False``; `eps` is added to it before dividing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from agentrl.errors import ConfigError


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def std(xs: Sequence[float], unbiased: bool = True) -> float:
    """Standard deviation; 0 for fewer than two values (one sample has no spread to measure)."""
    n = len(xs)
    if n < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1 if unbiased else n))


def _all_equal(xs: Sequence[float]) -> bool:
    return all(x == xs[0] for x in xs)


def grpo(rewards: Sequence[float], eps: float = 1e-6, unbiased: bool = True, scale_by_std: bool = True) -> list[float]:
    """GRPO group-normalised advantage (Shao et al., 2024, DeepSeekMath).

    A_i = (r_i - mean(r)) / (std(r) + eps). With ``scale_by_std=False`` this is Dr.GRPO's A_i = r_i - mean(r).
    """
    if len(rewards) < 2 or _all_equal(rewards):
        return [0.0] * len(rewards)
    m = mean(rewards)
    scale = std(rewards, unbiased) + eps if scale_by_std else 1.0
    return [(r - m) / scale for r in rewards]


def drgrpo(rewards: Sequence[float]) -> list[float]:
    """Dr.GRPO advantage (Liu et al., 2025, "Understanding R1-Zero-Like Training: A Critical Perspective").

    A_i = r_i - mean(r): GRPO without the std division, which over-weights groups that are nearly all right or
    all wrong. Its loss half (no per-sequence length normalisation) is `LossConfig(aggregation="constant")`.
    """
    return grpo(rewards, scale_by_std=False)


def rloo(rewards: Sequence[float]) -> list[float]:
    """REINFORCE leave-one-out (Kool et al., 2019; Ahmadian et al., 2024, "Back to Basics").

    A_i = r_i - (1/(n-1)) * sum_{j != i} r_j; the baseline never contains the sample's own reward, so the
    gradient estimate stays unbiased. Equals n/(n-1) * (r_i - mean(r)).
    """
    n = len(rewards)
    if n < 2 or _all_equal(rewards):  # exact zeros, not float residue, when there is no signal
        return [0.0] * n
    total = sum(rewards)
    return [r - (total - r) / (n - 1) for r in rewards]


def batch_normalise(values: Sequence[float], eps: float = 1e-6, unbiased: bool = True) -> list[float]:
    """Whiten over a whole batch: (v - mean(v)) / (std(v) + eps).

    REINFORCE++ (Hu, 2025) normalises returns over the global batch rather than per prompt group; 0 when every
    value is equal or there is only one.
    """
    if len(values) < 2 or _all_equal(values):
        return [0.0] * len(values)
    m, s = mean(values), std(values, unbiased)
    return [(v - m) / (s + eps) for v in values]


def discounted_returns(rewards: Sequence[float], gamma: float = 1.0) -> list[float]:
    """G_t = sum_{k >= t} gamma^(k - t) r_k, for every step t of one trajectory."""
    out = [0.0] * len(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def gae(rewards: Sequence[float], values: Sequence[float], gamma: float = 1.0, lam: float = 1.0,
        last_value: float = 0.0) -> tuple[list[float], list[float]]:
    """Generalised advantage estimation (Schulman et al., 2016), one step per turn.

    delta_t = r_t + gamma * V_{t+1} - V_t (V_T = `last_value`, 0 for a terminal end);
    A_t = sum_l (gamma * lam)^l * delta_{t+l}. Returns (advantages, returns) with returns_t = A_t + V_t, the
    value head's regression target.
    """
    if len(values) != len(rewards):
        raise ConfigError(f"gae needs one value per reward: got {len(values)} values for {len(rewards)} rewards.")
    advantages = [0.0] * len(rewards)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        next_value = values[t + 1] if t + 1 < len(values) else last_value
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
    return advantages, [a + v for a, v in zip(advantages, values)]
