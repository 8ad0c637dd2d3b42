"""Gateway envs through the other two entry points: `agentrl train-ray` (the program runs in an env actor, its
requests go to a rollout worker through the actor's `RemotePolicy`) and `agentrl eval` (the env's scripted
policy answers the program). Both get the policy from `run_episode`'s `bind_policy` hook."""

from __future__ import annotations

import json
import shutil
import tempfile

import pytest

from agentrl.config import load_config
from agentrl.environments import external_demo
from agentrl.evaluation import EvalSpec, evaluate
from agentrl.evaluation.store import EPISODES, read_episodes

STEPS = 3


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.ray
def test_train_ray_on_a_gateway_env(tmp_path):
    import ray

    from agentrl.distributed.cluster import QUIET, loopback_only
    from agentrl.distributed.config import RayTrainConfig
    from agentrl.distributed.driver import train_ray

    external_demo.register(timeout=120)
    cfg = load_config(RayTrainConfig, None, [
        f"run.out_dir={tmp_path}", f"run.steps={STEPS}", "run.save_every=100", "run.tensorboard=false",
        f"env.id={external_demo.ENV_ID}", "env.kwargs={}",
        "distributed.setup=[agentrl.environments.external_demo:register]", "distributed.mode=sync",
        "distributed.num_env_actors=1", "model.engine=torch", "model.max_model_len=512",
        "rollout.tasks_per_step=2", "rollout.group_size=2", "rollout.max_tokens=3",
        "algorithm.advantage.estimator=grpo", "learner.micro_batch_size=64"])
    temp = tempfile.mkdtemp(prefix="ray-gw-", dir="/tmp")  # this cluster's own sessions, sockets and logs
    loopback_only()
    ray.init(num_cpus=4, namespace="agentrl-gateway-test", include_dashboard=False, configure_logging=False,
             runtime_env={"env_vars": QUIET}, _node_ip_address="127.0.0.1", _temp_dir=temp)
    try:
        train_ray(cfg)
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    metrics = rows(tmp_path / "metrics.jsonl")
    assert [m["learner/version"] for m in metrics] == [1.0, 2.0, 3.0]  # three updates, each pushed to the worker
    episodes = rows(tmp_path / "episodes.jsonl")
    assert len(episodes) == STEPS * 4 and all(e["status"] == "ok" for e in episodes)
    for e in episodes:
        step = e["info"]["step"]
        assert len(e["turns"]) == 3 and e["info"]["program"]["exit_code"] == 0
        # sync mode: the worker serves the weights of the update before the step, and each turn says so
        assert [t["policy_version"] for t in e["turns"]] == [step] * 3
        assert [t["info"]["sampled_version"] for t in e["turns"]] == [step] * 3
        assert e["policy_version"] == step
        assert all(t["completion_ids"] and len(t["logprobs"]) == len(t["completion_ids"]) for t in e["turns"])


def test_eval_on_a_gateway_env(tmp_path):
    external_demo.register(timeout=120)
    summary = evaluate(EvalSpec(external_demo.ENV_ID, policy="scripted", tasks="test", samples=2), tmp_path,
                       concurrency=4, progress=False)
    episodes = read_episodes(tmp_path / EPISODES)
    assert len(episodes) == 8 and all(e.status.value == "ok" for e in episodes)
    for e in episodes:
        word = e.task.reference["word"]
        assert len(e.turns) == 3 and e.turns[0].info["segment_start"]  # the program's three requests
        assert all(call["function"]["name"] == "say" and json.loads(call["function"]["arguments"]) == {"word": word}
                   for t in e.turns for call in t.info["tool_calls"])
        assert e.outcome_rewards["agent"]["said_word"] == 1.0
    assert summary["overall"]["success_rate"] == 1.0 and summary["overall"]["turns_mean"] == 3.0
