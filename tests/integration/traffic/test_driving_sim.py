"""Driving envs on the real highway-env simulator: PettingZoo API, our contract, exact replay, messages."""

import gymnasium
import numpy as np
import pytest
from pettingzoo.test import parallel_api_test, parallel_seed_test

from agentrl import check_env
from agentrl.environments.traffic.driving import DrivingEnv, DrivingParallelEnv, highway_tasks, scripted_policy
from agentrl.environments.traffic.scenarios import SCENARIOS
from agentrl.types import Task

SMALL = {
    "highway": {"duration": 6, "simulation_frequency": 5, "vehicles_count": 8},
    "merge": {"duration": 6, "simulation_frequency": 5},
    "intersection": {"duration": 6, "simulation_frequency": 5, "initial_vehicle_count": 5},
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_pettingzoo_parallel_api(scenario):
    env = DrivingParallelEnv(scenario, n_agents=3, config=SMALL[scenario])
    parallel_api_test(env, num_cycles=8)
    parallel_seed_test(lambda: DrivingParallelEnv(scenario, n_agents=2, config=SMALL[scenario]))


@pytest.mark.parametrize("env_id", ["traffic/Highway-v0", "traffic/Merge-v0", "traffic/Intersection-v0"])
async def test_check_env(env_id):
    report = await check_env(env_id, num_tasks=1, seeds=(0,))
    assert "same seed gives the same episode" in report.passed
    ep = report.episodes[0]
    assert set(ep.agents) == {"agent_0", "agent_1"}
    assert all(0.0 <= terms["route_completion"] <= 1.0 for terms in ep.outcome_rewards.values())


def _raw_sim(scenario: str, config: dict):
    """highway-env's own registered env for the same config (merge: the multi-agent merge class itself)."""
    spec = SCENARIOS[scenario]
    if spec.gym_id:
        return gymnasium.make(spec.gym_id, config=config).unwrapped
    return spec.env_class(config=config)


def _positions(sim) -> list[tuple[float, ...]]:
    return [(float(v.position[0]), float(v.position[1]), float(v.speed), float(v.heading))
            for v in sim.road.vehicles]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_wrapped_run_reproduces_the_simulator_exactly(scenario):
    """Same seed and actions: same rewards, terminations and vehicle states as stepping highway-env directly."""
    n = 3
    env = DrivingEnv(scenario, n_agents=n, traffic="chaotic", config=SMALL[scenario])
    wrapped = env.env  # the PettingZoo env inside the contract adapter
    raw = _raw_sim(scenario, wrapped.config)
    task = Task(id="replay", env_kwargs={"options": {"config": {"vehicles_density": 1.2}}})
    policy = scripted_policy(seed=5)
    obs = await env.reset(task, seed=11)
    raw.reset(seed=11, options=task.env_kwargs["options"])
    assert _positions(raw) == _positions(wrapped.sim)
    conversations = {a: list(m if isinstance(m, list) else [m]) for a, m in obs.items()}
    steps = 0
    while obs:
        texts = {}
        for agent, shown in obs.items():
            turn = await policy.generate(agent, [*conversations.get(agent, []), *([{"role": "user", "content": shown}]
                                                                                 if isinstance(shown, str) else shown)])
            texts[agent] = turn.text
        result = await env.step(texts)
        joint = tuple(wrapped.action_names(a).index(texts[a]) if a in texts else wrapped.action_names(a).index("IDLE")
                      for a in wrapped.possible_agents)
        _, raw_reward, raw_term, raw_trunc, raw_info = raw.step(joint)
        steps += 1
        assert _positions(raw) == _positions(wrapped.sim)
        for i, agent in enumerate(wrapped.possible_agents):
            if agent not in texts:
                continue
            if "agents_rewards" in raw_info:
                assert result.rewards[agent] == raw_info["agents_rewards"][i]
                assert result.terminated[agent] == raw_info["agents_terminated"][i]
            elif i == 0:  # highway-env's highway judges its first controlled vehicle
                assert result.rewards[agent] == raw_reward
                assert result.terminated[agent] == raw_term
            assert result.truncated[agent] == (raw_trunc and not result.terminated[agent])
            assert result.infos[agent]["position"] == [float(x) for x in raw.controlled_vehicles[i].position]
        obs = {a: [m] if isinstance(m, dict) else m for a, m in result.obs.items()}
    assert steps >= 2
    await env.close()


def test_seeded_scenes_repeat_and_differ():
    a, b = (DrivingParallelEnv("highway", n_agents=2, config=SMALL["highway"]) for _ in range(2))
    obs_a, _ = a.reset(seed=3)
    obs_b, _ = b.reset(seed=3)
    assert all(np.array_equal(obs_a[k], obs_b[k]) for k in obs_a)
    obs_c, _ = b.reset(seed=4)
    assert not all(np.array_equal(obs_a[k], obs_c[k]) for k in obs_a)


def test_background_drivers_are_heterogeneous_and_seeded():
    env = DrivingParallelEnv("highway", n_agents=2, traffic="chaotic",
                             config={**SMALL["highway"], "vehicles_count": 30})
    env.reset(seed=0)
    kinds = [getattr(v, "driver_type", None) for v in env.sim.road.vehicles if v not in env.sim.controlled_vehicles]
    assert {"aggressive", "normal", "defensive"} <= set(kinds)
    from agentrl.environments.traffic.drivers import DRIVER_TYPES

    for v in env.sim.road.vehicles:
        if v not in env.sim.controlled_vehicles:  # the style's IDM/MOBIL parameters are the vehicle's own
            assert (v.TIME_WANTED, v.POLITENESS) == (DRIVER_TYPES[v.driver_type].time_wanted,
                                                     DRIVER_TYPES[v.driver_type].politeness)
    env.reset(seed=0)
    again = [getattr(v, "driver_type", None) for v in env.sim.road.vehicles if v not in env.sim.controlled_vehicles]
    assert kinds == again
    mild = DrivingParallelEnv("highway", n_agents=2, traffic="mild", config={**SMALL["highway"], "vehicles_count": 30})
    mild.reset(seed=0)
    aggressive_share = lambda e: np.mean([getattr(v, "driver_type", "") == "aggressive" for v in e.sim.road.vehicles])
    assert aggressive_share(env) > aggressive_share(mild)


async def test_message_channel_reaches_the_other_agents():
    env = DrivingEnv("highway", n_agents=3, config=SMALL["highway"], messages=True)
    await env.reset(highway_tasks()[0], seed=0)
    result = await env.step({"agent_0": "IDLE\nSAY: I will stay in my lane", "agent_1": "FASTER",
                             "agent_2": "SLOWER"})
    assert "Message from agent_0: I will stay in my lane" in result.obs["agent_1"]
    assert "Message from agent_0" in result.obs["agent_2"]
    assert "Message from agent_0" not in result.obs["agent_0"]
    result = await env.step({a: "IDLE" for a in result.obs})
    assert all("Message from" not in text for text in result.obs.values())
    await env.close()


async def test_replies_are_parsed_by_name_or_number_and_illegal_ones_explained():
    env = DrivingEnv("intersection", n_agents=2, config=SMALL["intersection"])
    obs = await env.reset(Task(id="parse"), seed=0)
    assert "Available actions: 0 SLOWER, 1 IDLE. Reply with one action name or its number." in obs["agent_0"][-1]["content"]
    assert env._parse("agent_0", "I think braking is wise: slower") == env.env.action_names("agent_0").index("SLOWER")
    assert env._parse("agent_0", "2") == env._parse("agent_0", " 2 please") == 2
    assert env._parse("agent_0", "0 no wait, FASTER") == 2  # a name in the reply wins over a leading number
    from agentrl.env import InvalidAction

    with pytest.raises(InvalidAction, match="LANE_LEFT is not an action here; choose one of 0 SLOWER, 1 IDLE, 2 FASTER"):
        env._parse("agent_0", "lane left")
    with pytest.raises(InvalidAction, match="there is no action 7; choose one of 0 SLOWER"):
        env._parse("agent_0", "7")
    result = await env.step({"agent_0": "go go go", "agent_1": "IDLE"})
    assert ("Invalid action: name one action or give its number: 0 SLOWER, 1 IDLE, 2 FASTER."
            in result.obs["agent_0"][0]["content"])
    await env.close()


async def test_invalid_replies_can_drive_idle_for_that_agent_alone():
    """invalid_action="idle": nonsense from one agent never stalls the others; the turn is flagged."""
    idle = DrivingEnv("merge", n_agents=2, config=SMALL["merge"], invalid_action="idle")
    named = DrivingEnv("merge", n_agents=2, config=SMALL["merge"])
    task = Task(id="idle")
    await idle.reset(task, seed=3)
    await named.reset(task, seed=3)
    a = await idle.step({"agent_0": "#?", "agent_1": "3"})
    b = await named.step({"agent_0": "IDLE", "agent_1": "FASTER"})
    assert a.infos["agent_0"]["invalid_reply"] is True and a.infos["agent_1"]["invalid_reply"] is False
    assert {k: a.infos[k]["position"] for k in a.infos} == {k: b.infos[k]["position"] for k in b.infos}
    assert a.rewards == b.rewards
    await idle.close()
    await named.close()
    with pytest.raises(ValueError, match="invalid_action='skip'; choose one of"):
        DrivingEnv("merge", invalid_action="skip")


async def test_merge_roles_want_different_actions():
    """traffic/MergeRoles-v0: the highway car gains by FASTER, the ramp car must change lanes left (or crash into
    the end of the ramp, which zeroes its CaRL reward); brief observations end with the numbered actions."""
    from agentrl import registry
    from agentrl.policy_contract import ScriptedPolicy
    from agentrl.rollout import run_episode

    env_id = "traffic/MergeRoles-v0"
    task, rubric = registry.tasks(env_id)[0], registry.rubric(env_id)
    assert task.prompt == ()

    async def play(highway: str, ramp: str):
        policy = ScriptedPolicy(lambda agent, messages, rng: highway if agent == "agent_0" else ramp)
        return await run_episode(registry.make(env_id), policy, task, 0, rubric, max_turns=10)

    idle, roles = await play("?", "?"), await play("3", "0")
    first = idle.turns_of("agent_1")[0].messages[0]["content"]
    assert first == "road j->k lane 0 speed 20 route 0% gap clear\nAvailable actions: 1 IDLE, 3 FASTER."
    # the ramp car is offered LANE_LEFT only on the merge section, where changing lanes is possible
    assert any("0 LANE_LEFT" in t.messages[0]["content"] for t in idle.turns_of("agent_1"))
    assert idle.outcome_rewards["agent_0"]["invalid_replies"] == 9  # every nonsense reply drove IDLE
    assert idle.outcome_rewards["agent_1"]["collisions"] == 1.0 and idle.reward["agent_1"] == 0.0
    assert roles.outcome_rewards["agent_1"]["collisions"] == 0.0 and roles.reward["agent_1"] > 0.7
    # nonsense replies drove IDLE but earn (almost) nothing: the share of action replies scales CaRL's reward
    assert idle.reward["agent_0"] < 0.1 and roles.reward["agent_0"] > 0.8
    swapped = await play("0", "3")  # each role's action is wrong for the other
    assert swapped.reward["agent_0"] < roles.reward["agent_0"] and swapped.reward["agent_1"] == 0.0
