"""Full sweep of web/MiniWoB-v0 against the official `miniwob` gymnasium env: every task with an oracle x seeds,
the oracle's actions and one wrong action, replayed in both envs; prints matches out of total and every
mismatch with what differed (utterance, raw reward, done), plus how many seeds the oracle solved.

Usage: .venv/bin/python bench/miniwob_sweep.py [--seeds 10] [--tasks a,b,...] [--out FILE] [--report] [--isolation]

Every episode is appended to `--out` (JSONL, one record per task x seed x policy) as soon as it ends, and a run
skips the episodes already there, so a sweep that is stopped or killed resumes where it was. The episodes run in
a worker process that the sweep restarts when it dies or stops writing for `--stall` seconds (a hung page, a
crashed browser): the episode it was on is recorded as an error and the next one goes on. `--report` prints
the totals from the file without running anything.
`--isolation` also checks that a re-seeded page reads exactly like a freshly loaded one for every task.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

POLICIES = ("oracle", "wrong")
DEFAULT_OUT = "runs/miniwob_sweep.jsonl"


def episodes(names: Sequence[str], seeds: int) -> Iterator[tuple[str, int, str]]:
    """The sweep's episodes in the order the worker plays them (the supervisor relies on it to know which
    episode a stalled worker was on)."""
    for name in names:
        for seed in range(seeds):
            for policy in POLICIES:
                yield name, seed, policy


def load(path: pathlib.Path) -> dict[tuple[str, int, str], dict]:
    """The records in `path`, the last one per episode winning (a retried episode replaces its error)."""
    done: dict[tuple[str, int, str], dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a kill: that episode runs again
                continue
            done[(rec["task"], rec["seed"], rec["policy"])] = rec
    return done


def append(path: pathlib.Path, rec: dict) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _outcome(o) -> dict | None:
    return None if o is None else {"utterance": o.utterance, "raw": o.raw_reward, "done": o.done, "reward": o.reward}


# -- the worker: plays the episodes not yet in the file ----------------------------------------------------

async def isolation(browser, names: list[str]) -> list[str]:
    """Tasks whose re-seeded page differs from a fresh load of the same seed."""
    from agentrl.environments.web import miniwob as mw
    from agentrl.environments.web import miniwob_official as mo
    from agentrl.types import Task

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


async def work(names: list[str], seeds: int, out: pathlib.Path, retry_errors: bool) -> None:
    from agentrl.environments.web import miniwob as mw
    from agentrl.environments.web import miniwob_official as mo
    from agentrl.environments.web.browser import ChromiumBrowser

    policies = {"oracle": mo.oracle_policy, "wrong": mo.wrong_policy}
    done = load(out)

    def todo(key: tuple[str, int, str]) -> bool:
        return key not in done or (retry_errors and done[key]["why"].startswith("error"))

    browser = ChromiumBrowser()
    env = mw.MiniWoBEnv(browser=browser)
    try:
        for name in names:
            keys = [k for k in episodes([name], seeds) if todo(k)]
            if not keys:
                continue
            try:
                official = await asyncio.to_thread(mo.make_official, name)
            except Exception as e:  # noqa: BLE001 -- recorded per episode; the other tasks go on
                for key in keys:
                    append(out, {"task": name, "seed": key[1], "policy": key[2], "match": False,
                                 "why": f"error make_official {type(e).__name__}: {str(e)[:300]}", "steps": []})
                print(f"  {name}: the official env did not start ({type(e).__name__})", flush=True)
                continue
            try:
                for _, seed, pname in keys:
                    t0 = time.perf_counter()
                    ours = theirs = None
                    try:
                        ours = await mo.play_ours(env, name, seed, policies[pname])
                        theirs = await asyncio.to_thread(mo.play_official, official, seed, ours.steps)
                        why = mo.explain(ours, theirs)
                    except Exception as e:  # a crash is a mismatch to explain, not the end of the sweep  # noqa: BLE001
                        why = f"error {type(e).__name__}: {str(e)[:300]}"
                    rec = {"task": name, "seed": seed, "policy": pname, "match": why == "same", "why": why,
                           "steps": [str(s.action) for s in ours.steps] if ours else [],
                           "ours": _outcome(ours), "official": _outcome(theirs),
                           "secs": round(time.perf_counter() - t0, 2)}
                    append(out, rec)
                    if why != "same":
                        print(f"  MISMATCH {name} seed {seed} {pname}: {why} {rec['steps']}", flush=True)
            finally:
                await asyncio.to_thread(official.close)
            recs = [r for k, r in load(out).items() if k[0] == name and k[1] < seeds]
            print(f"  {name}: {sum(r['match'] for r in recs)}/{len(recs)} match", flush=True)
    finally:
        await env.close()
        await browser.close()


# -- the supervisor: restarts a worker that died or stalled ------------------------------------------------

def supervise(args: argparse.Namespace, names: list[str], out: pathlib.Path) -> None:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--seeds", str(args.seeds), "--out", str(out),
           "--tasks", ",".join(names)]
    first = True
    while True:
        pending = [k for k in episodes(names, args.seeds) if k not in load(out)]
        if not pending and not (first and args.retry_errors):
            return
        # a new session, so that the kill below reaches the worker's Chromium and chromedriver too
        proc = subprocess.Popen(cmd + (["--retry-errors"] if first and args.retry_errors else []),
                                start_new_session=True)
        first, t0 = False, time.time()
        while proc.poll() is None:
            time.sleep(2)
            last = max(out.stat().st_mtime if out.exists() else 0.0, t0)
            if time.time() - last > args.stall:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        pending = [k for k in episodes(names, args.seeds) if k not in load(out)]
        if not pending:
            return
        if proc.returncode == 0:
            raise SystemExit(f"the worker ended with {len(pending)} episodes not recorded, first {pending[0]}")
        task, seed, policy = pending[0]
        why = (f"error worker stalled (no episode ended in {args.stall:.0f} s)" if proc.returncode == -signal.SIGKILL
               else f"error worker exited with {proc.returncode}")
        append(out, {"task": task, "seed": seed, "policy": policy, "match": False, "why": why, "steps": []})
        print(f"  MISMATCH {task} seed {seed} {policy}: {why}; restarting the worker", flush=True)


def report(names: list[str], seeds: int, out: pathlib.Path) -> None:
    recs = load(out)
    rows = [recs[k] for k in episodes(names, seeds) if k in recs]
    covered = sorted({r["task"] for r in rows}, key=names.index)
    full = [t for t in covered if all((t, s, p) in recs for s in range(seeds) for p in POLICIES)]
    print(f"MiniWoB++ sweep: {len(full)} of {len(names)} tasks x seeds 0-{seeds - 1} complete "
          f"({len(rows)}/{len(names) * seeds * len(POLICIES)} episodes in {out})")
    for policy in POLICIES:
        mine = [r for r in rows if r["policy"] == policy]
        print(f"  {policy}: {sum(r['match'] for r in mine)}/{len(mine)} match the official env")
    print(f"  all: {sum(r['match'] for r in rows)}/{len(rows)}")
    oracle = [r for r in rows if r["policy"] == "oracle"]
    print(f"  oracle solved (raw 1.0 ours): {sum(bool(r.get('ours')) and r['ours']['raw'] == 1.0 for r in oracle)}"
          f"/{len(oracle)}")
    print(f"  errors: {sum(r['why'].startswith('error') for r in rows)}")
    bad: dict[str, list[dict]] = {}
    for r in rows:
        if not r["match"]:
            bad.setdefault(r["task"], []).append(r)
    print(f"  mismatching tasks: {len(bad)}")
    for task, rs in bad.items():
        which = ", ".join(f"{r['policy']} s{r['seed']}" for r in rs)
        print(f"  {task}: {len(rs)} ({which})")
        for r in rs:
            why = r["why"].splitlines()[0] if r["why"] else ""  # Selenium appends a native stack trace
            print(f"    seed {r['seed']} {r['policy']}: {why} {r['steps']}")
    missing = [t for t in names if t not in full]
    if missing:
        print(f"  not complete: {len(missing)} tasks: {','.join(missing)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: every task in TASKS)")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"JSONL results, appended and resumed (default {DEFAULT_OUT})")
    parser.add_argument("--stall", type=float, default=240.0, help="seconds without an ended episode before the "
                        "worker is killed and its episode recorded as an error")
    parser.add_argument("--retry-errors", action="store_true", help="play again the episodes recorded as errors")
    parser.add_argument("--report", action="store_true", help="only print the totals from --out")
    parser.add_argument("--isolation", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tasks:
        names = [t for t in args.tasks.split(",") if t]
    else:
        from agentrl.environments.web import miniwob as mw

        names = list(mw.TASKS)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.worker:
        asyncio.run(work(names, args.seeds, out, args.retry_errors))
        return
    if not args.report:
        start = time.perf_counter()
        supervise(args, names, out)
        print(f"sweep ran {time.perf_counter() - start:.0f} s")
    report(names, args.seeds, out)
    if args.isolation:
        asyncio.run(_isolation(names))


async def _isolation(names: list[str]) -> None:
    from agentrl.environments.web.browser import ChromiumBrowser

    browser = ChromiumBrowser()
    try:
        leaks = await isolation(browser, names)
    finally:
        await browser.close()
    print(f"  isolation: re-seeded pages differing from a fresh load (not in RELOAD_TASKS): {leaks or 'none'}")


if __name__ == "__main__":
    main()
