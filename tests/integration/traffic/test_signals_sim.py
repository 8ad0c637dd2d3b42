"""Signal envs on a real SUMO (eclipse-sumo) through sumo-rl: PettingZoo API, our contract, exact replay."""

import pytest
from pettingzoo.test import parallel_api_test

from agentrl import check_env, run_episode
from agentrl.environments.traffic.signals import (
    SignalEnv,
    SignalParallelEnv,
    _import_sumo_rl,
    fixed_time_policy,
    network_files,
    rubric,
    scripted_policy,
    tasks,
)
from agentrl.verifiers.driving import outcome_metrics


def test_pettingzoo_parallel_api():
    parallel_api_test(SignalParallelEnv("2x2grid", num_seconds=40), num_cycles=6)


@pytest.mark.parametrize("env_id", ["traffic/SumoSingle-v0", "traffic/SumoCologne8-v0"])
async def test_check_env(env_id):
    report = await check_env(env_id, num_tasks=1, seeds=(0,))
    ep = report.episodes[0]
    assert len(ep.agents) == (1 if "Single" in env_id else 8)
    assert all(terms["mean_queue"] is not None for terms in ep.outcome_rewards.values())


@pytest.mark.parametrize("network", ["single-intersection", "cologne8"])
async def test_wrapped_run_reproduces_sumo_rl_exactly(network):
    """Our text env and sumo-rl driven directly, same seed and phases: same rewards, truncations and metrics."""
    seconds = 60
    ours = SignalEnv(network, num_seconds=seconds)
    direct = _import_sumo_rl().parallel_env(**network_files(network), num_seconds=seconds, use_gui=False,
                                            sumo_warnings=False, additional_sumo_cmd="--no-step-log true")
    policy = scripted_policy(0)
    obs = await ours.reset(tasks()[0], seed=7)
    direct_obs, _ = direct.reset(seed=7)
    assert set(direct_obs) == set(obs)
    conversations = {a: list(m) for a, m in obs.items()}
    steps = 0
    while obs:
        texts = {}
        for agent in obs:
            texts[agent] = (await policy.generate(agent, conversations[agent])).text
        phases = {a: int(t.split()[-1]) for a, t in texts.items()}
        result = await ours.step(texts)
        _d_obs, d_rew, _d_term, d_trunc, d_info = direct.step(phases)
        steps += 1
        assert result.rewards == pytest.approx({a: float(r) for a, r in d_rew.items()}, abs=0)
        assert dict(result.truncated) == {a: bool(t) for a, t in d_trunc.items()}
        for agent, info in result.infos.items():
            assert info["system_mean_waiting_time"] == float(d_info[agent]["system_mean_waiting_time"])
            assert info["queue"] == sum(direct.unwrapped.env.sumo.lane.getLastStepHaltingNumber(lane)
                                        for lane in direct.unwrapped.env.traffic_signals[agent].lanes)
        obs = result.obs
        conversations = {a: [{"role": "user", "content": m}] for a, m in obs.items()}
    assert steps == seconds // 5
    await ours.close()
    direct.close()


async def test_fixed_time_vs_longest_queue_first_on_the_single_intersection():
    metrics = {}
    for name, factory in (("fixed", fixed_time_policy), ("longest_queue", scripted_policy)):
        episodes = [await run_episode(SignalEnv("single-intersection", num_seconds=300), factory(0), task, 3,
                                      rubric(), max_turns=100) for task in tasks()[:1]]
        assert all(not ep.status.is_failure for ep in episodes)
        metrics[name] = outcome_metrics(episodes)
    # Serving the longest queue beats blind cycling on waiting time on this demand.
    assert metrics["longest_queue"]["mean_waiting_time"] < metrics["fixed"]["mean_waiting_time"]
    assert metrics["longest_queue"]["mean_queue"] < metrics["fixed"]["mean_queue"]
