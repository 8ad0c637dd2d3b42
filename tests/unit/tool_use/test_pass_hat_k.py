"""pass^k as in tau-bench: the chance that k tries at a task, drawn from its n, all succeed."""

import math

import pytest

from agentrl.environments.tool_use.tau2 import pass_hat_k


def test_pass_hat_k_by_hand():
    tries = {"a": [True, True, False, True], "b": [True, False, False, False]}
    assert pass_hat_k(tries, 1) == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert pass_hat_k(tries, 2) == pytest.approx((math.comb(3, 2) / math.comb(4, 2) + 0) / 2)
    assert pass_hat_k(tries, 4) == 0.0
    assert pass_hat_k({"a": [True] * 3}, 3) == 1.0


def test_pass_hat_k_rejects_too_few_tries():
    with pytest.raises(ValueError, match="needs at least 3"):
        pass_hat_k({"a": [True, True]}, 3)
    with pytest.raises(ValueError, match="k >= 1"):
        pass_hat_k({"a": [True]}, 0)
