"""Pure statistics for evaluation reports: pass@k, pass^k, confidence intervals, paired tests.

- `pass_at_k(n, c, k)`: the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained
  on Code"): the probability that at least one of k samples drawn without replacement from n, of which c are
  correct, is correct: ``1 - C(n-c, k) / C(n, k)``.
- `pass_hat_k(n, c, k)`: pass^k as in tau-bench (Yao et al. 2024): the probability that all k samples drawn
  without replacement succeed: ``C(c, k) / C(n, k)``.
- `wilson_interval(successes, n)`: the Wilson score interval for a binomial proportion (good coverage at small
  n and near 0 or 1, where the normal interval fails).
- `bootstrap_interval(groups, statistic)`: a percentile bootstrap that resamples whole groups (tasks), because
  samples of the same task are correlated; seeded, so the same data gives the same interval.
- `sign_test(wins, losses)`: exact two-sided binomial sign test; ties are dropped.
- `paired_bootstrap(diffs)`: two-sided bootstrap p-value for "the mean paired difference is 0".

All functions are deterministic for a given input (fixed seeds), so a resumed run reports the same numbers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

Z95 = 1.959963984540054  # two-sided 95% normal quantile
BOOTSTRAP_SEED = 20210707
BOOTSTRAP_RESAMPLES = 2000


def _check_counts(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n) or k < 1:
        raise ValueError(f"need 0 <= c <= n and k >= 1, got n={n}, c={c}, k={k}.")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got n={n}. Raise --samples to >= {k}.")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al. 2021), computed as a stable product."""
    _check_counts(n, c, k)
    if n - c < k:
        return 1.0
    # 1 - prod_{i=n-c+1}^{n} (1 - k/i): avoids huge binomials
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k (tau-bench): probability that k samples drawn without replacement all succeed."""
    _check_counts(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval; (0, 1) when n == 0 (no information)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(groups: Sequence[Sequence[float]], statistic: Callable[[list[Sequence[float]]], float] | None = None,
                       *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI of `statistic` over resampled groups (default: mean of all values).

    Resampling groups rather than values keeps the correlation between samples of one task.
    """
    groups = [list(g) for g in groups if len(g)]
    if not groups:
        return math.nan, math.nan
    statistic = statistic or _pooled_mean
    rng = random.Random(seed)
    values = sorted(statistic([groups[rng.randrange(len(groups))] for _ in groups]) for _ in range(resamples))
    alpha = (1 - level) / 2
    lo = values[math.floor(alpha * (resamples - 1))]
    hi = values[math.ceil((1 - alpha) * (resamples - 1))]
    return lo, hi


def _pooled_mean(groups: list[Sequence[float]]) -> float:
    total = sum(sum(g) for g in groups)
    return total / sum(len(g) for g in groups)


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided sign test p-value for `wins` vs `losses` (ties excluded by the caller)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(diffs: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """(p_value, ci_low, ci_high) for the mean of paired differences.

    The p-value is two-sided: twice the share of resampled means on the other side of 0 than the observed
    mean (capped at 1); all-zero differences give p = 1.
    """
    diffs = list(diffs)
    if not diffs:
        return 1.0, math.nan, math.nan
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    observed = sum(diffs) / n
    if observed == 0:
        p = 1.0
    else:
        other_side = sum(1 for m in means if (m <= 0 if observed > 0 else m >= 0))
        p = min(1.0, 2 * other_side / resamples)
    lo = means[math.floor(0.025 * (resamples - 1))]
    hi = means[math.ceil(0.975 * (resamples - 1))]
    return p, lo, hi
