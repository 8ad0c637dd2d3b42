"""WebShop's outcome reward on the shop's catalogue, the seeded catalogue and goals, and the site's search."""

import dataclasses
import random

import pytest

from agentrl.environments.web.catalogue import (
    Goal,
    Product,
    generate_catalogue,
    make_goal,
    price_ceiling,
    shipped_catalogue,
    shipped_test_goals,
    type_reward,
    webshop_reward,
)
from agentrl.environments.web.shop import search, tasks, train_tasks

CAT = shipped_catalogue()
BY_ID = {p.id: p for p in CAT}


def goal_for(product, attrs=None, options=None, upper=None):
    attrs = tuple(product.attributes[:2] if attrs is None else attrs)
    options = {k: v[0] for k, v in product.options.items()} if options is None else options
    return Goal(product.id, product.query, product.category, product.nouns, attrs, options,
                product.price + 10 if upper is None else upper, "instruction")


def test_the_shipped_catalogue_is_generate_catalogue_of_seed_0():
    assert [p.to_dict() for p in generate_catalogue(0)] == [p.to_dict() for p in CAT]
    assert len(CAT) == 120 and len({p.id for p in CAT}) == 120


def test_catalogue_and_goals_are_reproducible_by_seed():
    assert generate_catalogue(3) == generate_catalogue(3)
    assert generate_catalogue(3) != generate_catalogue(4)
    assert make_goal(CAT, random.Random(7)) == make_goal(CAT, random.Random(7))
    assert [t.reference for t in train_tasks(5, seed=1)] == [t.reference for t in train_tasks(5, seed=1)]
    assert [t.reference for t in train_tasks(5, seed=1)] != [t.reference for t in train_tasks(5, seed=2)]


def test_the_test_split_is_the_shipped_file_and_every_goal_is_satisfiable():
    test = tasks("test")
    assert len(test) == 50 and len(shipped_test_goals()) == 50
    assert {t.split for t in test} == {"test"}
    for goal in shipped_test_goals():
        target = BY_ID[goal.product_id]
        assert set(goal.attributes) <= set(target.attributes)
        assert all(v in target.options[k] for k, v in goal.options.items())
        assert target.price <= goal.price_upper
        assert webshop_reward(target, goal, goal.options)["reward"] == 1.0
    with pytest.raises(ValueError, match="unknown split"):
        tasks("dev")


def test_price_ceiling_follows_webshop_two_of_the_next_four_multiples_of_ten():
    rng = random.Random(0)
    uppers = {price_ceiling(23.99, rng) for _ in range(200)}
    assert uppers == {40.0, 50.0, 60.0}  # the larger of two drawn from 30, 40, 50, 60
    assert price_ceiling(985.0, rng) == 1_000_000.0  # fewer than two ceilings left: no price limit


def test_perfect_purchase_scores_one():
    p = CAT[0]
    g = goal_for(p)
    parts = webshop_reward(p, g, g.options)
    assert parts["reward"] == 1.0 and parts["r_type"] == 1.0 and parts["r_price"]


def test_wrong_or_missing_options_and_price_lower_the_fraction():
    p = next(p for p in CAT if len(p.options) == 2 and len(p.attributes) >= 2)
    g = goal_for(p)  # 2 attributes, 2 options, price: denominator 5
    first, second = list(p.options)
    wrong = {first: p.options[first][1], second: g.options[second]}
    assert webshop_reward(p, g, wrong)["reward"] == pytest.approx(4 / 5)
    assert webshop_reward(p, g, {})["reward"] == pytest.approx(3 / 5)
    cheap = dataclasses.replace(g, price_upper=p.price - 1)
    assert webshop_reward(p, cheap, g.options)["reward"] == pytest.approx(4 / 5)


def test_same_type_product_with_other_attributes_scores_its_matched_fraction():
    target = next(p for p in CAT if len(p.attributes) >= 3)
    g = goal_for(target, attrs=target.attributes[:3], options={})
    other = next(p for p in CAT if p.kind == target.kind and p.id != target.id
                 and len(set(p.attributes) & set(g.attributes)) == 1 and p.price <= g.price_upper)
    parts = webshop_reward(other, g, {})
    assert parts["r_type"] == 1.0 and parts["attribute_matches"] == 1
    assert parts["reward"] == pytest.approx((1 + 0 + 1) / (3 + 0 + 1))


def test_wrong_type_with_no_shared_title_noun_scores_zero():
    target = CAT[0]
    g = goal_for(target)
    wrong = next(p for p in CAT if p.kind != target.kind and p.category[0] != target.category[0]
                 and not set(p.nouns) & set(target.nouns))
    assert webshop_reward(wrong, g, {})["reward"] == 0.0


def _product(nouns, query="q", category=("A", "B", "C")):
    return Product("X", "k", "t", category, query, tuple(nouns), (), {}, 1.0, "")


def test_type_reward_branches():
    g = Goal("Y", "goal query", ("G1", "G2", "G3"), tuple("abcdefghij"), (), {}, 10.0, "")
    assert type_reward(_product("abc", query="goal query"), g)["r_type"] == 1.0  # 0.3 nouns > 0.2
    assert type_reward(_product("a", query="goal query"), g)["r_type"] == 1.0  # query match, 0.1 nouns
    assert type_reward(_product("ab"), g)["r_type"] == 0.5  # 0.2 nouns, no query or category match
    assert type_reward(_product("ab", category=("G1", "G2", "x")), g)["r_type"] == 1.0  # two category levels
    tiny = Goal("Y", "gq", ("G",), tuple(f"n{i}" for i in range(20)), (), {}, 10.0, "")
    assert type_reward(_product(["n0"], query="gq"), tiny)["r_type"] == 0.1  # 0.05 nouns
    assert type_reward(_product(["z"], query="gq"), tiny)["r_type"] == 0.0


def test_search_ranks_by_matched_words_then_id():
    found = search(CAT, "coffee mug ceramic insulated")
    assert found and found[0].kind == "coffee_mug"
    assert {"ceramic", "insulated"} <= set(found[0].attributes)
    assert search(CAT, "") == [] and search(CAT, "zzzz") == []
