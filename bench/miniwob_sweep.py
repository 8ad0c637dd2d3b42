"""Full sweep of web/MiniWoB-v0 against the official `miniwob` gymnasium env: every task with an oracle x seeds,
the oracle's actions and one wrong action, replayed in both envs; prints matches out of total and every
mismatch with what differed (utterance, raw reward, done), plus how many seeds the oracle solved.

Usage: .venv/bin/python bench/miniwob_sweep.py [--seeds 10] [--tasks a,b,...] [--isolation]
`--isolation` also checks that a re-seeded page reads exactly like a freshly loaded one for every task.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from agentrl.environments.web import miniwob as mw
from agentrl.environments.web import miniwob_official as mo
from agentrl.environments.web.browser import ChromiumBrowser
from agentrl.types import Task


async def isolation(browser: ChromiumBrowser, names: list[str]) -> list[str]:
    """Tasks whose re-seeded page differs from a fresh load of the same seed."""
    bad = []
    for name in names:
        fresh = mw.MiniWoBEnv(browser=browser, reseed=False)
        expected = (await fresh.reset(Task(id="x", env_kwargs={"task": name, "seed": 5}), 0))["agent"]
        await fresh.close()
        env = mw.MiniWoBEnv(browser=browser, reseed=True)
        await mo.play_ours(env, name, 2, mo.oracle_policy, max_turns=3)
        again = (await env.reset(Task(id="x", env_kwargs={"task": name, "seed": 5}), 0))["agent"]
        await env.close()
        if again != expected and name not in mw.RELOAD_TASKS:
            bad.append(name)
    return bad


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: every task in TASKS)")
    parser.add_argument("--isolation", action="store_true")
    args = parser.parse_args()
    names = [t for t in args.tasks.split(",") if t] or list(mw.TASKS)
    browser = ChromiumBrowser()
    env = mw.MiniWoBEnv(browser=browser)
    total = matched = solved = 0
    mismatches: list[str] = []
    rewards: dict[str, list[tuple[float, float, float, float]]] = {}  # oracle: raw ours/official, disc. ours/official
    start = time.perf_counter()
    try:
        for name in names:
            official = await asyncio.to_thread(mo.make_official, name)
            try:
                for seed in range(args.seeds):
                    for policy in (mo.oracle_policy, mo.wrong_policy):
                        try:
                            ours = await mo.play_ours(env, name, seed, policy)
                            theirs = await asyncio.to_thread(mo.play_official, official, seed, ours.steps)
                            why = mo.explain(ours, theirs)
                        except Exception as e:  # a crash is a mismatch to explain, not the end of the sweep  # noqa: BLE001
                            ours, why = None, f"error {type(e).__name__}: {str(e)[:160]}"
                        total += 1
                        if why == "same":
                            matched += 1
                        else:
                            steps = [str(s.action) for s in ours.steps] if ours else []
                            mismatches.append(f"{name} seed {seed} {policy.__name__}: {why} {steps}")
                            print(f"  MISMATCH {mismatches[-1]}", flush=True)  # a chunked or cut-short run keeps them
                        solved += bool(ours and policy is mo.oracle_policy and ours.raw_reward == 1.0)
                        if ours and policy is mo.oracle_policy and not why.startswith("error"):
                            rewards.setdefault(name, []).append(
                                (ours.raw_reward, theirs.raw_reward, ours.reward, theirs.reward))
            finally:
                await asyncio.to_thread(official.close)
            rows = rewards.get(name, [])
            means = " | ".join(f"{sum(c) / len(rows):.3f}" for c in zip(*rows)) if rows else "no oracle rows"
            print(f"  {name}: done ({matched}/{total} so far) | {means} |", flush=True)
        leaks = await isolation(browser, names) if args.isolation else None
    finally:
        await env.close()
        await browser.close()
    print(f"MiniWoB++ sweep: {len(names)} tasks x seeds 0-{args.seeds - 1}, oracle and wrong action "
          f"({time.perf_counter() - start:.0f} s)")
    print(f"  matches with the official env: {matched}/{total}")
    print(f"  oracle solved (raw 1.0): {solved}/{len(names) * args.seeds}")
    for line in mismatches:
        print(f"  MISMATCH {line}")
    print("  oracle rewards, means over seeds: | task | raw ours | raw official | discounted ours | discounted official |")
    for name, rows in rewards.items():
        means = [sum(col) / len(rows) for col in zip(*rows)]
        print(f"  | {name} | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    if leaks is not None:
        print(f"  isolation: re-seeded pages differing from a fresh load (not in RELOAD_TASKS): {leaks or 'none'}")


if __name__ == "__main__":
    asyncio.run(main())
