"""The Ray executor: episodes in env actors of a local Ray cluster (127.0.0.1), written by the driver's RunStore.

The same scripted evaluation run in-process and through Ray must give the same episodes and the same
summary.json (wall times aside, which `comparable` drops); a run started by one executor resumes under the
other. One test, one Ray start (a few seconds on two cores), no process left behind.
"""

from __future__ import annotations

import json
import os
import shutil

import psutil
import pytest

from agentrl.evaluation import AsyncioExecutor, EvalSpec, comparable, evaluate
from agentrl.evaluation.ray_executor import RayExecutor
from agentrl.evaluation.store import EPISODES, MANIFEST, episode_key, read_episodes

# bisection needs up to 5 guesses for 1..16: with 3 turns some episodes succeed and some are truncated
SPEC = EvalSpec("games/GuessNumber-v0", tasks="test/:8", samples=2, max_turns=3)


def trajectories(run) -> dict:
    return {episode_key(e): ([t.text for t in e.turns], e.status.value, dict(e.reward), dict(e.outcome_rewards))
            for e in read_episodes(run / EPISODES)}


def summary(run) -> dict:
    return comparable(json.loads((run / "summary.json").read_text()))


@pytest.mark.ray
def test_ray_and_local_executors_give_the_same_run(tmp_path):
    import ray

    assert not ray.is_initialized()
    local = tmp_path / "local"
    evaluate(SPEC, local, executor=AsyncioExecutor(4), progress=False)

    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    via_ray = tmp_path / "ray"
    evaluate(SPEC, via_ray, executor=RayExecutor(actors=2, concurrency=4, num_cpus=2), progress=False)
    assert not ray.is_initialized()  # the executor started the local cluster, so it shut it down
    assert trajectories(via_ray) == trajectories(local)
    assert summary(via_ray) == summary(local)
    assert {s.value for s in _statuses(local)} == {"ok", "truncated"}  # a run with both outcomes

    # the first 7 episodes written through Ray, the rest resumed in process: one writer, one format
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copyfile(via_ray / MANIFEST, resumed / MANIFEST)
    lines = (via_ray / EPISODES).read_text().splitlines(keepends=True)
    (resumed / EPISODES).write_text("".join(lines[:7]))
    evaluate(SPEC, resumed, executor=AsyncioExecutor(4), progress=False)
    assert summary(resumed) == summary(local) and trajectories(resumed) == trajectories(local)
    assert len((resumed / EPISODES).read_text().splitlines()) == 16  # nothing lost or written twice

    ray_episodes = read_episodes(via_ray / EPISODES)
    assert {e.info["eval"]["actor"] for e in ray_episodes} == {0, 1}  # both actors played
    assert os.getpid() not in {e.info["eval"]["pid"] for e in ray_episodes}  # ...in other processes
    _assert_no_process_left(children_before)


def _statuses(run):
    return [e.status for e in read_episodes(run / EPISODES)]


def _assert_no_process_left(before: set[int], timeout: float = 60) -> None:
    alive = psutil.wait_procs([p for p in psutil.Process().children(recursive=True) if p.pid not in before
                              and "resource_tracker" not in " ".join(p.cmdline())], timeout=timeout)[1]
    assert not alive, f"processes left behind by the Ray executor: {[p.cmdline()[:3] for p in alive]}"
