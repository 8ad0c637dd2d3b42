"""A policy's learner as two FSDP2 ranks (gloo, CPU) inside `train-ray`: the same update as one rank, sharded
checkpoints that resume exactly, and a lost rank that stops the run with an error naming it.

One test, two short runs (sync schedule, `model.engine=torch` so the same weights sample the same tokens;
see test_resume.py for why exactness needs that sampler):

    two ranks, 3 steps, checkpoints at 2 and 3      its first update equals a one-rank learner's on the same
                                                    episodes (the single-rank `LearnerActor`, run in-process)
    two ranks resumed from the checkpoint at 2      (the run folder as a run stopped after step 2 leaves it)
        update 3 equals the uninterrupted run's; then rank 1 is killed: the run stops with LearnerRankError

A driver killed with SIGKILL between checkpoints is test_resume.py's subject (the same `begin`/`commit` folder
rename writes the sharded checkpoint here).
"""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest

from agentrl.config import load_config, to_dict
from agentrl.distributed.actors import LearnerActor
from agentrl.distributed.cluster import LearnerRankError
from agentrl.distributed.config import RayTrainConfig
from agentrl.distributed.driver import train_ray

pytestmark = pytest.mark.ray

TASKS, GROUP = 4, 4


def overrides(out, steps: int, ranks: int) -> list[str]:
    return [f"run.out_dir={out}", f"run.steps={steps}", "run.save_every=2", "run.tensorboard=false",
            "run.log_every=1", "env.id=debug/SlowEcho-v0", "env.kwargs={step_delay: 0.0}",
            "distributed.setup=[agentrl.distributed.slow_env:register]", "distributed.mode=sync",
            "model.engine=torch", "distributed.num_env_actors=1", "distributed.num_rollout_workers=1",
            f"distributed.learner_ranks={ranks}", f"rollout.tasks_per_step={TASKS}", f"rollout.group_size={GROUP}",
            "rollout.max_tokens=2", "model.max_model_len=256", "learner.lr=0.01", "learner.num_threads=1",
            "learner.micro_batch_size=64",  # one micro-batch per rank: per-micro-batch terms compare too
            "algorithm.loss.entropy_coef=0.05"]  # a gradient even where a random model's rewards are all equal


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def episodes_of(out) -> list:
    from agentrl.types import read_jsonl as read_episodes

    return list(read_episodes(out / "episodes.jsonl"))


def compared(row: dict) -> list[str]:
    return [k for k in row if k.startswith("loss/")] + ["learner/grad_norm", "learner/tokens", "learner/sequences"]


def kill_rank_1_after(metrics_path, rows: int, killed: list[str]) -> threading.Thread:
    """Kill learner rank 1 once the run has logged `rows` updates (a stand-in for a lost GPU node)."""
    import ray

    def watch() -> None:
        deadline = time.monotonic() + 300
        while len(read_jsonl(metrics_path)) < rows and time.monotonic() < deadline:
            time.sleep(0.05)
        ray.kill(ray.get_actor("learner-rank-1"), no_restart=True)
        killed.append("learner-rank-1")

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_two_learner_ranks_match_one_resume_exactly_and_a_lost_rank_stops_the_run(ray_cluster, tmp_path):
    two, resumed = tmp_path / "two", tmp_path / "resumed"
    cfg = load_config(RayTrainConfig, None, overrides(two, 3, 2))
    train_ray(cfg)

    b = read_jsonl(two / "metrics.jsonl")
    assert [r["step"] for r in b] == [1, 2, 3]
    assert b[0]["learner/grad_norm"] > 0 and b[0]["learner/sequences"] == TASKS * GROUP
    first_batch = [e for e in episodes_of(two) if e.info["step"] == 0]
    one_rank = LearnerActor(to_dict(load_config(RayTrainConfig, None, overrides(tmp_path / "one", 3, 1))),
                            str(tmp_path / "one")).update(first_batch)
    for key in compared(one_rank):  # the whole batch's numbers, although each rank trained on half the groups
        assert b[0][key] == pytest.approx(one_rank[key], rel=1e-5, abs=1e-6), key
    assert 0 < b[0]["learner/rank_sequences"] < TASKS * GROUP

    ckpt = two / "checkpoints" / "step-000002" / "main"
    assert {p.name for p in ckpt.iterdir()} >= {"model", "sharded", "fsdp.pt", "rng-0.pt", "rng-1.pt"}
    assert len(list((ckpt / "sharded").glob("*.distcp"))) == 2  # one shard file per rank
    assert json.loads((ckpt / "model" / "config.json").read_text())["architectures"] == ["Qwen2ForCausalLM"]

    # The run folder as a run that stopped right after its checkpoint at step 2 leaves it.
    shutil.copytree(two, resumed, ignore=shutil.ignore_patterns("step-000003", "metrics.jsonl"))
    (resumed / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in b[:2]))
    killed: list[str] = []
    watcher = kill_rank_1_after(resumed / "metrics.jsonl", 3, killed)
    started = time.monotonic()
    with pytest.raises(LearnerRankError, match=r"learner rank 1 of 2 \(policy 'main'\) died.*resume from the newest "
                                               r"checkpoint \(.*step-0000\d\d\)"):
        train_ray(load_config(RayTrainConfig, None, overrides(resumed, 6, 2)))
    watcher.join(timeout=10)
    assert killed and time.monotonic() - started < 300

    c = read_jsonl(resumed / "metrics.jsonl")
    assert [r["step"] for r in c[:3]] == [1, 2, 3]
    assert c[2]["learner/start_version"] == 2  # update 3 ran on the loaded shards
    for key in compared(b[2]):
        assert c[2][key] == pytest.approx(b[2][key], abs=1e-6), key
