"""SandboxPool logic with an in-memory sandbox double (the real Docker pool is tested in
tests/integration/sandbox): warm hand-out, replacement, bounds, rate limits, failures, cancellation."""

import asyncio
import time

import pytest

from agentrl.errors import ConfigError
from agentrl.sandbox.base import SandboxError
from agentrl.sandbox.pool import SandboxPool

pytestmark = pytest.mark.asyncio(loop_scope="session")


class FakeBox:
    def __init__(self, n):
        self.n, self.closed = n, False

    async def close(self):
        self.closed = True


class Factory:
    def __init__(self, delay=0.0, fail=False):
        self.made, self.delay, self.fail, self.starts = [], delay, fail, []

    async def __call__(self):
        self.starts.append(time.monotonic())
        await asyncio.sleep(self.delay)
        if self.fail:
            raise SandboxError("engine down")
        box = FakeBox(len(self.made))
        self.made.append(box)
        return box


async def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        await asyncio.sleep(0.01)


async def test_hands_out_warm_sandboxes_and_replaces_them():
    factory = Factory()
    async with SandboxPool(factory, size=2) as pool:
        await wait_for(lambda: pool.stats["idle"] == 2)
        async with pool.acquire() as box:
            assert not box.closed and pool.stats["in_use"] == 1
        assert box.closed  # never handed out twice
        await wait_for(lambda: pool.stats["idle"] == 2)
        async with pool.acquire() as again:
            assert again is not box
    assert all(b.closed for b in factory.made)


async def test_close_closes_handed_out_sandboxes_too():
    factory = Factory()
    pool = SandboxPool(factory, size=1)
    await pool.start()
    cm = pool.acquire()
    box = await cm.__aenter__()
    await pool.close()
    await pool.close()  # idempotent
    assert box.closed and all(b.closed for b in factory.made)


async def test_cancelled_user_returns_its_sandbox_closed():
    factory = Factory()
    async with SandboxPool(factory, size=1) as pool:
        started = asyncio.Event()

        async def episode():
            async with pool.acquire() as box:
                started.set()
                episode.box = box
                await asyncio.sleep(60)

        task = asyncio.create_task(episode())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert episode.box.closed and pool.stats["in_use"] == 0


async def test_max_live_bounds_the_total_and_acquire_waits():
    async with SandboxPool(Factory(), size=1, max_live=2, acquire_timeout=0.5) as pool:  # noqa: SIM117
        async with pool.acquire(), pool.acquire():
            with pytest.raises(SandboxError, match="no sandbox became ready"):
                async with pool.acquire():
                    pass


async def test_start_rate_is_limited():
    factory = Factory()
    async with SandboxPool(factory, size=4, min_start_interval=0.1) as pool:
        await wait_for(lambda: pool.stats["idle"] == 4)
    gaps = [b - a for a, b in zip(factory.starts, factory.starts[1:])]
    assert min(gaps[:3]) >= 0.09


async def test_failing_starts_give_a_clear_error_not_a_hang():
    async with SandboxPool(Factory(fail=True), size=1, acquire_timeout=0.5) as pool:
        with pytest.raises(SandboxError, match="engine down"):
            async with pool.acquire():
                pass
        assert pool.failures >= 1


async def test_closed_pool_refuses():
    pool = SandboxPool(Factory(), size=1)
    await pool.close()
    with pytest.raises(SandboxError, match="closed"):
        await pool.start()


@pytest.mark.parametrize("kwargs", [{"size": 0}, {"size": 2, "max_live": 1}, {"size": 1, "max_concurrent_starts": 0}])
async def test_bad_pool_config_is_rejected(kwargs):
    with pytest.raises(ConfigError):
        SandboxPool(Factory(), **kwargs)
