"""Two policies trained in one Ray job on tic-tac-toe: `x` plays player_1, `o` plays player_2, each with its own
learner, rollout worker, weights and checkpoint folder. Checks that each learner trained on exactly its own
agent's turns (counted and token-for-token against episodes.jsonl), that both policies' weights moved away from
the shared starting model and apart from each other, and that a second run resumes both policies.

A random tiny model rarely finishes a game (most replies are not a legal cell; `max_invalid` retries let the
second player move often enough), so most rewards are equal; a small entropy bonus gives each learner a gradient from its own turns alone, so a changed weight shows that the
learner trained on turns it was sent. The torch sampler keeps worker start-up cheap (no vLLM engine per policy).
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from agentrl.config import load_config
from agentrl.distributed.config import RayTrainConfig
from agentrl.distributed.driver import train_ray
from agentrl.models import build_tiny_model
from agentrl.types import Status

pytestmark = pytest.mark.ray

STEPS, TASKS, GROUP = 2, 4, 4
POLICIES = {"x": "player_1", "o": "player_2"}


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def overrides(out, steps: int) -> list[str]:
    return [f"run.out_dir={out}", f"run.steps={steps}", "run.save_every=1", "run.tensorboard=false", "run.log_every=1",
            "env.id=classic/TicTacToe-v0", "env.kwargs={max_invalid: 10}", "rollout.max_turns=40",
            "policies=[{name: x, agents: [player_1]}, {name: o, agents: [player_2], lr: 0.002}]",
            "distributed.mode=async", "distributed.max_policy_lag=1", "model.engine=torch",
            "distributed.num_env_actors=1", "distributed.num_rollout_workers=1",
            f"rollout.tasks_per_step={TASKS}", f"rollout.group_size={GROUP}", "rollout.max_tokens=2",
            "model.max_model_len=512", "model.tiny={vocab_size: 128}", "learner.lr=0.001",
            "learner.micro_batch_size=64", "algorithm.loss.entropy_coef=0.01"]


def weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_each_policy_trains_on_its_own_agents_and_resumes(ray_cluster, tmp_path):
    out = tmp_path / "run"
    first = train_ray(load_config(RayTrainConfig, None, overrides(out, STEPS)))
    assert first["learner/version"] >= 1

    rows = read_jsonl(out / "metrics.jsonl")
    episodes = read_jsonl(out / "episodes.jsonl")
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1)) and len(episodes) == STEPS * TASKS * GROUP
    for row in rows:
        assert row["rollout/stale"] == 0  # every episode of the batch reached both learners
        batch = [e for e in episodes if e["info"]["step"] == row["step"] - 1
                 and not Status(e["status"]).is_failure]
        for name, agent in POLICIES.items():
            turns = [t for e in batch for t in e["turns"] if t["agent"] == agent and t["completion_ids"]]
            other = next(a for a in POLICIES.values() if a != agent)
            assert row[f"policy/{name}/learner/turns/{agent}"] == len(turns) > 0
            assert f"policy/{name}/learner/turns/{other}" not in row  # never the other policy's agent
            assert row[f"policy/{name}/learner/tokens"] == sum(len(t["completion_ids"]) for t in turns)
            assert f"rollout/reward/{name}" in row and f"policy_lag/{name}/max" in row
            assert f"rollout_worker/{name}/0/tokens_per_s" in row
        for e in batch:  # each agent's turns were sampled by its own policy's worker
            assert set(e["info"]["policy_versions"]) == set(POLICIES)

    start = weights(build_tiny_model(vocab_size=128))
    final = out / "checkpoints" / f"step-{STEPS:06d}"
    assert json.loads((final / "trainer.json").read_text())["versions"] == {"x": STEPS, "o": STEPS}
    x, o = weights(final / "x" / "model"), weights(final / "o" / "model")
    for trained in (x, o):
        assert any(not torch.equal(trained[k], start[k]) for k in start)  # both policies learned
    assert any(not torch.equal(x[k], o[k]) for k in x)  # separate weights

    resumed = train_ray(load_config(RayTrainConfig, None, overrides(out, STEPS + 1)))
    rows = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, STEPS + 2))
    assert rows[-1]["policy/x/learner/start_version"] == rows[-1]["policy/o/learner/start_version"] == STEPS
    assert resumed["policy/x/learner/version"] == resumed["policy/o/learner/version"] == STEPS + 1
