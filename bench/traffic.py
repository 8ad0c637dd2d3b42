"""Wrapped driving env vs the raw highway-env simulator, and env step time vs a turn's generation time.

    python bench/traffic.py [--steps 20] [--trials 9] [--agents 2 4 8] [--model tiny|smollm2-135m|none]

Overhead: for N controlled vehicles the same seed and the same joint IDLE actions run on highway-env
directly (baseline), on `DrivingParallelEnv` (PettingZoo, with the infos text observations need) and on
`DrivingEnv` (agentrl's contract: text in and out, through ContractGuard, the simulator stepped in a worker
thread as in a rollout). Each trial resets the three to seed t and steps them in lockstep: every step each of
them steps once, in an order that rotates every step, so the load drift of a shared machine (CPU time per
instruction changes with the other tenants' cache and core use) hits the three alike. A trial ends after
`--steps` steps or when the wrapped episode ends (every agent crashed or arrived), so raw and wrapped always
time the same simulator steps; resets are not timed. Time is process CPU time (it counts the worker thread;
wall time would count other tenants' work). The overhead is (wrapped time / raw time of the same trial) - 1;
printed as the median and quartiles over the trials. Goal: <= 10 %.

Generation share: the contract env's CPU time for one joint step (median over trials), divided by the median wall time vLLM
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

from agentrl.env import ContractGuard
from agentrl.environments.traffic.driving import DrivingEnv, DrivingParallelEnv
from agentrl.types import Task

CONFIG = {"duration": 10_000, "simulation_frequency": 5, "vehicles_count": 20}
# The env runs in this process (the contract env's steps in worker threads): its CPU time is what the wrappers
# cost, and unlike wall time it does not count the time other tenants of a loaded machine hold the cores.
CLOCK = time.process_time


class Raw:
    """highway-env itself, stepped with the joint action tuple."""

    def __init__(self, n: int):
        self.joint = (1,) * n  # IDLE for every controlled vehicle
        self.sim = DrivingParallelEnv("highway", n_agents=n, config=CONFIG).sim

    def reset(self, seed: int) -> None:
        self.sim.reset(seed=seed)

    def step(self) -> float:
        start = CLOCK()
        self.sim.step(self.joint)
        return CLOCK() - start


class Parallel:
    """The PettingZoo parallel env (crashed agents keep IDLE, as in the raw run)."""

    def __init__(self, n: int):
        self.env = DrivingParallelEnv("highway", n_agents=n, config=CONFIG)
        self.actions = {a: 1 for a in self.env.possible_agents}

    @property
    def done(self) -> bool:
        return not self.env.agents

    def reset(self, seed: int) -> None:
        self.env.reset(seed=seed)

    def step(self) -> float:
        start = CLOCK()
        self.env.step(self.actions)
        return CLOCK() - start


class Contract:
    """agentrl's contract: text observations out, action names in, through ContractGuard."""

    def __init__(self, n: int):
        self.env = ContractGuard(DrivingEnv("highway", n_agents=n, config=CONFIG), "traffic/Highway-v0")
        self.loop = asyncio.new_event_loop()
        self.obs: dict = {}

    @property
    def done(self) -> bool:
        return not self.obs

    def reset(self, seed: int) -> None:
        self.obs = self.loop.run_until_complete(self.env.reset(Task(id="bench"), seed=seed))

    async def _step(self) -> float:
        actions = {a: "IDLE" for a in self.obs}  # every agent to act replies, as a rollout would
        start = CLOCK()  # inside the coroutine: the worker-thread hop counts, the benchmark's own loop entry not
        self.obs = (await self.env.step(actions)).obs
        return CLOCK() - start

    def step(self) -> float:
        return self.loop.run_until_complete(self._step())

    def close(self) -> None:
        self.loop.run_until_complete(self.env.close())
        self.loop.close()


def _trial(runners: dict, seed: int, steps: int) -> tuple[dict[str, float], int]:
    """One episode start, all runners in lockstep: per step every runner steps once (the order rotates every
    step), so load drift on a shared machine hits the three alike. Stops early when the wrapped episode ends,
    so raw and wrapped always time the same number of simulator steps."""
    for r in runners.values():
        r.reset(seed)
    spent = dict.fromkeys(runners, 0.0)
    order, done = list(runners), 0
    for k in range(steps):
        for name in order[k % 3:] + order[:k % 3]:
            spent[name] += runners[name].step()
        done += 1
        if runners["parallel"].done != runners["contract"].done:
            raise RuntimeError(f"seed {seed}: the wrapped envs disagree on the episode's end at step {k + 1}.")
        if runners["contract"].done:
            break
    return spent, done


def _spread(values: list[float]) -> tuple[float, float, float]:
    """Median and interquartile range."""
    q1, med, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return med, q1, q3


def overhead(n: int, steps: int, trials: int) -> dict:
    """Per-trial ratios against the raw simulator (trial t starts from seed t), median and quartiles."""
    runners = {"raw": Raw(n), "parallel": Parallel(n), "contract": Contract(n)}
    _trial(runners, seed=trials, steps=2)  # warm-up: imports, caches, the worker thread, first-reset costs
    spent: dict[str, list[float]] = {k: [] for k in runners}
    counts = []
    for t in range(trials):
        times, count = _trial(runners, seed=t, steps=steps)
        counts.append(count)
        for k, v in times.items():
            spent[k].append(v)
    runners["contract"].close()
    out = {"steps": counts}
    for k in runners:  # medians, as the overheads: one trial hit by a load spike does not move them
        out[f"{k}_steps_s"] = statistics.median(c / t for c, t in zip(counts, spent[k]))
    for k in ("parallel", "contract"):
        out[f"{k}_overhead"] = _spread([w / r - 1 for w, r in zip(spent[k], spent["raw"])])
    out["contract_step_s"] = statistics.median(t / c for t, c in zip(spent["contract"], counts))
    return out


def generation_turn_seconds(model: str, observations: dict[int, dict], max_tokens: int, trials: int) -> dict[int, float]:
    """Median seconds for one turn of every agent (concurrent requests), per agent count."""
    from agentrl.inference.vllm import VLLMPolicy

    engine = VLLMPolicy(model, max_tokens=max_tokens, temperature=1.0, max_model_len=4096,
                        dtype="float32")
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


def _pct(spread: tuple[float, float, float]) -> str:
    med, q1, q3 = spread
    return f"{med:+.1%} [{q1:+.1%}, {q3:+.1%}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--trials", type=int, default=9)
    parser.add_argument("--agents", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--model", default="tiny", help="tiny, smollm2-135m, a model folder, or none")
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()
    if args.trials < 2 or args.steps < 1:
        parser.error(f"--trials must be at least 2 (quartiles need two) and --steps at least 1; "
                     f"got --trials {args.trials} --steps {args.steps}.")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    rows, observations = {}, {}
    for n in args.agents:
        rows[n] = overhead(n, args.steps, args.trials)
        contract = Contract(n)  # the agents' first observations, as the model would see them
        contract.reset(seed=0)
        observations[n] = contract.obs
        contract.close()
    gen = {}
    if args.model != "none":
        model = args.model
        if model == "tiny":
            from agentrl.models import build_tiny_model

            model = str(build_tiny_model(max_position=4096))
        gen = generation_turn_seconds(model, observations, args.max_tokens, args.trials)
    print(f"{'agents':>6} {'raw steps/s':>11} {'parallel':>8} {'overhead [IQR]':>22} {'contract':>8} "
          f"{'overhead [IQR]':>22} {'env step s':>10} {'turn gen s':>10} {'env/gen':>7}")
    for n, r in rows.items():
        g = gen.get(n)
        tail = f" {g:>10.4f} {r['contract_step_s'] / g:>7.1%}" if g else ""
        print(f"{n:>6} {r['raw_steps_s']:>11.1f} {r['parallel_steps_s']:>8.1f} {_pct(r['parallel_overhead']):>22} "
              f"{r['contract_steps_s']:>8.1f} {_pct(r['contract_overhead']):>22} {r['contract_step_s']:>10.4f}{tail}")
    steps = ", ".join(f"{n}: {sum(r['steps'])}" for n, r in rows.items())
    print(f"overheads: median [quartiles] over {args.trials} trials (seeds 0..{args.trials - 1}) of up to {args.steps} "
          f"lockstep steps, wrapped / raw CPU time of the same trial - 1 (steps timed per agent count: {steps}); "
          f"generation: {args.model}, {args.max_tokens} tokens per agent per turn")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
