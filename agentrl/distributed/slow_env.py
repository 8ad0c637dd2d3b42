"""A wrapper that makes any registered env slow, to model envs whose steps take real time (a test suite in a
sandbox, a simulator, a web page) in benchmarks and tests of the schedules.

    distributed.setup: ["agentrl.distributed.slow_env:register"]   # registers debug/SlowEcho-v0
    env: {id: debug/SlowEcho-v0, kwargs: {step_delay: 0.2, reset_delay: 0.1}}

The delay is an `asyncio.sleep`, so a slow env occupies a slot in its env actor without using a CPU, as a
remote sandbox or simulator would. `jitter` adds a seeded uniform extra delay in [0, jitter] per call.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

from agentrl.types import Task

SLOW_ECHO = "debug/SlowEcho-v0"


class SlowEnv:
    def __init__(self, inner: str, step_delay: float = 0.1, reset_delay: float = 0.0, jitter: float = 0.0,
                 **inner_kwargs: Any):
        from agentrl import registry

        if min(step_delay, reset_delay, jitter) < 0:
            raise ValueError("SlowEnv delays must be >= 0 seconds.")
        self.inner = registry.make(inner, **inner_kwargs)
        self.possible_agents = self.inner.possible_agents
        self.step_delay, self.reset_delay, self.jitter = step_delay, reset_delay, jitter
        self.rng = random.Random(0)

    async def _wait(self, base: float) -> None:
        await asyncio.sleep(base + self.rng.uniform(0, self.jitter))

    async def reset(self, task: Task, seed: int) -> Mapping[str, Any]:
        self.rng = random.Random(seed)
        await self._wait(self.reset_delay)
        return await self.inner.reset(task, seed)

    async def step(self, actions: Mapping[str, str]) -> Any:
        await self._wait(self.step_delay)
        return await self.inner.step(actions)

    async def close(self) -> None:
        await self.inner.close()


def register_slow(slow_id: str, inner_id: str) -> None:
    """Register `slow_id` as `inner_id` behind a `SlowEnv`, with the inner env's tasks, rubric and turn limit."""
    from agentrl import registry

    inner = registry.spec(inner_id)
    registry.register(slow_id, SlowEnv, tasks=inner.tasks, rubric=inner.rubric, max_turns=inner.max_turns,
                      kwargs={"inner": inner_id}, description=f"{inner_id} with delayed reset/step")


def register() -> None:
    register_slow(SLOW_ECHO, "games/Echo-v0")
