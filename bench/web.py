"""Web browser speed on the shop site, both backends in one run (needs Chromium: `bash launch/setup_chromium.sh`).

1. Actions per second: the scripted shopper plays the same test tasks through the text browser and through
   real headless Chromium; only env.step (parse the reply, act, read the page back) is timed.
2. Chromium context reset: a fresh context + the start page + the first observation, p50/p95 (text browser
   reset alongside for scale).
Prints the ratio text/chromium. One Chromium process serves every Chromium episode (as one env actor does).
3. MiniWoB++ episodes/s, ours vs the official `miniwob` gymnasium env in the same run: the same tasks and seeds,
   the oracle's actions (ours decided by the oracle each turn, replayed in the official env). Timed: reset +
   every step of each episode; official env construction (one chromedriver per task) and each env's first
   load of a task's page are not timed, as our browser launch is not. The official replay waits
   `ms_per_action` (200 ms) of wall-clock time before each step, as our replies cost that much page time; our
   virtual clock costs no wall-clock time, so the ratio is printed with those waits excluded (the env's own
   work on both sides) and, for reference, included.

Usage: .venv/bin/python bench/web.py [--episodes N] [--resets N] [--miniwob-tasks a,b] [--miniwob-seeds N]
       [--skip-shop]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import types

from agentrl.environments.web import miniwob as mw
from agentrl.environments.web import miniwob_official as mo
from agentrl.environments.web.browser import ChromiumBrowser, TextBrowser
from agentrl.environments.web.shop import AGENT, ShopEnv, scripted_policy, tasks


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


async def actions_per_second(env: ShopEnv, episodes: int) -> tuple[float, int]:
    """Scripted episodes on the first `episodes` test tasks; returns (actions/s over step time, actions)."""
    stepping, actions = 0.0, 0
    for task in tasks("test")[:episodes]:
        policy = scripted_policy(0)
        obs = await env.reset(task, 0)
        conversation, previous = list(obs[AGENT]), None
        while obs:
            turn = await policy.generate(AGENT, conversation, previous)
            conversation.append(turn.messages[-1])
            previous = turn
            start = time.perf_counter()
            result = await env.step({AGENT: turn.text})
            stepping += time.perf_counter() - start
            actions += 1
            obs = result.obs
            if obs:
                conversation.append({"role": "user", "content": obs[AGENT]})
        if "webshop" not in result.infos[AGENT] or result.infos[AGENT]["webshop"]["reward"] != 1.0:
            raise SystemExit(f"the scripted shopper failed {task.id} on {env.backend}; the bench would be wrong")
    return actions / stepping, actions


async def reset_times(env: ShopEnv, n: int) -> list[float]:
    out = []
    for i in range(n):
        task = tasks("test")[i % 50]
        start = time.perf_counter()
        await env.reset(task, 0)
        out.append(time.perf_counter() - start)
    return out


class _CountedSleep:
    """Stands in for `time` in miniwob_official: sleeps, and adds up how long (the replay's page-time waits)."""

    def __init__(self) -> None:
        self.total = 0.0

    def sleep(self, seconds: float) -> None:
        self.total += seconds
        time.sleep(seconds)


async def miniwob_side_by_side(names: list[str], seeds: int) -> None:
    waits = _CountedSleep()
    mo.time = types.SimpleNamespace(sleep=waits.sleep)  # miniwob_official uses time.sleep only
    browser = ChromiumBrowser()
    env = mw.MiniWoBEnv(browser=browser)
    ours_s = theirs_s = theirs_waits = 0.0
    episodes = agree = 0
    try:
        await mo.play_ours(env, names[0], 0, mo.oracle_policy)  # warm: browser launch
        for name in names:
            official = await asyncio.to_thread(mo.make_official, name)
            try:
                # both envs load the task's page once untimed (ours then re-seeds it, the official env always does)
                await asyncio.to_thread(official.reset, seed=0)
                await env.reset(mw.Task(id="warm", env_kwargs={"task": name, "seed": 0}), 0)
                for seed in range(seeds):
                    start = time.perf_counter()
                    ours = await mo.play_ours(env, name, seed, mo.oracle_policy)
                    ours_s += time.perf_counter() - start
                    start, waited = time.perf_counter(), waits.total
                    theirs = await asyncio.to_thread(mo.play_official, official, seed, ours.steps)
                    theirs_s += time.perf_counter() - start
                    theirs_waits += waits.total - waited
                    episodes += 1
                    agree += ours.same(theirs)
                    if not ours.same(theirs):
                        print(f"  differs: {name} seed {seed}: {mo.explain(ours, theirs)}")
            finally:
                await asyncio.to_thread(official.close)
    finally:
        await env.close()
        await browser.close()
    print(f"MiniWoB++, oracle episodes on {len(names)} tasks x seeds 0-{seeds - 1} ({episodes} episodes each, "
          f"{agree} with the same utterance, raw reward and done)")
    print(f"  episodes/s  ours (web/MiniWoB-v0)  {episodes / ours_s:7.2f}  ({ours_s:.1f} s)")
    work_s = theirs_s - theirs_waits
    print(f"  episodes/s  official miniwob env   {episodes / work_s:7.2f}  ({work_s:.1f} s without its "
          f"{theirs_waits:.1f} s of waits before steps)")
    print(f"  ratio ours/official: {work_s / ours_s:.2f}x  (official waits included: {theirs_s / ours_s:.2f}x)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=10, help="scripted episodes per backend")
    parser.add_argument("--resets", type=int, default=30, help="context resets to time per backend")
    parser.add_argument("--miniwob-tasks", default=",".join(mw.BASIC_TASKS), help="comma-separated task names")
    parser.add_argument("--miniwob-seeds", type=int, default=5)
    parser.add_argument("--skip-shop", action="store_true")
    args = parser.parse_args()
    await miniwob_side_by_side([t for t in args.miniwob_tasks.split(",") if t], args.miniwob_seeds)
    if args.skip_shop:
        return

    chromium = ChromiumBrowser()
    start = time.perf_counter()
    await chromium.start()
    launch = time.perf_counter() - start
    text_env, chrome_env = ShopEnv(browser=TextBrowser()), ShopEnv(browser=chromium)
    try:
        await reset_times(text_env, 2)  # warm both (imports, first context, page caches)
        await reset_times(chrome_env, 2)
        text_aps, text_n = await actions_per_second(text_env, args.episodes)
        chrome_aps, chrome_n = await actions_per_second(chrome_env, args.episodes)
        text_reset = await reset_times(text_env, args.resets)
        chrome_reset = await reset_times(chrome_env, args.resets)
    finally:
        await text_env.close()
        await chrome_env.close()
        await chromium.close()

    print(f"shop site, scripted shopper, {args.episodes} test tasks per backend (chromium launch {launch:.2f} s)")
    print(f"  actions/s   text browser {text_aps:8.1f}  ({text_n} actions)")
    print(f"  actions/s   chromium     {chrome_aps:8.1f}  ({chrome_n} actions)")
    print(f"  ratio text/chromium actions/s: {text_aps / chrome_aps:.1f}x")
    for name, xs in (("chromium context reset", chrome_reset), ("text browser reset", text_reset)):
        print(f"  {name:<24} n={len(xs):<3} p50 {1e3 * statistics.median(xs):7.1f} ms   "
              f"p95 {1e3 * pct(xs, 0.95):7.1f} ms")
    print(f"  ratio chromium/text reset p50: {statistics.median(chrome_reset) / statistics.median(text_reset):.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
