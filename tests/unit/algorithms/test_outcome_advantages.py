"""Outcome-only estimators (GRPO, Dr.GRPO, RLOO, REINFORCE++) on hand-computed examples."""

import math

import pytest
from algo_records import episode, turn

from agentrl.algorithms import AdvantageConfig, compute_advantages, drgrpo, grpo, rloo
from agentrl.algorithms.estimators import batch_normalise, std
from agentrl.errors import ConfigError
from agentrl.types import Status

R3 = 1 / math.sqrt(3)


def test_grpo_uses_sample_std_by_default():
    assert grpo([1.0, 2.0, 3.0], eps=0.0) == [-1.0, 0.0, 1.0]
    assert grpo([0.0, 0.0, 3.0], eps=0.0) == pytest.approx([-R3, -R3, 2 * R3])


def test_grpo_population_std_option():
    s = math.sqrt(2 / 3)
    assert grpo([1.0, 2.0, 3.0], eps=0.0, unbiased=False) == pytest.approx([-1 / s, 0.0, 1 / s])


def test_grpo_edge_cases_group_of_one_and_all_equal():
    assert grpo([5.0]) == [0.0]
    assert grpo([]) == []
    assert grpo([2.0, 2.0, 2.0]) == [0.0, 0.0, 0.0]
    assert std([4.0]) == 0.0


def test_drgrpo_only_centres():
    assert drgrpo([0.0, 0.0, 3.0]) == [-1.0, -1.0, 2.0]
    assert drgrpo([7.0]) == [0.0]


def test_rloo_leave_one_out_baseline():
    assert rloo([0.0, 0.0, 3.0]) == [-1.5, -1.5, 3.0]
    assert rloo([1.0, 2.0, 3.0]) == [-1.5, 0.0, 1.5]
    assert rloo([4.0]) == [0.0]
    assert rloo([1.0, 1.0]) == [0.0, 0.0]


def test_batch_normalise():
    assert batch_normalise([1.0, 2.0, 3.0], eps=0.0) == [-1.0, 0.0, 1.0]
    assert batch_normalise([3.0, 3.0]) == [0.0, 0.0]


def test_compute_advantages_grpo_broadcasts_over_turns_in_order():
    eps = [episode("g", 0.0, eid="e0", n_turns=2), episode("g", 0.0, eid="e1"), episode("g", 3.0, eid="e2", n_turns=3)]
    adv = compute_advantages(eps, AdvantageConfig(estimator="grpo", eps=0.0))
    assert adv["e0"] == pytest.approx([-R3, -R3])
    assert adv["e1"] == pytest.approx([-R3])
    assert adv["e2"] == pytest.approx([2 * R3] * 3)


def test_groups_are_separate():
    eps = [episode("g1", 0.0, eid="a"), episode("g1", 1.0, eid="b"), episode("g2", 5.0, eid="c"),
           episode("g2", 9.0, eid="d")]
    adv = compute_advantages(eps, AdvantageConfig(estimator="drgrpo"))
    assert adv == {"a": [-0.5], "b": [0.5], "c": [-2.0], "d": [2.0]}


def test_failed_episodes_excluded_from_stats_and_output():
    eps = [episode("g", 0.0, eid="a"), episode("g", 1.0, eid="b"),
           episode("g", None, eid="dead", status=Status.ENV_ERROR),
           episode("g", 0.0, eid="timeout", status=Status.TIMEOUT)]
    adv = compute_advantages(eps, AdvantageConfig(estimator="rloo"))
    # rloo of [0, 1] only: the two failures contribute nothing, not a 0
    assert adv == {"a": [-1.0], "b": [1.0]}


def test_truncated_episodes_count():
    eps = [episode("g", 0.0, eid="a"), episode("g", 2.0, eid="b", status=Status.TRUNCATED)]
    assert compute_advantages(eps, AdvantageConfig(estimator="drgrpo")) == {"a": [-1.0], "b": [1.0]}


def test_missing_or_nan_reward_is_not_applicable():
    eps = [episode("g", 0.0, eid="a"), episode("g", 2.0, eid="b"), episode("g", None, eid="none"),
           episode("g", float("nan"), eid="nan")]
    adv = compute_advantages(eps, AdvantageConfig(estimator="drgrpo"))
    assert adv == {"a": [-1.0], "b": [1.0], "none": [0.0], "nan": [0.0]}


def test_group_of_one_and_all_equal_give_zero():
    eps = [episode("solo", 1.0, eid="s"), episode("eq", 0.5, eid="e1"), episode("eq", 0.5, eid="e2")]
    for name in ("grpo", "drgrpo", "rloo"):
        assert compute_advantages(eps, AdvantageConfig(estimator=name)) == {"s": [0.0], "e1": [0.0], "e2": [0.0]}


def test_episode_without_turns_is_in_output_with_no_advantages():
    eps = [episode("g", 0.0, eid="a", turns=[]), episode("g", 1.0, eid="b"), episode("g", 3.0, eid="c")]
    adv = compute_advantages(eps, AdvantageConfig(estimator="drgrpo"))
    assert adv == {"a": [], "b": [-1.0], "c": [1.0]}


def test_reinforce_pp_normalises_over_the_whole_batch():
    eps = [episode("A", 1.0, eid="a1"), episode("A", 2.0, eid="a2"), episode("B", 3.0, eid="b1")]
    adv = compute_advantages(eps, AdvantageConfig(estimator="reinforce++", eps=0.0))
    assert adv == {"a1": [-1.0], "a2": [0.0], "b1": [1.0]}


def test_reinforce_pp_baseline_centres_per_group_then_batch_normalises():
    eps = [episode("A", 1.0, eid="a1"), episode("A", 2.0, eid="a2"), episode("B", 3.0, eid="b1")]
    adv = compute_advantages(eps, AdvantageConfig(estimator="reinforce++_baseline", eps=0.0))
    # centred: [-0.5, 0.5, 0]; mean 0, sample std 0.5
    assert adv == {"a1": [-1.0], "a2": [1.0], "b1": [0.0]}


def _two_agent(eid, ra, rb, agents=("red_0", "blue_0")):
    turns = [turn(0, agents[0]), turn(0, agents[1]), turn(1, agents[0])]
    return episode("g", {agents[0]: ra, agents[1]: rb}, turns=turns, eid=eid)


def test_multi_agent_per_agent_grouping():
    eps = [_two_agent("x", 1.0, 10.0), _two_agent("y", 3.0, 30.0)]
    adv = compute_advantages(eps, AdvantageConfig(estimator="drgrpo", grouping="agent"))
    # turns order: red, blue, red
    assert adv == {"x": [-1.0, -10.0, -1.0], "y": [1.0, 10.0, 1.0]}


def test_multi_agent_across_agents_grouping():
    eps = [_two_agent("x", 1.0, 10.0), _two_agent("y", 3.0, 30.0)]
    adv = compute_advantages(eps, AdvantageConfig(estimator="drgrpo", grouping="all"))
    # one pool of [1, 10, 3, 30], mean 11
    assert adv == {"x": [-10.0, -1.0, -10.0], "y": [-8.0, 19.0, -8.0]}


def test_multi_agent_role_grouping_pools_same_role():
    turns = [turn(0, "pursuer_0"), turn(0, "pursuer_1"), turn(0, "evader_0")]
    eps = [episode("g", {"pursuer_0": 1.0, "pursuer_1": 3.0, "evader_0": 5.0}, turns=turns, eid="x")]
    adv = compute_advantages(eps, AdvantageConfig(estimator="drgrpo", grouping="role"))
    assert adv == {"x": [-1.0, 1.0, 0.0]}
    custom = AdvantageConfig(estimator="drgrpo", grouping="role", roles={"evader_0": "pursuer"})
    assert compute_advantages(eps, custom) == {"x": [-2.0, 0.0, 2.0]}


def test_bad_config_names_fail_with_the_valid_list():
    with pytest.raises(ConfigError, match="Did you mean 'grpo'"):
        AdvantageConfig(estimator="grp")
    with pytest.raises(ConfigError, match="grouping"):
        AdvantageConfig(grouping="team")
    with pytest.raises(ConfigError, match="gamma"):
        AdvantageConfig(gamma=1.5)


def test_duplicate_episode_ids_are_rejected():
    with pytest.raises(ConfigError, match="unique"):
        compute_advantages([episode("g", 0.0, eid="x"), episode("g", 1.0, eid="x")])
