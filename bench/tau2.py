"""tau2 episode throughput: gold replays through our env and reward, tau2's own way versus ours, in one run.

    python bench/tau2.py [--tasks 3] [--repeats 2]

For the first `--tasks` test tasks of airline, retail and telecom, each played `--repeats` times (training
plays a task several times per step, e.g. a GRPO group), a gold replay runs through `Tau2Env` and is scored:
- "tau2's way": each episode's environment from tau2's own constructor (parses the database files) and the
  score from tau2's untouched `evaluate_simulation` (two more file-parsed environments, both databases
  hashed), as this env did before caching;
- "ours": environments validated from the cached database bytes, gold hashes computed once per task.
Both phases score every episode and must agree. Prints episodes/s (process CPU time, which other work on a
shared machine perturbs less than wall time, and wall time) of both, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

# Run as a script, this file's folder leads sys.path and this file would shadow the tau2 package itself.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

from agentrl.environments.tool_use import tau2 as t2
from agentrl.rollout import run_episode

DOMAINS = ("airline", "retail", "telecom")


async def replay(domain: str, task_id: str, environment) -> dict:
    tau2_task = t2.tau2_tasks(domain, "test")[task_id]
    task = next(t for t in t2.tasks(domain, "test") if t.id == task_id)
    env = t2.Tau2Env(domain, environment=environment)
    episode = await run_episode(env, t2.GoldReplay(tau2_task).policies(), task, 0, max_turns=200)
    assert episode.status.value == "ok", episode.error
    return t2.tau2_record(episode)


def phase(jobs: list[tuple[str, str]], environment, score) -> tuple[list[float], float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    rewards = []
    for domain, task_id in jobs:
        record = asyncio.run(replay(domain, task_id, environment))
        rewards.append(score(domain, task_id, record["messages"], record["termination"]).reward)
    return rewards, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=3, help="test tasks per domain")
    parser.add_argument("--repeats", type=int, default=2, help="episodes per task")
    args = parser.parse_args()
    jobs = [(d, t.id) for d in DOMAINS for t in t2.tasks(d, "test")[:args.tasks] for _ in range(args.repeats)]
    for d in DOMAINS:  # imports, task files and prompts are loaded once for both phases, outside the timing
        t2.tau2_environment(d)
    theirs, cpu_before, wall_before = phase(jobs, t2.tau2_environment, t2.evaluate_with_tau2)
    ours, cpu_after, wall_after = phase(jobs, t2.new_environment, t2.evaluate)  # includes the one-off caching
    assert ours == theirs, f"rewards differ: tau2's {theirs} vs ours {ours}"
    n = len(jobs)
    print(f"{n} gold-replay episodes ({args.tasks} test tasks x {args.repeats} per domain), rewards agree "
          f"({sum(ours):.0f}/{n} score 1)")
    print(f"tau2's way: {n / cpu_before:6.2f} episodes/s CPU  {n / wall_before:6.2f} episodes/s wall")
    print(f"ours:       {n / cpu_after:6.2f} episodes/s CPU  {n / wall_after:6.2f} episodes/s wall")
    print(f"speedup:    {cpu_before / cpu_after:6.2f}x CPU  {wall_before / wall_after:6.2f}x wall")


if __name__ == "__main__":
    main()
