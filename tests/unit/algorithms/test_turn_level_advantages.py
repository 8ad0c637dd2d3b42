"""Turn-level estimators (GAE, turn returns with the G-RA gate, GiGPO, GDPO) on hand-computed examples."""

import math

import pytest
from algo_records import episode, turn

from agentrl.algorithms import AdvantageConfig, compute_advantages, discounted_returns, gae
from agentrl.errors import ConfigError
from agentrl.types import Status

W = {"env": 1.0, "correct": 1.0}


def _ep(eid, env_rewards, correct, group="g", states=None, reward=None):
    states = states or [None] * len(env_rewards)
    turns = [turn(i, rewards={"env": r}, state=s) for i, (r, s) in enumerate(zip(env_rewards, states))]
    return episode(group, reward if reward is not None else correct, turns=turns,
                   outcome={"a": {"correct": correct}}, eid=eid)


def test_discounted_returns():
    assert discounted_returns([1.0, 0.0, 2.0], gamma=0.5) == [1.5, 1.0, 2.0]
    assert discounted_returns([], gamma=0.9) == []


def test_gae_hand_computed():
    adv, ret = gae([0.0, 0.0, 1.0], [0.5, 0.5, 0.5], gamma=1.0, lam=1.0)
    assert adv == [0.5, 0.5, 0.5] and ret == [1.0, 1.0, 1.0]
    adv, _ = gae([0.0, 0.0, 1.0], [0.5, 0.5, 0.5], gamma=0.9, lam=0.5)
    # deltas: -0.05, -0.05, 0.5; A2 = 0.5, A1 = -0.05 + 0.45 * 0.5, A0 = -0.05 + 0.45 * A1
    assert adv == pytest.approx([0.02875, 0.175, 0.5])
    adv, _ = gae([1.0], [0.0], last_value=2.0, gamma=0.5)
    assert adv == [2.0]


def test_gae_through_dispatcher_uses_weighted_turn_and_outcome_rewards():
    eps = [_ep("e", [0.0, 0.0, 0.0], 1.0)]
    values = {"e": [0.5, 0.5, 0.5]}
    adv = compute_advantages(eps, AdvantageConfig(estimator="gae", weights=W, gamma=0.9, lam=0.5), values=values)
    assert adv["e"] == pytest.approx([0.02875, 0.175, 0.5])


def test_gae_needs_values_per_turn():
    eps = [_ep("e", [0.0, 0.0], 1.0)]
    with pytest.raises(ConfigError, match="values"):
        compute_advantages(eps, AdvantageConfig(estimator="gae"))
    with pytest.raises(ConfigError, match="2 turns but 1 values"):
        compute_advantages(eps, AdvantageConfig(estimator="gae"), values={"e": [0.0]})


def test_turn_returns_position_baseline():
    eps = [_ep("x", [1.0, 0.0], 1.0), _ep("y", [0.0, 0.0], 0.0)]
    # returns: x = [2, 1], y = [0, 0]
    adv = compute_advantages(eps, AdvantageConfig(estimator="turn_returns", weights=W, scale_by_std=False))
    assert adv == {"x": [1.0, 0.5], "y": [-1.0, -0.5]}
    scaled = compute_advantages(eps, AdvantageConfig(estimator="turn_returns", weights=W, eps=0.0))
    r = 1 / math.sqrt(2)
    assert scaled["x"] == pytest.approx([r, r]) and scaled["y"] == pytest.approx([-r, -r])


def test_turn_returns_discount_and_uneven_lengths():
    eps = [_ep("x", [1.0, 0.0], 1.0), _ep("y", [0.0, 0.0], 0.0), _ep("z", [3.0], 0.0)]
    adv = compute_advantages(eps, AdvantageConfig(estimator="turn_returns", weights=W, gamma=0.5,
                                                  scale_by_std=False))
    # returns: x = [1.5, 1], y = [0, 0], z = [3]; position 0 mean 1.5, position 1 (x, y only) mean 0.5
    assert adv == {"x": [0.0, 0.5], "y": [-1.5, -0.5], "z": [1.5]}


def test_turn_returns_weights_and_none_terms():
    turns = [turn(0, rewards={"env": 1.0, "judge": None, "logged": 9.0})]
    x = episode("g", 1.0, turns=turns, outcome={"a": {"correct": None}}, eid="x")
    y = _ep("y", [0.0], 0.0)
    adv = compute_advantages([x, y], AdvantageConfig(estimator="turn_returns", scale_by_std=False,
                                                     weights={"env": 2.0, "correct": 1.0, "logged": 0.0}))
    # x: 2 * 1 (None skipped, weight-0 term ignored); y: 0
    assert adv == {"x": [1.0], "y": [-1.0]}


def test_gra_gates_turn_rewards_on_outcome():
    eps = [_ep("ok", [0.0, 1.0], 1.0), _ep("hack", [1.0, 1.0], 0.0)]
    plain = compute_advantages(eps, AdvantageConfig(estimator="turn_returns", weights=W, scale_by_std=False))
    # without the gate the reward hacker looks as good: returns [2, 2] vs [2, 1]
    assert plain == {"ok": [0.0, 0.5], "hack": [0.0, -0.5]}
    gated = compute_advantages(eps, AdvantageConfig(estimator="turn_returns", weights=W, scale_by_std=False,
                                                    gate_on="correct", gate_threshold=1.0))
    # gate closed for "hack": its returns are [0, 0]; "ok" keeps [2, 2]
    assert gated == {"ok": [1.0, 1.0], "hack": [-1.0, -1.0]}


def test_gra_gate_on_weighted_outcome_total_and_missing_term():
    eps = [_ep("ok", [1.0], 0.5), _ep("low", [1.0], 0.2)]
    cfg = AdvantageConfig(estimator="turn_returns", weights=W, scale_by_std=False, gate_threshold=0.5)
    adv = compute_advantages(eps, cfg)  # returns: ok 1 + 0.5 (gate open), low 0.2 (closed)
    assert adv["ok"] == pytest.approx([0.65]) and adv["low"] == pytest.approx([-0.65])
    missing = episode("g", 0.0, turns=[turn(0, rewards={"env": 1.0})], eid="m")  # no "correct" at all
    cfg_on = AdvantageConfig(estimator="turn_returns", weights=W, scale_by_std=False, gate_on="correct",
                             gate_threshold=0.0)
    assert compute_advantages([missing, _ep("y", [1.0], 0.0)], cfg_on) == {"m": [-0.5], "y": [0.5]}


def test_gigpo_episode_plus_step_groups():
    eps = [_ep("e1", [0.0, 0.0], 1.0, states=["s0", "s1"]),
           _ep("e2", [0.0, 0.0], 0.0, states=["s0", "s2"]),
           _ep("e3", [0.0, 0.0], 0.0, states=["s0", "s1"])]
    cfg = AdvantageConfig(estimator="gigpo", weights=W, scale_by_std=False)
    adv = compute_advantages(eps, cfg)
    # episode level: [2/3, -1/3, -1/3]; step groups: s0 -> [2/3, -1/3, -1/3], s1 -> [1/2, -1/2], s2 -> [0]
    assert adv["e1"] == pytest.approx([4 / 3, 7 / 6])
    assert adv["e2"] == pytest.approx([-2 / 3, -1 / 3])
    assert adv["e3"] == pytest.approx([-2 / 3, -5 / 6])
    half = compute_advantages(eps, AdvantageConfig(estimator="gigpo", weights=W, scale_by_std=False,
                                                   gigpo_step_weight=0.5))
    assert half["e1"] == pytest.approx([1.0, 11 / 12])


def test_gigpo_same_state_twice_in_one_trajectory_and_missing_keys():
    eps = [_ep("e1", [0.0, 0.0], 1.0, states=["s0", "s0"]), _ep("e2", [0.0, 0.0], 0.0, states=["s0", None])]
    adv = compute_advantages(eps, AdvantageConfig(estimator="gigpo", weights=W, scale_by_std=False))
    # episode level [0.5, -0.5]; s0 group: e1 t0 (G=1), e1 t1 (G=1), e2 t0 (G=0): mean 2/3
    assert adv["e1"] == pytest.approx([0.5 + 1 / 3, 0.5 + 1 / 3])
    assert adv["e2"] == pytest.approx([-0.5 - 2 / 3, -0.5])


def test_gigpo_needs_hashable_state_keys():
    with pytest.raises(ConfigError, match="state_key"):
        compute_advantages([_ep("e", [0.0], 1.0)], AdvantageConfig(estimator="gigpo"))
    with pytest.raises(ConfigError, match="hashable"):
        compute_advantages([_ep("e", [0.0], 1.0, states=[["not", "hashable"]])], AdvantageConfig(estimator="gigpo"))


def _gdpo_ep(eid, correct, fmt, logged=0.0):
    return episode("g", 0.0, turns=[turn(0, rewards={"logged": logged})], eid=eid,
                   outcome={"a": {"correct": correct, "format": fmt}})


def test_gdpo_normalises_each_component_then_sums():
    eps = [_gdpo_ep("a", 1.0, 1.0, logged=5.0), _gdpo_ep("b", 0.0, 1.0), _gdpo_ep("c", 0.0, 0.0)]
    weights = {"correct": 1.0, "format": 0.5, "logged": 0.0}
    adv = compute_advantages(eps, AdvantageConfig(estimator="gdpo", weights=weights, scale_by_std=False,
                                                  gdpo_batch_norm=False))
    # correct centred [2/3, -1/3, -1/3]; format centred [1/3, 1/3, -2/3] x 0.5; "logged" has weight 0
    assert adv["a"] == pytest.approx([5 / 6]) and adv["b"] == pytest.approx([-1 / 6])
    assert adv["c"] == pytest.approx([-2 / 3])


def test_gdpo_std_scaling_and_batch_norm():
    eps = [_gdpo_ep("a", 1.0, 1.0), _gdpo_ep("b", 0.0, 1.0), _gdpo_ep("c", 0.0, 0.0)]
    weights = {"correct": 1.0, "format": 0.5}
    adv = compute_advantages(eps, AdvantageConfig(estimator="gdpo", weights=weights, eps=0.0))
    k = math.sqrt(3)  # both components have sample std 1/sqrt(3)
    sums = [2 / 3 * k + 0.5 / 3 * k, -1 / 3 * k + 0.5 / 3 * k, -1 / 3 * k - 1 / 3 * k]
    s = math.sqrt(sum(x * x for x in sums) / 2)  # the sums have mean 0
    assert [adv[e][0] for e in "abc"] == pytest.approx([x / s for x in sums])


def test_gdpo_none_component_is_left_out_of_that_components_stats():
    eps = [_gdpo_ep("a", 1.0, 1.0), _gdpo_ep("b", 0.0, 1.0), _gdpo_ep("c", 0.0, None)]
    adv = compute_advantages(eps, AdvantageConfig(estimator="gdpo", weights={"correct": 1.0, "format": 1.0},
                                                  scale_by_std=False, gdpo_batch_norm=False))
    # format present for a and b only, both 1 -> 0
    assert {k: v[0] for k, v in adv.items()} == pytest.approx({"a": 2 / 3, "b": -1 / 3, "c": -1 / 3})


def test_turn_level_estimators_skip_failed_episodes():
    eps = [_ep("x", [1.0], 1.0, states=["s"]), _ep("y", [0.0], 0.0, states=["s"]),
           episode("g", None, turns=[turn(0, rewards={"env": 100.0}, state="s")], eid="dead",
                   status=Status.POLICY_ERROR)]
    for name, gate in (("turn_returns", None), ("turn_returns", 0.0), ("gigpo", None), ("gdpo", None)):
        adv = compute_advantages(eps, AdvantageConfig(estimator=name, weights=W, gate_threshold=gate))
        assert set(adv) == {"x", "y"}, name
        assert adv["x"][0] > 0 > adv["y"][0], name
