"""The driver's pure parts: the lag filter, trimming after a crash, rates and restarts, the slow env wrapper,
the episode-to-worker proxy and the reproducible torch sampler."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from agentrl.distributed.actors import RemotePolicy, failed_episode
from agentrl.distributed.driver import within_lag
from agentrl.distributed.metrics import ActorRates, lag_metrics
from agentrl.errors import PolicyError
from agentrl.training.checkpoints import trim_logs
from agentrl.training.config import PolicyConfig
from agentrl.training.schedule import EpisodeSpec, rollout_metrics
from agentrl.types import Episode, Status, Task, Turn, write_jsonl

TASK = Task(id="t0")


def episode(version: int, status: Status = Status.OK, step: int = 0, sample: int = 0) -> Episode:
    return Episode(task=TASK, env_id="x/Y-v0", seed=sample, status=status, policy_version=version,
                   reward={} if status.is_failure else {"agent": 1.0}, info={"step": step, "sample": sample})


def test_stale_episodes_are_dropped_or_kept_for_downweighting():
    batch = [episode(5), episode(3), episode(1, Status.ENV_ERROR)]
    kept, stale = within_lag(batch, version=5, lag=1, stale="drop")
    assert stale == 1 and [e.policy_version for e in kept] == [5, 1]  # failures go on to be counted, not trained
    kept, stale = within_lag(batch, version=5, lag=1, stale="downweight")
    assert stale == 1 and kept == batch


def test_each_policy_judges_staleness_by_its_own_version():
    a = episode(3).replace(info={"step": 0, "sample": 0, "policy_versions": {"x": 3, "o": 1}})
    kept, stale = within_lag([a], version=3, lag=1, stale="drop", policy="x")
    assert kept == [a] and stale == 0
    kept, stale = within_lag([a], version=3, lag=1, stale="drop", policy="o")
    assert kept == [] and stale == 1


def test_per_policy_reward_and_lag():
    e = Episode(task=TASK, env_id="x/Y-v0", seed=0, status=Status.OK, policy_version=1,
                reward={"p1": 1.0, "p2": -1.0}, info={"policy_versions": {"x": 2, "o": 1}})
    policies = (PolicyConfig("x", ("p1",)), PolicyConfig("o", ("p2",)))
    m = {**rollout_metrics([e], "success", policies), **lag_metrics([e], {"x": 2, "o": 3}, 0, policies)}
    assert m["rollout/reward/x"] == 1.0 and m["rollout/reward/o"] == -1.0
    assert m["policy_lag/x/max"] == 0 and m["policy_lag/o/max"] == 2


def test_host_metrics_report_cpu_and_memory():
    from agentrl.distributed.metrics import host_metrics

    m = host_metrics()
    assert 0 <= m["host/cpu_percent"] <= 100 and m["host/mem_used_gb"] > 0


def test_lag_metrics_ignore_failed_episodes():
    m = lag_metrics([episode(4), episode(3), episode(0, Status.POLICY_ERROR)], {"main": 5}, 0)
    assert m["policy_lag/mean"] == 1.5 and m["policy_lag/max"] == 2


def test_failed_episode_is_unscored_and_tagged():
    e = failed_episode("x/Y-v0", EpisodeSpec(TASK, 3, 2, 7), Status.ENV_ERROR, "env actor 1 died", 2, 1, 0)
    assert e.status.is_failure and e.reward == {} and e.group_id == "3:t0"
    assert e.info == {"step": 3, "sample": 2, "env_actor": 1, "rollout_worker": 0}
    refill = failed_episode("x/Y-v0", EpisodeSpec(TASK, 3, 2, 7, "r1"), Status.ENV_ERROR, "env actor 1 died", 2, 1, 0)
    assert refill.group_id == "3r1:t0" and refill.info["round"] == "r1"  # a refill round's group id, as in train


def test_trim_after_drops_what_followed_the_checkpoint(tmp_path):
    write_jsonl(tmp_path / "episodes.jsonl", [episode(0, step=s, sample=k) for s in range(4) for k in range(2)])
    with open(tmp_path / "episodes.jsonl", "a") as f:
        f.write('{"task": {"id": "torn')  # a kill mid-write
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"step": s}) + "\n" for s in range(1, 5)))
    trim_logs(tmp_path, 2)
    steps = [json.loads(line)["info"]["step"] for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert steps == [0, 0, 1, 1]
    assert [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_actor_rates_and_restarts():
    rates = ActorRates()
    t = time.monotonic() - 2.0
    worker = {"started": t, "incarnation": "a", "completion_tokens": 100, "requests": 10, "busy_s": 1.0, "in_flight": 2,
              "last_sync_s": 0.01, "version": 1, "cpu_percent": 5.0}
    env = {"started": t, "episodes": 20, "failed": 0, "running": 3, "waiting": 1, "cpu_percent": 1.0}
    m = rates.collect({"rollout_worker/0": worker, "env_actor/0": env})
    assert 40 < m["rollout_worker/0/tokens_per_s"] <= 50 and m["queue/env_running"] == 3
    assert m["queue/worker_in_flight"] == m["rollout_worker/0/in_flight"] == 2
    restarted = {**worker, "incarnation": "b", "started": time.monotonic() - 1.0, "completion_tokens": 10}
    m = rates.collect({"rollout_worker/0": restarted, "env_actor/0": {**env, "episodes": 30}})
    assert m["rollout_worker/0/restarts"] == 1 and m["env_actor/0/restarts"] == 0
    assert m["rollout_worker/0/tokens_per_s"] > 0


class _Method:
    def __init__(self, fn):
        self.fn = fn

    def remote(self, *args):
        return self.fn(*args)


class _FakeWorker:
    """Stands in for a rollout worker's actor handle: `.method.remote(...)` returns an awaitable."""

    def __init__(self):
        self.incarnation = "one"
        self.seeds = []
        self.describe = _Method(self._describe)
        self.generate = _Method(self._generate)

    async def _describe(self):
        return self.incarnation, 4

    async def _generate(self, agent, messages, previous, seed):
        self.seeds.append(seed)
        turn = Turn(agent=agent, index=0, messages=(*messages, {"role": "assistant", "content": "1"}))
        return turn, self.incarnation, 4


def test_remote_policy_seeds_turns_and_fails_when_its_worker_restarted():
    async def play():
        worker = _FakeWorker()
        policy = RemotePolicy(worker, 0, episode_seed=11)
        await policy.start()
        first = await policy.generate("agent", [{"role": "user", "content": "hi"}])
        await policy.generate("agent", [{"role": "user", "content": "hi"}])
        again = RemotePolicy(worker, 0, episode_seed=11)
        await again.start()
        await again.generate("agent", [{"role": "user", "content": "hi"}])
        assert worker.seeds[0] == worker.seeds[2] != worker.seeds[1]  # per episode and turn, reproducible
        assert policy.version == 4 and first.info["sampled_version"] == 4
        worker.incarnation = "two"
        with pytest.raises(PolicyError, match="restarted during the episode"):
            await policy.generate("agent", [{"role": "user", "content": "hi"}])

    asyncio.run(play())


def test_slow_env_delays_and_passes_through():
    from agentrl import registry
    from agentrl.distributed import slow_env

    slow_env.register()
    task = registry.tasks(slow_env.SLOW_ECHO)[0]
    policy = registry.scripted_policy("games/Echo-v0")

    async def play(env):
        started = time.monotonic()
        obs = await env.reset(task, 0)
        turn = await policy.generate("agent", list(obs["agent"]))
        result = await env.step({"agent": turn.text})
        return time.monotonic() - started, obs, result

    slow_s, slow_obs, slow = asyncio.run(play(registry.make(slow_env.SLOW_ECHO, step_delay=0.05, reset_delay=0.05)))
    fast_s, fast_obs, fast = asyncio.run(play(registry.make("games/Echo-v0")))
    assert slow_s >= 0.1 > fast_s
    assert slow_obs == fast_obs and slow.rewards == fast.rewards and slow.obs == fast.obs


def test_torch_sampler_is_reproducible_and_token_exact():
    from agentrl.inference.torch_sampler import TorchSamplerPolicy

    policy = TorchSamplerPolicy("tiny", max_tokens=4, max_model_len=256)
    messages = [{"role": "user", "content": "Repeat this digit: 3"}]
    a = asyncio.run(policy.generate("agent", messages, seed=5))
    b = asyncio.run(policy.generate("agent", messages, seed=5))
    assert a.completion_ids == b.completion_ids and a.logprobs == b.logprobs and len(a.logprobs) == len(a.completion_ids)
    assert a.prompt_ids == tuple(policy.chat.first(messages))
    more = [*messages, a.messages[-1], {"role": "user", "content": "again"}]
    c = asyncio.run(policy.generate("agent", more, previous=a, seed=6))
    assert c.prompt_ids[: len(a.prompt_ids) + len(a.completion_ids)] == a.prompt_ids + a.completion_ids
    state = {k: v * 0 for k, v in policy.model.state_dict().items()}
    policy.update_weights(state.items(), version=3)
    assert policy.version == 3 and all(float(p.detach().abs().sum()) == 0 for p in policy.model.parameters())


class _Probed:
    """An actor handle whose `ready` fails `down_for` times (restarting), or for good (`gone`)."""

    def __init__(self, down_for: int = 0, gone: bool = False):
        self.down_for, self.gone, self.calls = down_for, gone, 0
        self.ready = _Method(self._ready)

    async def _ready(self):
        import ray

        self.calls += 1
        if self.gone:
            raise ray.exceptions.ActorDiedError()
        if self.calls <= self.down_for:
            raise RuntimeError("restarting")
        return {}


def test_actor_pool_sets_failed_actors_aside_until_they_answer():
    from agentrl.distributed.cluster import ActorPool
    from agentrl.errors import AgentRLError

    async def play():
        recovered = []

        async def on_recover(actor):
            recovered.append(actor)

        flaky, steady = _Probed(down_for=2), _Probed()
        pool = ActorPool("env actor", [flaky, steady], on_recover=on_recover, probe_every=0.01)
        assert [await pool.pick() for _ in range(4)] == [0, 1, 0, 1]
        pool.failed(0)
        assert [await pool.pick() for _ in range(3)] == [1, 1, 1]
        await asyncio.sleep(0.2)
        assert pool.up == [True, True] and pool.recoveries == 1 and recovered == [flaky]
        assert pool.metrics("faults/env_actors") == {"faults/env_actors_down": 0.0,
                                                      "faults/env_actors_recoveries": 1.0}
        dead = ActorPool("rollout worker", [_Probed(gone=True)], probe_every=0.01)
        dead.failed(0)
        with pytest.raises(AgentRLError, match="out of restarts"):
            await asyncio.wait_for(dead.pick(), timeout=5)

    asyncio.run(play())


def test_checkpoints_hold_every_policy_and_refuse_a_changed_map(tmp_path):
    from agentrl.errors import ConfigError
    from agentrl.training import checkpoints

    class _Learner:
        def __init__(self, version):
            self.version, self.loaded = version, None

        def save(self, folder):
            folder.mkdir(parents=True)
            (folder / "learner.pt").write_text(str(self.version))

        def load(self, folder):
            self.loaded = folder.name

    tmp = checkpoints.begin(tmp_path, 4)
    for name, version in (("x", 4), ("o", 3)):
        _Learner(version).save(tmp / name)
    final = checkpoints.commit(tmp_path, 4, tmp, {"x": 4, "o": 3})
    assert checkpoints.latest(tmp_path) == final and not tmp.exists()
    assert json.loads((final / "trainer.json").read_text()) == {"step": 4, "versions": {"x": 4, "o": 3}}
    learner = _Learner(0)
    assert checkpoints.load(learner, final, "o") == 4 and learner.loaded == "o"
    with pytest.raises(ConfigError, match=r"the policy map changed"):
        checkpoints.load(_Learner(0), final)
