"""Wrapped driving env vs the raw highway-env simulator, and env step time vs a turn's generation time.

    python bench/traffic.py [--steps 20] [--trials 9] [--agents 2 4 8] [--model tiny|smollm2-135m|none]

Overhead: for N controlled vehicles the same seed and the same joint IDLE actions run on highway-env
directly (baseline), on `DrivingParallelEnv` (PettingZoo, with the infos text observations need) and on
`DrivingEnv` (agentrl's contract: text in and out, through ContractGuard). The machine is shared and its
load drifts, so the three are measured in interleaved trials (raw, parallel, contract, raw, ...; the order
rotates every trial) in this one process, each trial timing `--steps` steps after a reset; the overhead is
the median over trials of (wrapped time / raw time of the same trial) - 1, timed in process CPU time
(wall time on a shared machine counts other tenants' work). Goal: <= 10 %.

Generation share: the contract env's median CPU time for one joint step, divided by the median wall time vLLM
(CPU build) takes to generate one turn for every agent (one request per agent, concurrently, from the
agents' real first observations; `--max-tokens` tokens each). `--model tiny` is the random 2-layer model
`agentrl.models.build_tiny_model` builds; `smollm2-135m` the pretrained SmolLM2-135M-Instruct; `none` skips it.
The load average is printed with the results, since every number here depends on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")

from agentrl.env import ContractGuard  # noqa: E402
from agentrl.environments.traffic.driving import DrivingEnv, DrivingParallelEnv  # noqa: E402
from agentrl.types import Task  # noqa: E402

CONFIG = {"duration": 10_000, "simulation_frequency": 5, "vehicles_count": 20}
# The env runs in this process (the contract env's steps in worker threads): its CPU time is what the wrappers
# cost, and unlike wall time it does not count the time other tenants of a loaded machine hold the cores.
CLOCK = time.process_time


class Raw:
    """highway-env itself, stepped with the joint action tuple."""

    def __init__(self, n: int):
        self.n = n
        self.sim = DrivingParallelEnv("highway", n_agents=n, config=CONFIG).sim

    def trial(self, steps: int) -> float:
        self.sim.reset(seed=0)
        start = CLOCK()
        for _ in range(steps):
            self.sim.step((1,) * self.n)
        return CLOCK() - start


class Parallel:
    """The PettingZoo parallel env (crashed agents keep IDLE, as in the raw run)."""

    def __init__(self, n: int):
        self.env = DrivingParallelEnv("highway", n_agents=n, config=CONFIG)
        self.actions = {a: 1 for a in self.env.possible_agents}

    def trial(self, steps: int) -> float:
        self.env.reset(seed=0)
        start = CLOCK()
        for _ in range(steps):
            self.env.step(self.actions)
        return CLOCK() - start


class Contract:
    """agentrl's contract: text observations out, action names in, through ContractGuard."""

    def __init__(self, n: int):
        self.env = ContractGuard(DrivingEnv("highway", n_agents=n, config=CONFIG), "traffic/Highway-v0")
        self.loop = asyncio.new_event_loop()
        self.first_obs: dict = {}

    async def _trial(self, steps: int) -> float:
        obs = await self.env.reset(Task(id="bench"), seed=0)
        self.first_obs = obs
        start = CLOCK()
        for _ in range(steps):
            # every possible agent replies, as the raw run steps every vehicle; finished ones are ignored
            obs = (await self.env.step({a: "IDLE" for a in obs} or {})).obs if obs else obs
        return CLOCK() - start

    def trial(self, steps: int) -> float:
        return self.loop.run_until_complete(self._trial(steps))

    def close(self) -> None:
        self.loop.run_until_complete(self.env.close())
        self.loop.close()


def overhead(n: int, steps: int, trials: int) -> dict[str, float]:
    """Median per-trial ratios against the raw simulator, from interleaved trials."""
    runners = {"raw": Raw(n), "parallel": Parallel(n), "contract": Contract(n)}
    for r in runners.values():  # warm-up: imports, caches, first-reset costs
        r.trial(2)
    times: dict[str, list[float]] = {k: [] for k in runners}
    order = list(runners)
    for t in range(trials):
        for name in order[t % 3:] + order[:t % 3]:
            times[name].append(runners[name].trial(steps))
    runners["contract"].close()
    ratios = {k: statistics.median(w / r for w, r in zip(times[k], times["raw"])) for k in ("parallel", "contract")}
    return {"raw_steps_s": steps / statistics.median(times["raw"]),
            "parallel_steps_s": steps / statistics.median(times["parallel"]),
            "contract_steps_s": steps / statistics.median(times["contract"]),
            "parallel_overhead": ratios["parallel"] - 1, "contract_overhead": ratios["contract"] - 1,
            "contract_step_s": statistics.median(times["contract"]) / steps}


def generation_turn_seconds(model: str, observations: dict[int, dict], max_tokens: int, trials: int) -> dict[int, float]:
    """Median seconds for one turn of every agent (concurrent requests), per agent count."""
    from agentrl.policies.vllm import VLLMPolicy

    engine = VLLMPolicy(model, max_tokens=max_tokens, temperature=1.0, max_model_len=4096,
                        gpu_memory_utilization=0.1, dtype="float32")
    try:
        async def turn(obs: dict, k: int) -> float:
            # a distinct first line per trial: the prefix cache cannot serve a trial from an earlier one
            prompts = {a: [{**m[0], "content": f"[{k}] {m[0]['content']}"}, *m[1:]] for a, m in obs.items()}
            start = time.perf_counter()  # the engine computes in its own processes: wall time
            await asyncio.gather(*(engine.generate(a, p) for a, p in prompts.items()))
            return time.perf_counter() - start

        out = {}
        for n, obs in observations.items():
            asyncio.run(turn(obs, -1))  # warm-up
            out[n] = statistics.median(asyncio.run(turn(obs, k)) for k in range(trials))
        return out
    finally:
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--trials", type=int, default=9)
    parser.add_argument("--agents", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--model", default="tiny", help="tiny, smollm2-135m, a model folder, or none")
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    rows, observations = {}, {}
    for n in args.agents:
        rows[n] = overhead(n, args.steps, args.trials)
        contract = Contract(n)  # the agents' first observations, as the model would see them
        contract.trial(0)
        observations[n] = contract.first_obs
        contract.close()
    gen = {}
    if args.model != "none":
        model = args.model
        if model == "tiny":
            from agentrl.models import build_tiny_model

            model = str(build_tiny_model(max_position=4096))
        gen = generation_turn_seconds(model, observations, args.max_tokens, args.trials)
    print(f"{'agents':>6} {'raw steps/s':>12} {'parallel':>9} {'overhead':>9} {'contract':>9} {'overhead':>9}"
          f" {'env step s':>10} {'turn gen s':>10} {'env/gen':>8}")
    for n, r in rows.items():
        g = gen.get(n)
        tail = f" {g:>10.4f} {r['contract_step_s'] / g:>7.1%}" if g else ""
        print(f"{n:>6} {r['raw_steps_s']:>12.1f} {r['parallel_steps_s']:>9.1f} {r['parallel_overhead']:>8.1%} "
              f"{r['contract_steps_s']:>9.1f} {r['contract_overhead']:>8.1%} {r['contract_step_s']:>10.4f}{tail}")
    print(f"overheads: median over {args.trials} interleaved trials of {args.steps} steps (wrapped / raw of the "
          f"same trial); generation: {args.model}, {args.max_tokens} tokens per agent per turn")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
