"""Reference modes replay the reference libraries bit for bit: highway-env's own registered envs (with
highway-env's documented multi-agent setting where the env is single-agent) and sumo-rl's env with its own
defaults, fixed-time mode included, under seeds and action scripts.

Counts (seeds x scripts x agent counts) are in REPLAYS and SUMO_REPLAYS; docs/traffic.md quotes them."""

import gymnasium
import numpy as np
import pytest

from agentrl.environments.traffic.driving import DrivingParallelEnv
from agentrl.environments.traffic.signals import SignalParallelEnv, _import_sumo_rl, network_files

SEEDS = (0, 1)
SCRIPTS = ("idle", "random")
# Policy steps compared per run; highway-v0 (50 cars at 15 Hz) costs the most per step.
STEPS = {"highway-v0": 3}
DEFAULT_STEPS = 6
# (scenario, highway-env id, agent counts)
REPLAYS = [("highway", "highway-v0", (1, 2)), ("highway", "highway-fast-v0", (1, 2)), ("merge", "merge-v0", (1,)),
           ("intersection", "intersection-v0", (1,)), ("intersection", "intersection-multi-agent-v1", (2, 4))]
CASES = [(s, g, n) for s, g, counts in REPLAYS for n in counts]


def _direct_config(gym_id: str, n: int) -> dict | None:
    """What a highway-env user writes for n agents, spelled out here rather than taken from our code."""
    if gym_id.startswith("intersection-multi-agent"):
        return {"controlled_vehicles": n}
    if n == 1:
        return None
    return {"controlled_vehicles": n,
            "action": {"type": "MultiAgentAction", "action_config": {"type": "DiscreteMetaAction"}},
            "observation": {"type": "MultiAgentObservation", "observation_config": {"type": "Kinematics"}}}


def _states(sim) -> list:
    return [(*map(float, v.position), float(v.speed), float(v.heading), bool(v.crashed)) for v in sim.road.vehicles]


def _script(name: str, seed: int, env: DrivingParallelEnv):
    rng = np.random.default_rng(1000 + seed)

    def act(agent: str) -> int:
        names = env.action_names(agent)
        return names.index("IDLE") if name == "idle" else int(rng.integers(len(names)))
    return act


@pytest.mark.parametrize(("scenario", "gym_id", "n"), CASES)
def test_reference_driving_replays_highway_env(scenario, gym_id, n):
    ours = DrivingParallelEnv(scenario, n_agents=n, reference=gym_id)
    direct = gymnasium.make(gym_id, config=_direct_config(gym_id, n))
    multi = n > 1 or gym_id.startswith("intersection-multi-agent")
    for seed in SEEDS:
        for script in SCRIPTS:
            obs, infos = ours.reset(seed=seed)
            d_obs, _ = direct.reset(seed=seed)
            d_obs = d_obs if multi else (d_obs,)
            assert _states(ours.sim) == _states(direct.unwrapped)
            for i, agent in enumerate(ours.possible_agents):
                assert np.array_equal(obs[agent], d_obs[i])
                assert infos[agent]["kinematics"] == np.asarray(d_obs[i], dtype=np.float64).tolist()  # unrounded
            act = _script(script, seed, ours)
            for _ in range(STEPS.get(gym_id, DEFAULT_STEPS)):
                if not ours.agents:
                    break
                idle = {a: ours.action_names(a).index("IDLE") for a in ours.possible_agents}
                actions = {a: act(a) for a in ours.agents}
                joint = tuple(actions.get(a, idle[a]) for a in ours.possible_agents)
                obs, rewards, terms, truncs, _ = ours.step(actions)
                d_obs, d_rew, d_term, d_trunc, _ = direct.step(joint if multi else joint[0])
                d_obs = d_obs if multi else (d_obs,)
                assert _states(ours.sim) == _states(direct.unwrapped)
                for i, agent in enumerate(ours.possible_agents):
                    if agent not in rewards:
                        continue
                    assert np.array_equal(obs[agent], d_obs[i])
                    if isinstance(d_rew, tuple):  # intersection-multi-agent: highway-env's per-agent tuples
                        assert (rewards[agent], terms[agent]) == (d_rew[i], d_term[i])
                    elif i == 0:  # highway-env's scalar reward and termination judge its first vehicle
                        assert (rewards[agent], terms[agent]) == (d_rew, d_term)
                    assert truncs[agent] == (bool(d_trunc) and not terms[agent])
    direct.close()
    ours.close()


SUMO_SECONDS = 20  # both sides get the same num_seconds; every other sumo-rl setting is its default
SUMO_REPLAYS = [(network, mode) for network in ("single-intersection", "cologne8")
                for mode in ("random-phases", "cycle", "fixed_ts")]


@pytest.mark.parametrize(("network", "mode"), SUMO_REPLAYS)
def test_reference_signals_replay_sumo_rl(network, mode):
    fixed = mode == "fixed_ts"
    ours = SignalParallelEnv(network, num_seconds=SUMO_SECONDS, reference=True, fixed_ts=fixed)
    files = network_files(network)
    direct = _import_sumo_rl().parallel_env(**files, num_seconds=SUMO_SECONDS, fixed_ts=fixed, use_gui=False)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        obs, infos = ours.reset(seed=seed)
        d_obs, _ = direct.reset(seed=seed)
        assert {a: o.tolist() for a, o in obs.items()} == {a: o.tolist() for a, o in d_obs.items()}
        assert all(infos[a]["observation"] == d_obs[a].tolist() for a in obs)
        step = 0
        while ours.agents:
            n = {a: int(ours.action_space(a).n) for a in ours.agents}
            actions = {a: (int(rng.integers(n[a])) if mode == "random-phases" else step % n[a]) for a in ours.agents}
            obs, rewards, _, truncs, infos = ours.step(actions)
            d_obs, d_rew, _, d_trunc, d_info = direct.step(actions)
            step += 1
            assert rewards == {a: float(r) for a, r in d_rew.items()}
            assert truncs == {a: bool(t) for a, t in d_trunc.items()}
            assert {a: o.tolist() for a, o in obs.items()} == {a: o.tolist() for a, o in d_obs.items()}
            for agent, info in infos.items():
                assert info["system_total_waiting_time"] == float(d_info[agent]["system_total_waiting_time"])
        assert step == SUMO_SECONDS // 5
    ours.close()
    direct.close()


def test_reference_defaults_are_the_libraries():
    """No project setting is left in a reference env: highway-env's config as its own env has it, and sumo-rl's
    episode length (RESCO's one hour from its begin time on cologne8)."""
    for scenario, gym_id, counts in REPLAYS:  # each env's own default vehicle count: 1, or 2 where multi-agent
        ours = DrivingParallelEnv(scenario, n_agents=2 if "multi-agent" in gym_id else 1, reference=gym_id)
        assert ours.sim.config == gymnasium.make(gym_id).unwrapped.config
        assert type(ours.sim) is type(gymnasium.make(gym_id).unwrapped)
    core = SignalParallelEnv("cologne8", reference=True).core
    resco = _import_sumo_rl().cologne8(parallel=True).unwrapped.env
    assert (core.begin_time, core.sim_max_time, core.delta_time, core.min_green, core.yellow_time) == (
        resco.begin_time, resco.sim_max_time, resco.delta_time, resco.min_green, resco.yellow_time)
    with pytest.raises(ValueError, match="single ego vehicle by construction"):
        DrivingParallelEnv("merge", n_agents=2, reference="merge-v0")
    with pytest.raises(ValueError, match="leave traffic and observation unset"):
        DrivingParallelEnv("highway", traffic="chaotic", reference="highway-v0")
