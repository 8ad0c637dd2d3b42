"""One reward path: `bind_rubric` makes every estimator honour the rubric's combiner, or refuses the pairing.

Issue 15: a `Gated` rubric with a turn-level estimator used to give no gating and no error.
"""

from types import SimpleNamespace

import pytest
from algo_records import episode, turn

from agentrl.algorithms import (
    OUTCOME_LEVEL,
    TURN_LEVEL,
    AdvantageConfig,
    Clip,
    Delta,
    Gate,
    TurnShaping,
    bind_rubric,
    compute_advantages,
)
from agentrl.algorithms.advantages import step_rewards, units_of
from agentrl.errors import ConfigError
from agentrl.types import Episode, Task, Turn
from agentrl.verifiers import Gated, Lexicographic, MultiplicativePenalty, Rubric, Sum, clip, delta


def solved(info):
    return info["solved"]


def rubric(combine=None):
    return Rubric(outcome={"solved": solved}, combine=combine)


def raw_episode(eid, env_rewards, is_solved, states=None):
    """An unscored episode: the env's step rewards (turn term "env") and whether the last turn solved it."""
    states = states or [f"s{k}" for k in range(len(env_rewards))]
    turns = tuple(Turn(agent="a", index=k, messages=({"role": "assistant", "content": "x"},),
                       completion_ids=(1,), rewards={"env": r},
                       info={"state_key": s, "solved": float(is_solved)})
                  for k, (r, s) in enumerate(zip(env_rewards, states)))
    return Episode(task=Task(id="t"), env_id="toy/Test-v0", seed=0, turns=turns, group_id="g", id=eid)


# "hack" farms turn rewards without solving the task; "ok" solves it. A third sample makes gdpo's
# batch normalisation and gigpo's step groups non-trivial.
RAW = [raw_episode("ok", [0.0, 1.0], True), raw_episode("hack", [1.0, 1.0], False),
       raw_episode("meh", [0.0, 0.0], False, states=["s0", "s9"])]


async def scored(combine, raw=RAW):
    r = rubric(combine)
    return r, [await r.score(ep) for ep in raw]


def flat(adv):
    """{(episode id, turn): advantage}, a shape pytest.approx compares."""
    return {(eid, k): a for eid, per_turn in adv.items() for k, a in enumerate(per_turn)}


def advantages(episodes, config):
    values = {ep.id: [0.0] * len(ep.turns) for ep in episodes} if config.estimator == "gae" else None
    return compute_advantages(episodes, config, values=values)


@pytest.mark.parametrize("estimator", TURN_LEVEL)
async def test_gated_rubric_gates_every_turn_level_estimator(estimator):
    """Gated + a turn-level estimator gates: a closed agent's turn terms count as if they were 0."""
    gated_rubric, gated = await scored(Gated(threshold=1.0, on="solved"))
    config = bind_rubric(AdvantageConfig(estimator=estimator, scale_by_std=False), gated_rubric)
    assert (config.gate_threshold, config.gate_on) == (1.0, "solved")
    assert config.weights == {"env": 1.0, "solved": 1.0}
    # the same batch under a plain sum, with the turn rewards of the two unsolved episodes zeroed by hand
    zeroed = [raw_episode("ok", [0.0, 1.0], True), raw_episode("hack", [0.0, 0.0], False),
              raw_episode("meh", [0.0, 0.0], False, states=["s0", "s9"])]
    sum_rubric, by_hand = await scored(Sum(), zeroed)
    expected = advantages(by_hand, bind_rubric(AdvantageConfig(estimator=estimator, scale_by_std=False), sum_rubric))
    got = advantages(gated, config)
    assert flat(got) == pytest.approx(flat(expected))
    _, ungated = await scored(Sum())
    plain = advantages(ungated, AdvantageConfig(estimator=estimator, scale_by_std=False, weights=config.weights))
    assert got["hack"][0] < plain["hack"][0], "the reward hacker must look worse once its gate is closed"


async def test_gated_turn_returns_hand_computed():
    r, eps = await scored(Gated(threshold=1.0, on="solved"))
    adv = compute_advantages(eps, bind_rubric(AdvantageConfig(estimator="turn_returns", scale_by_std=False), r))
    # step rewards: ok [0, 1 + 1], hack [0, 0] (gate closed), meh [0, 0]; returns ok [2, 2], others [0, 0]
    assert flat(adv) == pytest.approx(flat({"ok": [4 / 3, 4 / 3], "hack": [-2 / 3, -2 / 3], "meh": [-2 / 3, -2 / 3]}))


@pytest.mark.parametrize("combine", [Sum(), Sum(turn_transform=clip(0.5)), Sum(turn_transform=delta()),
                                     Gated(threshold=1.0, on="solved"), Gated(threshold=0.5),
                                     Gated(threshold=1.0, on="solved", turn_transform=delta())])
async def test_combined_reward_equals_the_sum_of_the_estimators_step_rewards(combine):
    """Both paths do the same arithmetic: the rubric's scalar is what the turn-level estimators distribute."""
    r, eps = await scored(combine)
    config = bind_rubric(AdvantageConfig(estimator="turn_returns"), r)
    shaping = config.turn_shaping()
    for unit in units_of(eps, config):
        assert sum(step_rewards(unit, config, shaping)) == pytest.approx(unit.episode.reward[unit.agent])


@pytest.mark.parametrize("estimator", ["turn_returns", "gae", "gigpo"])
async def test_turn_transforms_reach_the_turn_level_estimators(estimator):
    raw = [raw_episode("x", [0.9, 0.7, 0.4], False), raw_episode("y", [0.5, 0.5, 0.5], False)]
    r, eps = await scored(Sum(turn_transform=delta()), raw)
    config = bind_rubric(AdvantageConfig(estimator=estimator, scale_by_std=False), r)
    assert config.turn_transform == Delta()
    steps = {u.episode.id: step_rewards(u, config, config.turn_shaping()) for u in units_of(eps, config)}
    assert steps["x"] == pytest.approx([0.2, 0.3, 0.4]) and steps["y"] == pytest.approx([0.0, 0.0, 0.5])
    adv = advantages(eps, config)
    if estimator == "turn_returns":  # returns x [0.9, 0.7, 0.4], y [0.5, 0.5, 0.5], centred per position
        assert flat(adv) == pytest.approx(flat({"x": [0.2, 0.1, -0.05], "y": [-0.2, -0.1, 0.05]}))
    # the same config written in a file gives the same advantages
    from_file = AdvantageConfig(estimator=estimator, scale_by_std=False, weights=config.weights, turn_transform="delta")
    assert flat(advantages(eps, from_file)) == pytest.approx(flat(adv))


def test_clip_transform_from_a_config_string():
    config = AdvantageConfig(estimator="turn_returns", turn_transform="clip(0.5)")
    assert config.turn_shaping().transform == Clip(0.5)
    # the file and the combiner agree, so binding keeps one transform
    assert bind_rubric(config, rubric(Sum(turn_transform=clip(0.5)))).turn_transform == Clip(0.5)
    with pytest.raises(ConfigError, match=r"turn transform Clip\(eta=0.2\).*Clip\(eta=0.5\)"):
        bind_rubric(AdvantageConfig(estimator="gae", turn_transform="clip(0.2)"),
                    rubric(Sum(turn_transform=clip(0.5))))


async def test_gdpo_honours_the_gate_but_refuses_a_transform():
    r = rubric(Sum(turn_transform=delta()))
    with pytest.raises(ConfigError, match=r"Sum\(turn_transform=Delta\(\)\).*'gdpo'.*turn_returns"):
        bind_rubric(AdvantageConfig(estimator="gdpo"), r)
    with pytest.raises(ConfigError, match="gdpo.*turn_returns"):
        AdvantageConfig(estimator="gdpo", turn_transform="delta")
    assert bind_rubric(AdvantageConfig(estimator="gdpo"), rubric(Gated(1.0, "solved"))).gate_on == "solved"


def plain_max(scores):
    return max(scores.turn_totals(), default=0.0)


OUTCOME_ONLY = [Lexicographic([("solved", 1.0)]), MultiplicativePenalty("solved", {"env": 0.5}), plain_max]


@pytest.mark.parametrize("estimator", TURN_LEVEL)
@pytest.mark.parametrize("combine", OUTCOME_ONLY, ids=["lexicographic", "penalty", "function"])
def test_outcome_only_combiners_are_refused_with_turn_level_estimators(combine, estimator):
    with pytest.raises(ConfigError) as err:
        bind_rubric(AdvantageConfig(estimator=estimator), rubric(combine))
    message = str(err.value)
    name = "function plain_max" if combine is plain_max else type(combine).__name__
    assert name in message and repr(estimator) in message
    assert all(e in message for e in OUTCOME_LEVEL), "the message lists the estimators that honour it"
    assert "Sum, Gated" in message, "and the combiners that work with this estimator"


@pytest.mark.parametrize("estimator", OUTCOME_LEVEL)
@pytest.mark.parametrize("combine", [*OUTCOME_ONLY, Gated(1.0, "solved"), Sum(turn_transform=clip(0.2))])
def test_every_combiner_reaches_the_outcome_level_estimators(combine, estimator):
    extra = {"compare": "agentrl.environments.echo:compare_rewards"} if estimator == "tournament" else {}
    config = bind_rubric(AdvantageConfig(estimator=estimator, **extra), rubric(combine))
    assert config.weights == {"env": 1.0, "solved": 1.0}
    assert config.gate_threshold is None and config.turn_transform is None  # they read episode.reward


def test_a_third_party_combiner_opts_in_through_turn_shaping():
    """Core only: a combiner from anywhere, on a duck-typed rubric, with no import of agentrl.verifiers."""

    class HalfGate:
        def turn_shaping(self):
            return TurnShaping(gate=Gate(0.5))

        def __call__(self, scores):  # not used by the estimators; the rubric would call it
            raise AssertionError

    duck = SimpleNamespace(weights={"env": 1.0, "correct": 1.0}, combine=HalfGate())
    config = bind_rubric(AdvantageConfig(estimator="turn_returns", scale_by_std=False), duck)
    assert (config.gate_threshold, config.gate_on) == (0.5, None)
    eps = [episode("g", 0.6, turns=[turn(0, rewards={"env": 1.0})], outcome={"a": {"correct": 0.6}}, eid="open"),
           episode("g", 0.4, turns=[turn(0, rewards={"env": 1.0})], outcome={"a": {"correct": 0.4}}, eid="shut")]
    # returns: open 1 + 0.6, shut 0.4 (its turn reward is gated out)
    assert flat(compute_advantages(eps, config)) == pytest.approx({("open", 0): 0.6, ("shut", 0): -0.6})

    class Broken:
        def turn_shaping(self):
            return {"gate": 0.5}

    with pytest.raises(ConfigError, match="must return"):
        bind_rubric(AdvantageConfig(estimator="gigpo"), SimpleNamespace(weights={}, combine=Broken()))


def test_g_ra_from_a_config_file_with_no_code():
    config = bind_rubric(AdvantageConfig(estimator="turn_returns", gate_threshold=1.0, gate_on="solved"), rubric())
    assert config.turn_shaping().gate == Gate(1.0, "solved")  # a plain Sum rubric: the file's gate applies
    same = bind_rubric(AdvantageConfig(estimator="gigpo", gate_threshold=1.0, gate_on="solved"),
                       rubric(Gated(1.0, "solved")))
    assert same.gate_threshold == 1.0
    with pytest.raises(ConfigError, match=r"Gate\(threshold=0.5.*Gated\(threshold=1.0.*drop the gate"):
        bind_rubric(AdvantageConfig(estimator="gigpo", gate_threshold=0.5), rubric(Gated(1.0, "solved")))
    with pytest.raises(ConfigError, match=r"'typo'.*\['env', 'solved'\]"):
        bind_rubric(AdvantageConfig(estimator="gae", gate_threshold=1.0, gate_on="typo"), rubric())


def test_gra_and_gate_fields_say_what_to_write_instead():
    with pytest.raises(ConfigError, match="estimator 'gra' is gone.*estimator: turn_returns.*gate_threshold"):
        AdvantageConfig(estimator="gra", gate_threshold=1.0)
    with pytest.raises(ConfigError, match=r"gate_threshold .*'grpo'.*combine=Gated"):
        AdvantageConfig(estimator="grpo", gate_threshold=1.0)
    with pytest.raises(ConfigError, match="gate_on='solved' needs gate_threshold"):
        AdvantageConfig(estimator="turn_returns", gate_on="solved")
    with pytest.raises(ConfigError, match="not 'clip\\(<eta>\\)', 'delta'"):
        AdvantageConfig(estimator="turn_returns", turn_transform="square")
    with pytest.raises(ConfigError, match="clip needs a number"):
        AdvantageConfig(estimator="turn_returns", turn_transform="clip(x)")


def test_turn_transform_from_a_module_path():
    config = AdvantageConfig(estimator="turn_returns", turn_transform="algo_records:halve", scale_by_std=False)
    eps = [episode("g", 0.0, turns=[turn(0, rewards={"env": 2.0})], eid="x"),
           episode("g", 0.0, turns=[turn(0, rewards={"env": 0.0})], eid="y")]
    assert compute_advantages(eps, config) == {"x": [0.5], "y": [-0.5]}  # returns 1 and 0


def test_weights_come_from_the_rubric_and_extra_terms_are_kept():
    config = bind_rubric(AdvantageConfig(estimator="grpo", weights={"overlong": 0.5}), rubric())
    assert config.weights == {"env": 1.0, "solved": 1.0, "overlong": 0.5}
    with pytest.raises(ConfigError, match="'env' 2.0 but the rubric weighs it 1.0.*env.reward_weights"):
        bind_rubric(AdvantageConfig(estimator="grpo", weights={"env": 2.0}), rubric())
    with pytest.raises(ConfigError, match="needs a rubric with .weights"):
        bind_rubric(AdvantageConfig(), object())


def test_compare_from_a_module_path_is_resolved_at_first_use():
    from agentrl.environments.echo import compare_rewards

    config = AdvantageConfig(estimator="tournament", compare="agentrl.environments.echo:compare_rewards")
    assert config.judge() is compare_rewards
    eps = [episode("g", 1.0, eid="win"), episode("g", 0.0, eid="lose")]
    adv = compute_advantages(eps, config)
    assert adv["win"][0] > 0 > adv["lose"][0]
    late = AdvantageConfig(estimator="tournament", compare="agentrl.no_such_module:judge")  # not imported yet
    with pytest.raises(ConfigError, match="cannot import module 'agentrl.no_such_module'"):
        compute_advantages(eps, late)
    with pytest.raises(ConfigError, match="has no attribute 'nope'"):
        AdvantageConfig(estimator="tournament", compare="agentrl.environments.echo:nope").judge()
    with pytest.raises(ConfigError, match="not a 'module:function' path"):
        AdvantageConfig(estimator="tournament", compare="compare_rewards")
