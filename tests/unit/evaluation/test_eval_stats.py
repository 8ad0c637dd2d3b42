import itertools
import math

import pytest

from agentrl.evaluation import stats


def brute(n, c, k, all_succeed):
    outcomes = [1] * c + [0] * (n - c)
    draws = list(itertools.combinations(outcomes, k))
    hit = [all(d) if all_succeed else any(d) for d in draws]
    return sum(hit) / len(draws)


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_pass_at_k_and_pass_hat_k_match_enumeration(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert stats.pass_at_k(n, c, k) == pytest.approx(brute(n, c, k, False))
            assert stats.pass_hat_k(n, c, k) == pytest.approx(brute(n, c, k, True))


def test_pass_at_1_is_the_success_rate():
    assert stats.pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert stats.pass_hat_k(10, 3, 1) == pytest.approx(0.3)


def test_pass_at_k_needs_enough_samples():
    with pytest.raises(ValueError, match="Raise --samples"):
        stats.pass_at_k(2, 1, 4)


def test_wilson_interval_known_values():
    lo, hi = stats.wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = stats.wilson_interval(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)


def test_sign_test_known_values():
    assert stats.sign_test(9, 1) == pytest.approx(22 / 1024)
    assert stats.sign_test(5, 5) == 1.0
    assert stats.sign_test(0, 0) == 1.0


def test_bootstrap_is_deterministic_and_brackets_the_mean():
    groups = [[0, 1, 1], [1, 1, 1], [0, 0, 1], [1, 0, 1]]
    a = stats.bootstrap_interval(groups)
    assert a == stats.bootstrap_interval(list(reversed(groups))[::-1])
    assert a[0] <= 8 / 12 <= a[1]
    assert all(math.isnan(x) for x in stats.bootstrap_interval([]))


def test_paired_bootstrap_detects_consistent_gains_only():
    p, lo, hi = stats.paired_bootstrap([0.5] * 12)
    assert p == 0.0 and lo == hi == 0.5
    p, _, _ = stats.paired_bootstrap([0.1, -0.1] * 6)
    assert p == 1.0
    p, lo, hi = stats.paired_bootstrap([0.2, -0.1, 0.3, 0.0, 0.4, -0.2, 0.1, 0.3])
    assert lo < 0.125 < hi and 0 < p <= 1
