"""All-IDLE outcome rates on the intersection: the registered env next to highway-env's defaults.

    python bench/traffic_rates.py [--seeds 10] [--agents 2 4]

For each agent count, every controlled vehicle drives IDLE from seeds 0..S-1 on
- ``traffic/Intersection-v0`` as registered (5 Hz, mild mixed drivers, 13 s; no task config), and
- ``traffic/IntersectionRef-v0``: highway-env's own ``intersection-multi-agent-v1`` with its defaults.
Printed per row: episodes with any crash, per-vehicle crash rate, per-vehicle arrival rate, episodes where every
vehicle arrived, and the mean speed of the controlled vehicles (m/s, over their steps).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np

from agentrl import registry
from agentrl.environments.traffic import register_envs
from agentrl.environments.traffic.driving import DrivingParallelEnv


def rates(env_id: str, n: int, seeds: int) -> dict[str, float]:
    kwargs = {**registry.spec(env_id).kwargs, "n_agents": n}
    kwargs.pop("messages", None)
    env = DrivingParallelEnv(**kwargs)
    any_crash, crashed, arrived, all_arrived, speeds = 0, 0, 0, 0, []
    for seed in range(seeds):
        _, infos = env.reset(seed=seed)
        last = dict(infos)
        while env.agents:
            _, _, _, _, step_infos = env.step({a: env.action_names(a).index("IDLE") for a in env.agents})
            last.update(step_infos)
            speeds.extend(i["speed"] for i in step_infos.values())
        crashes = [bool(i["crashed"]) for i in last.values()]
        arrivals = [bool(i["arrived"]) for i in last.values()]
        any_crash += any(crashes)
        crashed += sum(crashes)
        arrived += sum(arrivals)
        all_arrived += all(arrivals)
    env.close()
    return {"episodes_with_crash": any_crash / seeds, "crash_rate": crashed / (seeds * n),
            "arrival_rate": arrived / (seeds * n), "all_arrived": all_arrived / seeds,
            "mean_speed": float(np.mean(speeds)) if speeds else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--agents", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args()
    register_envs(override=True)
    print(f"{'env':<28} {'agents':>6} {'ep. crash':>9} {'crash':>6} {'arrival':>7} {'all arr.':>8} {'speed':>6}")
    for n in args.agents:
        for env_id in ("traffic/Intersection-v0", "traffic/IntersectionRef-v0"):
            r = rates(env_id, n, args.seeds)
            print(f"{env_id:<28} {n:>6} {r['episodes_with_crash']:>9.0%} {r['crash_rate']:>6.0%} "
                  f"{r['arrival_rate']:>7.0%} {r['all_arrived']:>8.0%} {r['mean_speed']:>6.2f}")
    print(f"all-IDLE, seeds 0..{args.seeds - 1}; IntersectionRef-v0 is highway-env's intersection-multi-agent-v1 "
          "with its own defaults")


if __name__ == "__main__":
    main()
