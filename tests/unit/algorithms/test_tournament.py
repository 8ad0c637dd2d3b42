"""Tournament ranking (ArenaRL): seeded single elimination vs round robin, ties, and the estimator."""

import pytest
from algo_records import episode

from agentrl.algorithms import AdvantageConfig, CompareError, compute_advantages, round_robin, single_elimination
from agentrl.algorithms.tournament import bracket_positions, seed_order
from agentrl.errors import ConfigError
from agentrl.types import Status


def by_value(a, b):
    return a - b


def test_bracket_positions():
    assert bracket_positions(1) == [0]
    assert bracket_positions(4) == [0, 3, 1, 2]
    assert bracket_positions(8) == [0, 7, 3, 4, 1, 6, 2, 5]
    with pytest.raises(ConfigError):
        bracket_positions(6)


def test_single_elimination_with_seed_scores():
    items = [3, 1, 4, 2]
    scores, n = single_elimination(items, by_value, seed_scores=items)
    # seeds: 4, 3, 2, 1 -> semis 4 v 1 and 3 v 2, final 4 v 3
    assert scores == [1.0, 0.0, 2.0, 0.0] and n == 3


def test_single_elimination_odd_field_gives_byes_to_top_seeds():
    scores, n = single_elimination([5, 9, 1], by_value, seed_scores=[5, 9, 1])
    # 9 has a bye (1 round), 5 beats 1 (1 round), final 9 beats 5
    assert scores == [1.0, 2.0, 0.0] and n == 2


def test_single_elimination_ties_go_to_the_better_seed():
    scores, n = single_elimination(["a", "b", "c", "d"], lambda a, b: 0, seed_scores=[0, 0, 0, 0])
    # equal seed scores keep index order; 0 v 3 and 1 v 2, then 0 v 1
    assert scores == [2.0, 1.0, 0.0, 0.0] and n == 3


def test_round_robin_counts_half_for_ties():
    scores, n = round_robin([3, 1, 4, 2], by_value)
    assert scores == [2.0, 0.0, 3.0, 1.0] and n == 6
    scores, _ = round_robin([1, 1, 2], by_value)
    assert scores == [0.5, 0.5, 2.0]


def test_small_fields():
    assert single_elimination([], by_value) == ([], 0)
    assert single_elimination([7], by_value) == ([0.0], 0)
    assert round_robin([7], by_value) == ([0.0], 0)


def test_random_seed_order_is_reproducible():
    assert seed_order(8, seed=3) == seed_order(8, seed=3)
    assert sorted(seed_order(8, seed=3)) == list(range(8))
    assert seed_order(3, seed_scores=[1.0, 5.0, 3.0]) == [1, 2, 0]


def test_compare_must_return_a_number():
    with pytest.raises(CompareError, match="finite number"):
        single_elimination([1, 2], lambda a, b: "a")
    with pytest.raises(CompareError):
        round_robin([1, 2], lambda a, b: float("nan"))


def _q(eid, q, status=Status.OK):
    return episode("g", 0.0, eid=eid, status=status).replace(info={"q": q})


def judge(a, b):
    return a.info["q"] - b.info["q"]


def test_tournament_estimator_round_robin_exact():
    eps = [_q("a", 3), _q("b", 1), _q("c", 4), _q("d", 2), _q("dead", 99, Status.ENV_ERROR)]
    cfg = AdvantageConfig(estimator="tournament", compare=judge, tournament_mode="round_robin", scale_by_std=False)
    # scores [2, 0, 3, 1] (the failed episode never plays), mean 1.5
    assert compute_advantages(eps, cfg) == {"a": [0.5], "b": [-1.5], "c": [1.5], "d": [-0.5]}


def test_tournament_estimator_single_elimination_champion_is_best_and_reproducible():
    eps = [_q(f"e{i}", q) for i, q in enumerate([5, 2, 8, 1, 7, 3, 6, 4])]
    cfg = AdvantageConfig(estimator="tournament", compare=judge, tournament_seed=11)
    adv = compute_advantages(eps, cfg)
    assert max(adv, key=lambda k: adv[k][0]) == "e2"  # q=8 always wins every match
    assert adv == compute_advantages(eps, cfg)
    assert abs(sum(v[0] for v in adv.values())) < 1e-9


def test_tournament_all_ties_in_round_robin_give_zero():
    eps = [_q("a", 1), _q("b", 1), _q("c", 1)]
    cfg = AdvantageConfig(estimator="tournament", compare=judge, tournament_mode="round_robin")
    assert compute_advantages(eps, cfg) == {"a": [0.0], "b": [0.0], "c": [0.0]}


def test_tournament_needs_compare():
    with pytest.raises(ConfigError, match="compare"):
        AdvantageConfig(estimator="tournament")
