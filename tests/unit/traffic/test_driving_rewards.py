"""Driving and signal reward terms, the CaRL rubric, text observations and the rule-based controllers."""

import random

import pytest

from agentrl.types import Episode, Status, Task, Turn
from agentrl.verifiers.driving import carl_rubric, outcome_metrics, shaped_driving_rubric, signal_rubric, speed_reward


def _turn(agent, index, **info):
    return Turn(agent=agent, index=index, messages=({"role": "assistant", "content": "IDLE"},), info=info)


def _episode(*turns):
    return Episode(task=Task(id="t"), env_id="traffic/Highway-v0", seed=0, turns=tuple(turns), status=Status.OK)


def _drive(agent, progress, crashed=False, on_road=True, arrived=False, speed=25.0):
    return _turn(agent, 0, route_progress=progress, crashed=crashed, on_road=on_road, arrived=arrived, speed=speed)


async def test_carl_reward_is_route_completion_times_infraction_factors():
    ep = _episode(
        _drive("clean", 0.2), _drive("clean", 0.6),
        _drive("offroad", 0.3), _drive("offroad", 0.5, on_road=False), _drive("offroad", 0.8, on_road=False),
        _drive("crash", 0.4), _drive("crash", 0.45, crashed=True),
    )
    scored = await carl_rubric(collision_factor=0.0, offroad_factor=0.5).score(ep)
    assert scored.reward["clean"] == pytest.approx(0.6)
    assert scored.reward["offroad"] == pytest.approx(0.8 * 0.5 ** 2)
    assert scored.reward["crash"] == 0.0
    assert scored.outcome_rewards["crash"]["survival_steps"] == 1.0
    metrics = outcome_metrics([scored])
    assert metrics["crash_rate"] == pytest.approx(1 / 3)
    assert metrics["all_arrived_rate"] == 0.0
    assert metrics["mean_speed"] == pytest.approx(25.0)


async def test_shaped_rubric_sums_penalties_speed_and_arrival():
    ep = _episode(_drive("a", 0.5, speed=30.0), _drive("a", 1.0, speed=20.0, arrived=True))
    scored = await shaped_driving_rubric(speed_weight=0.2, arrival_weight=1.0).score(ep)
    assert scored.reward["a"] == pytest.approx(0.2 * 1.0 + 0.2 * 0.0 + 1.0)
    assert outcome_metrics([scored])["all_arrived_rate"] == 1.0


def test_speed_reward_maps_linearly_and_rejects_bad_ranges():
    fn = speed_reward(20.0, 30.0)
    assert [fn({"speed": s}) for s in (10.0, 25.0, 40.0)] == [0.0, 0.5, 1.0]
    assert fn({}) is None
    with pytest.raises(ValueError, match="high > low"):
        speed_reward(30.0, 20.0)


async def test_signal_rubric_scores_queues_and_waiting():
    ep = _episode(_turn("tl", 0, queue=4, waiting_time_change=-3.0, system_mean_waiting_time=2.0),
                  _turn("tl", 1, queue=2, waiting_time_change=1.0, system_mean_waiting_time=4.0))
    scored = await signal_rubric(queue_weight=1.0, waiting_weight=0.5).score(ep)
    assert scored.reward["tl"] == pytest.approx(-6.0 + 0.5 * (-2.0))
    assert scored.outcome_rewards["tl"] == {"mean_queue": 3.0, "mean_waiting_time": 3.0}


def _driving_info(**over):
    info = {"scenario": "highway", "time": 3.0, "road": "0->1", "lane": 1, "lanes": 3, "speed": 22.0,
            "target_speed": 25.0, "route_progress": 0.25, "available_actions": ["LANE_LEFT", "IDLE", "FASTER"],
            "nearby": [{"id": "agent_1", "lane": 1, "road": "0->1", "ahead": True, "gap": 8.0, "lateral": 0.0,
                        "distance": 13.0, "relative_speed": -4.0, "crashed": False},
                       {"id": "car", "lane": 0, "road": "0->1", "ahead": False, "gap": 5.0, "lateral": -4.0,
                        "distance": 7.0, "relative_speed": 1.0, "crashed": False}]}
    return {**info, **over}


def test_driving_text_names_lane_speed_gaps_and_progress():
    from agentrl.environments.traffic.driving import describe

    text = describe("agent_0", _driving_info(), messages={"agent_1": "merging left"})
    assert "Your lane: 1 of 3" in text and "Speed: 22.0 m/s" in text and "Route progress: 25%" in text
    assert "Gap ahead in your lane: 8.0 m, closing at 4.0 m/s." in text
    assert "- agent_1: your lane, 8.0 m ahead, 4.0 m/s slower." in text
    assert "- a car: lane 0 (left of you), 5.0 m behind, 1.0 m/s faster." in text
    assert "Message from agent_1: merging left" in text
    assert text.endswith("Available actions: LANE_LEFT, IDLE, FASTER. Reply with one action name.")


def test_cautious_driver_brakes_when_closing_in_and_speeds_up_when_clear():
    from agentrl.environments.traffic.driving import cautious_driver, describe

    class NoNoise(random.Random):
        def random(self):
            return 1.0

    close = describe("agent_0", {**_driving_info(), "available_actions": ["IDLE", "FASTER", "SLOWER"]})
    clear = describe("agent_0", _driving_info(nearby=[]))
    assert cautious_driver("agent_0", [{"role": "user", "content": close}], NoNoise()) == "SLOWER"
    assert cautious_driver("agent_0", [{"role": "user", "content": clear}], NoNoise()) == "FASTER"


def test_signal_controllers_read_the_text():
    from agentrl.environments.traffic.signals import describe, fixed_time, longest_queue_first

    info = {"time": 10.0, "phase": 0, "phases": [["n_0"], ["w_0", "w_1"]],
            "lanes": {"n_0": {"queue": 1, "vehicles": 2, "waiting": 3.0}, "w_0": {"queue": 2, "vehicles": 2,
                                                                                  "waiting": 9.0},
                      "w_1": {"queue": 3, "vehicles": 3, "waiting": 12.0}}, "queue": 6}
    text = describe("tl", info)
    assert "- PHASE 1: w_0, w_1 (queued there: 5)" in text
    assert "- w_1: queue 3, vehicles 3, waiting 12" in text
    messages = [{"role": "user", "content": text}]
    assert longest_queue_first("tl", messages, random.Random(0)) == "PHASE 1"
    assert fixed_time("tl", messages, random.Random(0)) == "PHASE 1"
    assert fixed_time("tl", [{"role": "user", "content": text.replace("phase: 0", "phase: 1")}],
                      random.Random(0)) == "PHASE 0"


async def test_an_agent_whose_every_reply_was_refused_completes_nothing():
    """It never moved its vehicle: route completion 0 (not a verifier error), so a learner can rank it."""
    ep = _episode(_turn("mute", 0, invalid_action="name one action"), _turn("mute", 1, invalid_action="again"),
                  _drive("driver", 0.3))
    scored = await carl_rubric().score(ep)
    assert scored.status == Status.OK, scored.error
    assert scored.reward["mute"] == 0.0 and scored.reward["driver"] == pytest.approx(0.3)


async def test_invalid_replies_are_counted_and_scale_the_reward_down():
    ep = _episode(_turn("a", 0, route_progress=0.3, invalid_reply=True), _turn("a", 1, route_progress=0.5, invalid_reply=False),
                  _turn("a", 2, route_progress=0.7, invalid_reply=True), _drive("b", 0.4))
    scored = await carl_rubric().score(ep)
    assert scored.outcome_rewards["a"]["invalid_replies"] == 2.0
    assert scored.outcome_rewards["b"]["invalid_replies"] is None  # the env did not flag replies
    # CaRL's 0.7 times the share of replies that were actions (1 of 3): nonsense earns no route progress
    assert scored.reward["a"] == pytest.approx(0.7 / 3) and scored.reward["b"] == pytest.approx(0.4)
