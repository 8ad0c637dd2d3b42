"""Issue 20's config bugs: per-episode task config, `make(config=...)` merging, sumo-rl's fixed-time mode."""

import numpy as np

from agentrl import registry
from agentrl.environments.traffic.driving import DrivingParallelEnv, intersection_tasks
from agentrl.environments.traffic.signals import SignalParallelEnv
from agentrl.types import Task

SHORT = {"duration": 3, "simulation_frequency": 5}


def _episode(env: DrivingParallelEnv, task: Task, seed: int) -> list:
    """Every vehicle's state after reset and after each all-IDLE step, and the effective config."""
    env.reset(seed=seed, options=task.env_kwargs.get("options"))
    states = [[tuple(v.position) + (v.speed, v.heading) for v in env.sim.road.vehicles]]
    while env.agents:
        env.step({a: env.action_names(a).index("IDLE") for a in env.agents})
        states.append([tuple(v.position) + (v.speed, v.heading) for v in env.sim.road.vehicles])
    config = {k: env.sim.config[k] for k in ("spawn_probability", "other_vehicles_type", "duration")}
    return [config, states]


def test_task_config_applies_to_its_episode_only_in_any_order():
    """The registered tasks set traffic and spawn probability; a task without config must get the env's own
    settings whatever ran before it on the same instance, so two orders give identical episodes."""
    tasks = [Task(id="defaults"), *intersection_tasks("train")[::3]]
    env = DrivingParallelEnv("intersection", n_agents=2, config=SHORT)
    forward = {t.id: _episode(env, t, seed=4) for t in tasks}
    backward = {t.id: _episode(env, t, seed=4) for t in reversed(tasks)}
    assert forward == backward
    fresh = DrivingParallelEnv("intersection", n_agents=2, config=SHORT)
    assert _episode(fresh, tasks[0], seed=4) == backward["defaults"]
    assert forward["defaults"][0]["spawn_probability"] == 0.6  # the scenario's, not the last task's


def test_make_config_merges_into_the_registered_config():
    env = registry.make("traffic/Intersection-v0", config={"duration": 7})
    config = env.env.env.config  # ContractGuard -> DrivingEnv -> DrivingParallelEnv
    assert config["duration"] == 7
    assert config["simulation_frequency"] == 5  # the registered 5 Hz survives
    roles = registry.make("traffic/MergeRoles-v0", config={"duration": 4}).env.env.config
    assert roles["controlled_slots"] and roles["duration"] == 4


def test_sumo_rl_fixed_time_mode_runs():
    """sumo-rl's fixed_ts=True follows the net file's programme (no `green_phases`); the env must still run
    and describe the lights."""
    env = SignalParallelEnv("single-intersection", num_seconds=30, fixed_ts=True)
    _, infos = env.reset(seed=1)
    (agent,) = infos
    assert infos[agent]["phases"] and all(infos[agent]["phases"])
    steps = 0
    while env.agents:
        _, rewards, _, truncs, _ = env.step({})
        steps += 1
        assert np.isfinite(rewards[agent])
    assert steps == 6 and truncs[agent]
    env.close()
    made = registry.make("traffic/SumoSingle-v0", fixed_ts=True)
    assert made.env.env.core.fixed_ts
    made.env.env.close()


def test_reference_kwargs_through_make():
    """The reference modes without an id of their own are kwargs of the registered envs."""
    highway = registry.make("traffic/HighwayFastRef-v0", reference="highway-v0").env.env
    assert type(highway.sim).__name__ == "HighwayEnv" and highway.sim.config["simulation_frequency"] == 15
    fast = registry.make("traffic/HighwayFastRef-v0").env.env
    assert type(fast.sim).__name__ == "HighwayEnvFast" and len(fast.possible_agents) == 2
    sumo = registry.make("traffic/SumoSingle-v0", reference=True).env.env
    assert sumo.core.sim_max_time == 20000
    sumo.close()
