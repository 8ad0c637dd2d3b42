"""An asynchronous run across 4 Ray actors (learner, a vLLM rollout worker, 2 env actors) on one machine, with one
env actor and the rollout worker killed mid-run: both come back, training finishes, every episode is recorded
exactly once, and the killed ones are marked failed (never scored). One rollout worker keeps the test cheap
(a vLLM engine per worker) and forces the run through the worker's restart and weight catch-up."""

from __future__ import annotations

import json
import threading
import time

import pytest
import ray

from agentrl.config import load_config
from agentrl.distributed.config import RayTrainConfig
from agentrl.distributed.driver import train_ray


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


pytestmark = [pytest.mark.ray, pytest.mark.vllm]

STEPS, TASKS, GROUP = 6, 4, 4


def config(out) -> RayTrainConfig:
    return load_config(RayTrainConfig, None, [
        f"run.out_dir={out}", f"run.steps={STEPS}", "run.save_every=3", "run.tensorboard=false", "run.log_every=1",
        "env.id=debug/SlowEcho-v0", "env.kwargs={step_delay: 0.3, reset_delay: 0.3}",
        "distributed.setup=[agentrl.distributed.slow_env:register]", "distributed.mode=async",
        "distributed.max_policy_lag=1", "distributed.num_env_actors=2", "distributed.num_rollout_workers=1",
        "model.engine=vllm", f"rollout.tasks_per_step={TASKS}", f"rollout.group_size={GROUP}",
        "rollout.max_tokens=2", "model.max_model_len=256",
        "learner.lr=0.001"])


class TrainerThread:
    """The trainer in a thread. Every wait and lookup the test makes while it runs goes through `wait_for` or
    `call`, which raise the trainer's own exception as soon as it has one: a trainer that died makes the test fail
    with its root cause, never with a later lookup of an actor it took down or a timeout."""

    def __init__(self, target):
        self.outcome: dict = {}
        self.thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self.thread.start()

    def _run(self, target) -> None:
        try:
            self.outcome["result"] = target()
        except BaseException as e:  # re-raised in the test's thread by check()  # noqa: BLE001
            self.outcome["error"] = e

    def check(self) -> None:
        if "error" in self.outcome:
            raise self.outcome["error"]

    def call(self, fn, *args):
        try:
            return fn(*args)
        except Exception:
            self.thread.join(timeout=5)  # an actor that is gone may mean the trainer just died: prefer its error
            self.check()
            raise

    def wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            if not self.thread.is_alive():
                raise AssertionError(f"the trainer ended before {what}")
            if self.call(condition):
                return
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.2)

    def result(self, timeout: float):
        self.thread.join(timeout=timeout)
        self.check()
        assert not self.thread.is_alive(), f"the trainer did not finish within {timeout} s"
        return self.outcome["result"]


def test_killed_env_actor_and_rollout_worker(ray_cluster, processes, tmp_path):
    out = tmp_path / "run"
    trainer = TrainerThread(lambda: train_ray(config(out)))
    trainer.wait_for(lambda: len(read_jsonl(out / "metrics.jsonl")) >= 2, 600, "two updates")
    env, worker = trainer.call(ray.get_actor, "env-0"), trainer.call(ray.get_actor, "rollout-0")
    trainer.wait_for(lambda: ray.get(env.get_stats.remote())["running"] > 0 and ray.get(worker.get_stats.remote())
                     ["requests"] > 0, 60, "episodes in flight on env-0")
    processes.snapshot()  # the vLLM engine under the worker must go with it
    ray.kill(worker, no_restart=False)
    ray.kill(env, no_restart=False)
    trainer.result(timeout=900)

    rows = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    trained = [r for r in rows if not r.get("learner/skipped")]
    assert rows[-1]["learner/version"] == len(trained) >= STEPS - 3  # a batch of failures only is never trained on
    assert all(r["rollout/failed"] == TASKS * GROUP for r in rows if r.get("learner/skipped"))
    episodes = read_jsonl(out / "episodes.jsonl")
    keys = [(e["info"]["step"], e["task"]["id"], e["info"]["sample"]) for e in episodes]
    assert len(keys) == len(set(keys)) == STEPS * TASKS * GROUP  # none lost, none counted twice
    for step in range(STEPS):
        assert sum(k[0] == step for k in keys) == TASKS * GROUP

    env_errors = [e for e in episodes if e["status"] == "env_error"]
    policy_errors = [e for e in episodes if e["status"] == "policy_error"]
    assert env_errors and all("env actor 0" in e["error"] for e in env_errors), env_errors[:1]
    assert policy_errors and all("rollout worker 0" in e["error"] or "Actor" in e["error"]
                                 for e in policy_errors), policy_errors[:1]
    for e in env_errors + policy_errors:
        assert e["reward"] == {} and e["outcome_rewards"] == {}  # failed, not scored 0
    failed_by_step = {}
    for e in env_errors + policy_errors:
        failed_by_step[e["info"]["step"]] = failed_by_step.get(e["info"]["step"], 0) + 1
    for row in rows:
        failed = failed_by_step.get(row["step"] - 1, 0)
        assert row["rollout/failed"] == failed
        if not row.get("learner/skipped"):
            assert row["learner/episodes_dropped"] >= failed  # the learner never trained on them
    assert rows[-1]["faults/env_actors_recoveries"] >= 1 and rows[-1]["faults/rollout_workers_recoveries"] >= 1
    incarnations = [e["info"]["worker_incarnation"] for e in episodes if e["status"] == "ok"]
    assert len(set(incarnations)) == 2 and incarnations[-1] != incarnations[0]  # served again after the restart
    assert all(r["policy_lag/max"] <= 1 for r in rows)  # the restarted worker caught up on the weights
    assert any(r["policy_lag/max"] == 1 for r in rows)  # it did run ahead
