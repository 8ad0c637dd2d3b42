"""Sandbox speed, measured against its baselines in one run (needs a Docker engine and the base image:
`bash launch/setup_docker.sh`).

1. Start: cold `docker run --rm --network none BASE true` (CLI) and a cold DockerSandbox.create (same
   lock-down as the pool uses) vs acquiring from a warm SandboxPool. Goal: pool >= 10x faster, p50 <= 50 ms.
2. Exec round trip of `true`: `docker exec` (CLI), `exec_run` (Docker SDK), and our agent stream.
3. 64 sandboxes at once doing small work on this machine, through a pool; goal: 0 failures.

Usage: .venv/bin/python bench/sandbox.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

from agentrl.sandbox import DockerSandbox, SandboxLimits, SandboxPool, reap_orphans
from agentrl.sandbox.docker_backend import BASE_IMAGE, docker_client


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def row(name: str, xs: list[float]) -> dict:
    r = {"name": name, "n": len(xs), "p50_ms": 1e3 * statistics.median(xs), "p95_ms": 1e3 * pct(xs, 0.95)}
    print(f"  {name:<34} n={r['n']:<4} p50 {r['p50_ms']:8.1f} ms   p95 {r['p95_ms']:8.1f} ms")
    return r


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


async def bench_start(n: int) -> None:
    print("start a sandbox")
    subprocess.run(["docker", "run", "--rm", "--network", "none", BASE_IMAGE, "true"], check=True)  # warm the engine  # noqa: ASYNC221
    cli = row("cold docker run (CLI)", timed(lambda: subprocess.run(
        ["docker", "run", "--rm", "--network", "none", BASE_IMAGE, "true"], check=True), n))
    cold = []
    for _ in range(n):
        t = time.perf_counter()
        box = await DockerSandbox.create()
        cold.append(time.perf_counter() - t)
        await box.close()
    sdk = row("cold DockerSandbox.create (SDK)", cold)
    warm = []
    async with SandboxPool.docker(size=4) as pool:
        for _ in range(n):
            while pool.stats["idle"] < pool.size:  # measure a warm hand-out, not the refill
                await asyncio.sleep(0.05)
            t = time.perf_counter()
            async with pool.acquire():
                warm.append(time.perf_counter() - t)
    pooled = row("warm SandboxPool.acquire", warm)
    print(f"  ratio p50: docker run / pool = {cli['p50_ms'] / pooled['p50_ms']:.0f}x, "
          f"create / pool = {sdk['p50_ms'] / pooled['p50_ms']:.0f}x "
          f"(goal >= 10x; pool p50 {pooled['p50_ms']:.1f} ms, goal <= 50 ms)")


async def bench_exec(n: int) -> None:
    print("exec round trip of `true`")
    box = await DockerSandbox.create()
    try:
        cid = box.container_id
        cli = row("docker exec (CLI)", timed(lambda: subprocess.run(["docker", "exec", cid, "true"], check=True), n))
        container = docker_client().containers.get(cid)
        sdk = row("exec_run (Docker SDK)", timed(lambda: container.exec_run(["true"]), n))
        stream = []
        for _ in range(n):
            t = time.perf_counter()
            await box.exec("true")
            stream.append(time.perf_counter() - t)
        ours = row("agent stream (DockerSandbox.exec)", stream)
        print(f"  ratio p50: CLI / stream = {cli['p50_ms'] / ours['p50_ms']:.1f}x, "
              f"SDK / stream = {sdk['p50_ms'] / ours['p50_ms']:.1f}x")
    finally:
        await box.close()


async def bench_concurrent(count: int) -> None:
    print(f"{count} sandboxes alive at once, then each: write a file, run python on it, read the result")
    limits = SandboxLimits(memory=128 * 2**20, pids=64, disk=16 * 2**20, command_timeout=120)
    failures: list[str] = []
    all_up = asyncio.Barrier(count)
    start = time.perf_counter()
    async with SandboxPool.docker(limits=limits, size=8, max_live=count, max_concurrent_starts=4,
                                  acquire_timeout=600) as pool:
        async def work(i: int) -> None:
            try:
                async with pool.acquire() as box:
                    await asyncio.wait_for(all_up.wait(), 600)  # hold it until all are alive together
                    if i == 0:
                        print(f"  all {count} alive after {time.perf_counter() - start:.1f} s; "
                              f"running containers: {running_containers()}")
                    t = time.perf_counter()
                    await box.write_file("job.py", f"print(sum(range({i} * 1000)))")
                    r = await box.exec("python3 job.py > out.txt && cat out.txt")
                    work_s.append(time.perf_counter() - t)
                    expected = str(sum(range(i * 1000)))
                    if not r.ok or r.stdout.strip() != expected or (await box.read_file("out.txt")).strip() != expected.encode():
                        failures.append(f"{i}: {r}")
            except Exception as e:  # a failure is counted, not fatal: that is what we measure  # noqa: BLE001
                failures.append(f"{i}: {type(e).__name__}: {e}")

        work_s: list[float] = []
        await asyncio.gather(*(work(i) for i in range(count)))
    took = time.perf_counter() - start
    print(f"  {count} sandboxes, {len(failures)} failures, {took:.1f} s wall in all")
    if work_s:
        row(f"work, {count} at once (each)", work_s)
    for f in failures[:5]:
        print("   ", f[:300])


def running_containers() -> int:
    out = subprocess.run(["docker", "ps", "-q", "--filter", "label=agentrl.sandbox=1"], capture_output=True, text=True, check=False)
    return len(out.stdout.split())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--concurrent", type=int, default=64)
    args = parser.parse_args()
    n = 8 if args.quick else 20
    reap_orphans()
    await bench_start(n)
    await bench_exec(n * 5)
    await bench_concurrent(args.concurrent)


if __name__ == "__main__":
    asyncio.run(main())
