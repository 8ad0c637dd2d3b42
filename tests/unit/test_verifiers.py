import pytest

from agentrl.errors import RewardError
from agentrl.types import Episode, Status, Task, Turn
from agentrl.verifiers import (
    AgentScores,
    Checklist,
    Gated,
    Item,
    Lexicographic,
    MultiplicativePenalty,
    Rubric,
    Score,
    Sum,
    clip,
    delta,
    exact_match,
    numeric_match,
    reward,
)


def turn(i, text, env=0.0, agent="a", **info):
    return Turn(agent=agent, index=i, messages=[{"role": "assistant", "content": text}], rewards={"env": env},
                info=info)


def episode(*turns):
    return Episode(task=Task(id="t", reference={"answer": "42"}), env_id="x/Y-v0", seed=0, turns=turns)


def scores(turns, outcome, weights):
    return AgentScores(tuple(turns), outcome, weights)


async def test_sum_weights_turn_and_outcome_terms_and_injects_by_name():
    def long_reply(text):
        return float(len(text) > 3)

    rubric = Rubric(turn={"long": (long_reply, 0.5)}, outcome=[exact_match], env_weight=2.0)
    ep = await rubric.score(episode(turn(0, "hello", env=1.0), turn(1, "42")))
    assert [t.rewards for t in ep.turns] == [{"env": 1.0, "long": 1.0}, {"env": 0.0, "long": 0.0}]
    assert ep.outcome_rewards == {"a": {"exact_match": 1.0}}
    # 2*1 + 0.5*1 (turn 0) + 0 (turn 1) + 1*1 (outcome)
    assert ep.reward == {"a": 3.5}


async def test_weight_zero_is_logged_not_optimised_and_none_is_skipped():
    rubric = Rubric(turn=[reward(lambda index: float(index), name="idx", weight=0.0)],
                    outcome=[reward(lambda: None, name="na")])
    ep = await rubric.score(episode(turn(0, "x", env=1.0), turn(1, "y")))
    assert ep.turns[1].rewards["idx"] == 1.0 and ep.outcome_rewards["a"]["na"] is None
    assert ep.reward == {"a": 1.0}


async def test_async_rewards_and_evidence():
    async def judged(text):
        return Score(0.25, evidence=f"saw {text}")

    ep = await Rubric(outcome=[judged]).score(episode(turn(0, "x")))
    assert ep.outcome_rewards["a"]["judged"] == 0.25
    assert ep.info["reward_evidence"] == {"a/outcome/judged": "saw x"}


async def test_raising_reward_is_recorded_never_zero():
    def broken(text):
        raise ValueError("judge unreachable")

    ep = await Rubric(outcome=[broken]).score(episode(turn(0, "x", env=1.0)))
    assert ep.status is Status.VERIFIER_ERROR
    assert "judge unreachable" in ep.error and ep.reward == {}
    assert ep.outcome_rewards["a"]["broken"] is None


@pytest.mark.parametrize("value", ["1.0", True, float("nan"), [1]])
async def test_non_number_reward_is_a_clear_verifier_error(value):
    ep = await Rubric(outcome=[reward(lambda: value, name="bad")]).score(episode(turn(0, "x")))
    assert ep.status is Status.VERIFIER_ERROR
    assert "reward 'bad' returned" in ep.error and "finite float" in ep.error


def test_unknown_argument_name_fails_at_construction():
    with pytest.raises(RewardError, match="asks for \\['answer'\\]"):
        Rubric(outcome=[lambda answer: 1.0])
    with pytest.raises(RewardError, match="used twice"):
        Rubric(outcome=[exact_match, exact_match])


def test_gated_accumulation_counts_turns_only_above_threshold():
    w = {"env": 1.0, "progress": 1.0, "resolved": 1.0}
    turns = [{"progress": 0.2}, {"progress": 0.3, "env": 0.1}]
    gated = Gated(threshold=1.0, on="resolved")
    assert gated(scores(turns, {"resolved": 1.0}, w)) == pytest.approx(1.0 + 0.6)
    assert gated(scores(turns, {"resolved": 0.0}, w)) == 0.0
    assert Sum()(scores(turns, {"resolved": 0.0}, w)) == pytest.approx(0.6)


def test_gated_shares_the_estimators_gate_and_says_what_it_does_per_turn():
    from agentrl.algorithms import Clip, Delta, Gate, TurnShaping
    from agentrl.errors import ConfigError

    w = {"env": 1.0, "progress": 1.0, "resolved": 1.0}
    turns = [{"progress": 0.2}, {"progress": 0.3, "env": 0.1}]
    gated = Gated(threshold=1.0, on="resolved", turn_transform=delta())
    assert gated.turn_shaping() == TurnShaping(gate=Gate(1.0, "resolved"), transform=Delta())
    assert Sum(turn_transform=clip(0.5)).turn_shaping() == TurnShaping(transform=Clip(0.5))
    assert gated(scores(turns, {"resolved": 1.0}, w)) == pytest.approx(1.0 + 0.2)  # delta telescopes to r_1
    # a not-applicable gate term keeps the gate closed (the goal was not shown to be met) ...
    assert gated(scores(turns, {"resolved": None, "bonus": 0.5}, {**w, "bonus": 1.0})) == pytest.approx(0.5)
    # ... and a term the rubric does not have is a misconfiguration
    with pytest.raises(RewardError, match="has only"):
        gated(scores(turns, {"bonus": 1.0}, w))
    # the gate on the weighted outcome total
    assert Gated(threshold=0.5)(scores(turns, {"resolved": 0.5}, w)) == pytest.approx(1.1)
    assert Gated(threshold=0.5)(scores(turns, {"resolved": 0.4}, w)) == pytest.approx(0.4)
    with pytest.raises(ConfigError, match="finite"):
        Gated(threshold=float("nan"))


def test_lexicographic_priorities():
    lex = Lexicographic([("format", 1.0), ("feasible", 1.0), ("accuracy", 0.9)])
    w = {}
    assert lex(scores([], {"format": 0.5, "feasible": 1.0, "accuracy": 1.0}, w)) == 0.5
    assert lex(scores([], {"format": 1.0, "feasible": 0.0, "accuracy": 1.0}, w)) == 1.0
    assert lex(scores([], {"format": 1.0, "feasible": 1.0, "accuracy": 0.6}, w)) == pytest.approx(2.6)
    assert lex(scores([], {"format": 1.0, "feasible": 1.0, "accuracy": 0.95}, w)) == 3.0
    with pytest.raises(RewardError, match="in \\[0, 1\\]"):
        lex(scores([], {"format": 2.0, "feasible": 1.0, "accuracy": 1.0}, w))


def test_multiplicative_infraction_penalties():
    pen = MultiplicativePenalty("route", {"collision": 0.5, "red_light": 0.8})
    turns = [{"collision": 1.0}, {"red_light": 1.0}, {"red_light": 1.0}]
    # 0.9 * 0.5^1 * 0.8^2
    assert pen(scores(turns, {"route": 0.9}, {})) == pytest.approx(0.9 * 0.5 * 0.64)
    with pytest.raises(RewardError, match="has only"):
        pen(scores(turns, {}, {}))


def test_clip_and_delta_bound_accumulated_turn_rewards():
    w = {"prm": 1.0}
    turns = [{"prm": 0.9}, {"prm": 0.7}, {"prm": 0.4}]
    assert clip(0.5)([0.9, 0.7, 0.4]) == pytest.approx([0.0, 0.0, -0.1])
    assert delta()([0.9, 0.7, 0.4]) == pytest.approx([0.2, 0.3, 0.4])
    assert Sum(turn_transform=delta())(scores(turns, {}, w)) == pytest.approx(0.9)  # telescopes to r_1
    # Repeating rewarded steps no longer pays: 10 steps of 0.9 sum to 0.9 under delta, <= 0 under clip.
    many = [{"prm": 0.9}] * 10
    assert Sum(turn_transform=delta())(scores(many, {}, w)) == pytest.approx(0.9)
    assert Sum(turn_transform=clip(0.9))(scores(many, {}, w)) == pytest.approx(0.0)
    assert delta()([]) == []


async def test_checklist_per_turn_and_overall():
    items = [Item("greets", lambda text: "hello" in text, turn=0),
             Item("asks", lambda text: ("?" in text, text), turn=1),
             Item("thanks", lambda text: "thanks" in text)]
    check = Checklist(items)
    rubric = Rubric(turn={"check": check.turn_reward}, outcome={"check_all": check.outcome_reward})
    ep = await rubric.score(episode(turn(0, "hello"), turn(1, "ok."), turn(2, "thanks")))
    assert [t.rewards["check"] for t in ep.turns] == [1.0, 0.0, None]
    assert ep.outcome_rewards["a"]["check_all"] == pytest.approx(2 / 3)
    with pytest.raises(RewardError):
        Checklist([])


def test_answer_matchers():
    assert exact_match("<answer> 42 </answer>", {"answer": "42"}) == 1.0
    assert numeric_match("I think 41, no 42.0", {"answer": 42}) == 1.0
    assert numeric_match("none", {"answer": 42}) == 0.0
