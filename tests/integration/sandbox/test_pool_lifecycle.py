"""The warm pool against a real engine: fast clean hand-outs and no leaks, whatever happens to the user."""

import asyncio
import os
import subprocess
import sys
import textwrap
import time

import pytest

from agentrl.sandbox import SandboxPool, reap_orphans
from agentrl.sandbox.pool import POOL_LABEL

from .conftest import LIMITS, our_containers

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="session")]


async def test_hands_out_clean_sandboxes_fast(pool):
    async with pool.acquire() as box:
        await box.write_file("dirty.txt", "left by the previous episode")
        first = box.container_id
    await asyncio.sleep(1.5)  # let the filler replace it
    start = time.perf_counter()
    async with pool.acquire() as box:
        took = time.perf_counter() - start
        assert box.container_id != first
        r = await box.exec("ls -A /work; ls /tmp | wc -l")
        assert r.stdout == "0\n"
    assert took < 0.25, f"warm acquire took {took:.3f} s"


async def test_cancel_and_crash_mid_use_leave_nothing(docker_ready):
    pool = SandboxPool.docker(limits=LIMITS, size=2)
    pool_label = None
    async with pool:
        started = asyncio.Event()

        async def episode():
            async with pool.acquire() as box:
                started.set()
                await box.exec("sleep 60")

        task = asyncio.create_task(episode())
        await started.wait()
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(RuntimeError, match="episode crashed"):
            async with pool.acquire() as box:
                pool_label = f"{POOL_LABEL}={box._client.api.inspect_container(box.container_id)['Config']['Labels'][POOL_LABEL]}"
                raise RuntimeError("episode crashed")
        assert pool.stats["in_use"] == 0
    assert pool_label and our_containers(pool_label) == []


async def test_dead_owner_leaves_nothing_behind(docker_ready):
    # A process that takes a sandbox and is SIGKILLed: its container goes with its connection (stdin closes,
    # the agent exits, the engine removes it), with no reaper involved.
    script = textwrap.dedent("""
        import asyncio, os, signal
        from agentrl.sandbox import DockerSandbox
        async def main():
            box = await DockerSandbox.create()
            print(box.container_id, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        asyncio.run(main())
    """)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)  # noqa: ASYNC221
    assert child.returncode == -9
    cid = child.stdout.strip()
    assert len(cid) == 64
    deadline = time.monotonic() + 10
    while subprocess.run(["docker", "ps", "-aq", "--filter", f"id={cid}"], capture_output=True, text=True, check=False).stdout.strip():  # noqa: ASYNC221
        assert time.monotonic() < deadline, f"container {cid[:12]} of a dead owner is still there"
        await asyncio.sleep(0.2)


async def test_reaper_removes_orphans_of_dead_owners_only(docker_ready):
    from agentrl.sandbox.docker_backend import BASE_IMAGE, docker_client
    from agentrl.sandbox.owner import owner_id

    host = owner_id().split("/")[0]
    client = docker_client()
    dead = client.containers.create(BASE_IMAGE, ["sleep", "60"], network_mode="none",
                                    labels={"agentrl.sandbox": "1", "agentrl.owner": f"{host}/999999999/1"})
    alive = client.containers.create(BASE_IMAGE, ["sleep", "60"], network_mode="none",
                                     labels={"agentrl.sandbox": "1", "agentrl.owner": owner_id(os.getpid())})
    try:
        removed = reap_orphans()
        assert dead.id in removed and alive.id not in removed
    finally:
        for c in (dead, alive):
            subprocess.run(["docker", "rm", "-f", c.id], capture_output=True, check=False)  # noqa: ASYNC221
