"""Steps per second of the wrapped driving env vs the raw highway-env simulator, in the same run.

    python bench/traffic.py [--steps 30] [--agents 2 4 8]

For N controlled vehicles, the same seed and the same joint IDLE actions run on: highway-env directly
(baseline), `DrivingParallelEnv` (PettingZoo, infos for text) and `DrivingEnv` (agentrl contract, text in and
out, through ContractGuard). Prints steps/s and the wrapper overhead; the goal is <= 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from agentrl.env import ContractGuard  # noqa: E402
from agentrl.environments.traffic.driving import DrivingEnv, DrivingParallelEnv  # noqa: E402
from agentrl.types import Task  # noqa: E402

CONFIG = {"duration": 10_000, "simulation_frequency": 5, "vehicles_count": 20}


def raw_rate(n: int, steps: int) -> float:
    sim = DrivingParallelEnv("highway", n_agents=n, config=CONFIG).sim  # the raw highway-env object
    sim.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        sim.step((1,) * n)
    return steps / (time.perf_counter() - start)


def parallel_rate(n: int, steps: int) -> float:
    env = DrivingParallelEnv("highway", n_agents=n, config=CONFIG)
    env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps):
        env.step({a: 1 for a in env.possible_agents})  # crashed agents keep IDLE, as in the raw run
    return steps / (time.perf_counter() - start)


async def contract_rate(n: int, steps: int) -> float:
    env = ContractGuard(DrivingEnv("highway", n_agents=n, config=CONFIG), "traffic/Highway-v0")
    obs = await env.reset(Task(id="bench"), seed=0)
    start = time.perf_counter()
    done = 0
    for _ in range(steps):
        if not obs:
            break
        obs = (await env.step({a: "IDLE" for a in obs})).obs
        done += 1
    rate = done / (time.perf_counter() - start)
    await env.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--agents", type=int, nargs="+", default=[2, 4, 8])
    args = parser.parse_args()
    print(f"{'agents':>6} {'raw steps/s':>12} {'parallel':>10} {'overhead':>9} {'contract':>10} {'overhead':>9}")
    for n in args.agents:
        raw = raw_rate(n, args.steps)
        par = parallel_rate(n, args.steps)
        con = asyncio.run(contract_rate(n, args.steps))
        print(f"{n:>6} {raw:>12.1f} {par:>10.1f} {raw / par - 1:>8.1%} {con:>10.1f} {raw / con - 1:>8.1%}")


if __name__ == "__main__":
    main()
