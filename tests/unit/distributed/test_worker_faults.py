"""A rollout worker whose engine died exits so Ray restarts it; the driver's shutdown never hides the run's error.
Fakes stand in for the engine and the cluster (the real ones: tests/integration/ray, bench/chaos.py)."""

from __future__ import annotations

import asyncio

import pytest

from agentrl.distributed import actors
from agentrl.distributed.actors import RolloutWorker
from agentrl.distributed.driver import Driver


class Engine:
    def __init__(self, dead: bool):
        self.errored = dead
        self.dead_error = RuntimeError("EngineCore process died")


class Policy:
    version = 0

    def __init__(self, dead: bool):
        self.engine = Engine(dead)

    async def generate(self, agent, messages, previous):
        raise RuntimeError("engine failure")


def worker(dead: bool) -> RolloutWorker:
    w = RolloutWorker.__new__(RolloutWorker)  # no engine to build: the fake policy is the engine
    w.index, w.policy, w._in_flight, w._drained = 0, Policy(dead), 0, None
    w._open, w._caught_up = asyncio.Event(), asyncio.Event()
    w._open.set()
    w._caught_up.set()
    w.stats = {"requests": 0, "completion_tokens": 0, "busy_s": 0.0}
    return w


@pytest.mark.parametrize("dead", [True, False])
def test_worker_exits_only_when_its_engine_is_dead(monkeypatch, dead):
    exits = []
    monkeypatch.setattr(actors.os, "_exit", exits.append)

    async def go():
        w = worker(dead)
        for _ in range(2):  # the calls in flight fail with the engine's own error; one exit is scheduled
            with pytest.raises(RuntimeError, match="engine failure"):
                await w.generate("a", [], None, seed=0)
        await asyncio.sleep(0.8)

    asyncio.run(go())
    assert exits == ([1] if dead else [])


class Cluster:
    def shutdown(self):
        raise RuntimeError("ray is gone")


def test_shutdown_failure_does_not_hide_the_runs_error(capsys):
    task_list: dict = {}
    Driver._shutdown(task_list, Cluster(), failing=ValueError("the learner died"))  # printed, not raised
    assert "ValueError: the learner died" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="ray is gone"):  # a clean run still reports a broken shutdown
        Driver._shutdown(task_list, Cluster())
