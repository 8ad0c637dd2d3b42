"""Sampling filters: failure exclusion, dynamic sampling with refill, DAPO overlong shaping."""

import pytest
from algo_records import episode, turn

from agentrl.algorithms.filters import (
    GroupRefill,
    apply_overlong_penalty,
    dynamic_sampling,
    exclude_failures,
    is_constant_group,
    overlong_penalty,
)
from agentrl.errors import ConfigError
from agentrl.types import Status


def test_exclude_failures_keeps_order_and_truncated():
    eps = [episode("g", 1.0, eid="a"), episode("g", None, eid="x", status=Status.VERIFIER_ERROR),
           episode("g", 0.0, eid="t", status=Status.TRUNCATED)]
    usable, failed = exclude_failures(eps)
    assert [e.id for e in usable] == ["a", "t"] and [e.id for e in failed] == ["x"]


def test_is_constant_group_per_agent_with_tolerance():
    assert is_constant_group([episode("g", 1.0), episode("g", 1.0)])
    assert not is_constant_group([episode("g", 1.0), episode("g", 0.0)])
    assert is_constant_group([episode("g", 1.0), episode("g", 1.05)], tol=0.1)
    assert not is_constant_group([episode("g", {"a": 1.0, "b": 0.0}), episode("g", {"a": 1.0, "b": 1.0})])
    assert is_constant_group([episode("g", 1.0), episode("g", None)])  # a missing reward adds no variation


def test_dynamic_sampling_drops_constant_and_small_groups():
    eps = [episode("mixed", 1.0, eid="m1"), episode("mixed", 0.0, eid="m2"),
           episode("same", 1.0, eid="s1"), episode("same", 1.0, eid="s2"),
           episode("solo", 1.0, eid="o1"),
           # the failure would make "broken" look mixed if it were scored as 0
           episode("broken", 1.0, eid="b1"), episode("broken", 1.0, eid="b2"),
           episode("broken", None, eid="bx", status=Status.TIMEOUT)]
    res = dynamic_sampling(eps)
    assert [e.id for e in res.kept] == ["m1", "m2"]
    assert res.kept_groups == ["mixed"]
    assert res.dropped_groups == ["same", "solo", "broken"]
    assert [e.id for e in res.failed] == ["bx"]
    assert res.to_refill(3) == 2 and res.to_refill(1) == 0


def test_group_refill_reaches_target_within_budget():
    refill = GroupRefill(target_groups=2, max_rounds=3)
    need = refill.add([episode("a", 1.0), episode("a", 1.0), episode("b", 0.0), episode("b", 1.0)])
    assert need == 1 and refill.groups == 1 and refill.dropped == 1
    need = refill.add([episode("c", 0.0), episode("c", 2.0), episode("d", 0.0), episode("d", 3.0)])
    assert need == 0 and refill.groups == 2  # "d" is beyond the target and discarded
    assert [e.group_id for e in refill.episodes] == ["b", "b", "c", "c"]


def test_group_refill_stops_when_budget_spent_and_ignores_repeated_ids():
    refill = GroupRefill(target_groups=3, max_rounds=2)
    assert refill.add([episode("a", 0.0), episode("a", 1.0)]) == 2
    assert refill.add([episode("a", 5.0), episode("a", 6.0)]) == 0  # budget spent; "a" not merged
    assert refill.groups == 1 and len(refill.episodes) == 2
    with pytest.raises(ConfigError):
        GroupRefill(target_groups=0, max_rounds=1)


def test_overlong_penalty_dapo_shape():
    assert overlong_penalty(80, max_length=100, cache_length=20) == 0.0
    assert overlong_penalty(90, max_length=100, cache_length=20) == -0.5
    assert overlong_penalty(100, max_length=100, cache_length=20) == -1.0
    assert overlong_penalty(101, max_length=100, cache_length=20) == -1.0
    with pytest.raises(ConfigError):
        overlong_penalty(1, max_length=10, cache_length=0)


def test_apply_overlong_penalty_adds_turn_term_and_reward():
    ep = episode("g", 1.0, turns=[turn(0, tokens=9), turn(1, tokens=4)], eid="e")
    dead = episode("g", None, turns=[turn(0, tokens=50)], eid="d", status=Status.ENV_ERROR)
    out, dead_out = apply_overlong_penalty([ep, dead], max_length=10, cache_length=4, weight=0.5)
    assert [t.rewards["overlong"] for t in out.turns] == [-0.75, 0.0]
    assert out.reward == {"a": 1.0 - 0.375}
    assert dead_out is dead
