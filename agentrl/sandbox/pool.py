"""A warm pool: sandboxes started ahead of time, handed out in milliseconds, never reused, never leaked.

    async with SandboxPool.docker(size=4) as pool:
        async with pool.acquire() as box:
            result = await box.exec("python3 -c 'print(1)'")

- `size` sandboxes are kept warm; a background filler replaces each one handed out. `max_live` bounds the
  warm plus handed-out total (acquire waits for a slot). Starts are rate limited: at most
  `max_concurrent_starts` at once and at least `min_start_interval` seconds apart.
- A sandbox is closed when its `acquire` block exits (normally, by exception or by cancellation) and a
  fresh one takes its place: a sandbox that ran untrusted code is never handed out again.
- Closing the pool closes every sandbox it made, warm or handed out, even when cancelled.
- Docker pools label containers with the owning process (see owner.py) and, when starting, remove the
  containers of owners that died (`reap_orphans`); on closing, they also remove any container that still
  carries this pool's label.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Self

from agentrl.errors import ConfigError
from agentrl.sandbox.base import Sandbox, SandboxError, SandboxLimits
from agentrl.sandbox.owner import LABEL, OWNER_LABEL, is_orphan

POOL_LABEL = "agentrl.pool"


class SandboxPool:
    """Keeps `size` sandboxes made by `factory` warm; see the module docstring."""

    def __init__(self, factory: Callable[[], Awaitable[Sandbox]], size: int = 4, *, max_live: int | None = None,
                 max_concurrent_starts: int = 2, min_start_interval: float = 0.0, acquire_timeout: float = 120.0,
                 on_start: Callable[[], None] | None = None, on_close: Callable[[], None] | None = None):
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ConfigError(f"SandboxPool size (sandboxes kept warm) must be an int >= 1, got {size!r}")
        if max_live is not None and max_live < size:
            raise ConfigError(f"SandboxPool max_live={max_live} must be at least size={size}")
        if max_concurrent_starts < 1:
            raise ConfigError(f"SandboxPool max_concurrent_starts must be >= 1, got {max_concurrent_starts!r}")
        self.size = size
        self.max_live = max_live
        self.acquire_timeout = acquire_timeout
        self._factory = factory
        self._on_start, self._on_close = on_start, on_close
        self._starts = asyncio.Semaphore(max_concurrent_starts)
        self._min_interval = min_start_interval
        self._last_start = 0.0
        self._idle: list[Sandbox] = []
        self._in_use: set[Sandbox] = set()
        self._starting: set[asyncio.Task] = set()
        # Two events, each cleared only by its own waiters before they re-check (no lost wake-ups).
        self._need_fill = asyncio.Event()  # a sandbox was taken, returned, or a start ended
        self._ready = asyncio.Event()  # a sandbox became idle, a start failed, or the pool closed
        self._filler: asyncio.Task | None = None
        self._closed = False
        self.failures = 0
        self._streak = 0  # consecutive failed starts
        self.last_error: BaseException | None = None

    # --- construction -------------------------------------------------------------------------------
    @classmethod
    def docker(cls, image: str | None = None, limits: SandboxLimits | None = None, size: int = 4,
               **kwargs) -> SandboxPool:
        """A pool of DockerSandbox containers of `image` (default: the offline base image)."""
        from agentrl.sandbox.docker_backend import BASE_IMAGE, DockerSandbox

        pool_id = uuid.uuid4().hex[:16]
        factory = lambda: DockerSandbox.create(image or BASE_IMAGE, limits, labels={POOL_LABEL: pool_id})
        return cls(factory, size, on_start=reap_orphans,
                   on_close=lambda: remove_containers({POOL_LABEL: pool_id}), **kwargs)

    @classmethod
    def bwrap(cls, limits: SandboxLimits | None = None, size: int = 4, **kwargs) -> SandboxPool:
        """A pool of BwrapSandbox processes (no daemon needed)."""
        from agentrl.sandbox.bwrap_backend import BwrapSandbox

        return cls(lambda: BwrapSandbox.create(limits), size, **kwargs)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def start(self) -> None:
        if self._closed:
            raise SandboxError("this SandboxPool is closed; make a new one.")
        if self._filler is None:
            if self._on_start:
                await asyncio.to_thread(self._on_start)
            self._filler = asyncio.create_task(self._fill_forever(), name="sandbox-pool-filler")

    # --- handing out ----------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Sandbox]:
        """A fresh sandbox for the block; closed (and replaced in the pool) when the block exits."""
        await self.start()
        box = await self._take()
        try:
            yield box
        finally:
            self._in_use.discard(box)
            self._need_fill.set()
            await asyncio.shield(_close_quietly(box))

    async def _take(self) -> Sandbox:
        deadline = time.monotonic() + self.acquire_timeout
        while True:
            self._ready.clear()
            if self._closed:
                raise SandboxError("the SandboxPool was closed while waiting for a sandbox.")
            while self._idle:
                box = self._idle.pop(0)
                self._in_use.add(box)  # counted as live while we check it, so max_live holds
                self._need_fill.set()
                alive = False
                try:
                    alive = await _alive(box)
                finally:  # dead, or we were cancelled while checking: it is nobody's, close it
                    if not alive:
                        self._in_use.discard(box)
                        await asyncio.shield(_close_quietly(box))
                if alive:
                    return box
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxError(f"no sandbox became ready within {self.acquire_timeout} s "
                                   f"({self.failures} start failures; last: {self.last_error!r}). Is the engine up "
                                   "and the image built? Raise acquire_timeout or max_live if the pool is just busy.")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), min(left, 1.0))

    @property
    def stats(self) -> dict[str, int]:
        return {"idle": len(self._idle), "in_use": len(self._in_use), "starting": len(self._starting),
                "failures": self.failures}

    # --- filling ----------------------------------------------------------------------------------------
    def _wanted(self) -> int:
        live = len(self._idle) + len(self._in_use) + len(self._starting)
        want = self.size - len(self._idle) - len(self._starting)
        if self.max_live is not None:
            want = min(want, self.max_live - live)
        return want

    async def _fill_forever(self) -> None:
        while not self._closed:
            self._need_fill.clear()
            if self._wanted() > 0:
                # Back off while starts keep failing (engine down, image missing) instead of hammering.
                backoff = min(5.0, 0.25 * 2 ** min(self._streak, 5)) if self._streak else 0.0
                await asyncio.sleep(max(backoff, self._last_start + self._min_interval - time.monotonic(), 0))
                self._last_start = time.monotonic()
                task = asyncio.create_task(self._start_one())
                self._starting.add(task)
                task.add_done_callback(self._starting.discard)
                await asyncio.sleep(0)  # let it take a start slot before counting again
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._need_fill.wait(), 1.0)

    async def _start_one(self) -> None:
        async with self._starts:
            try:
                box = await self._factory()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                self.failures += 1
                self._streak += 1
                self.last_error = e
                self._ready.set()
                self._need_fill.set()
                return
        if self._closed:
            await _close_quietly(box)
            return
        self.last_error, self._streak = None, 0
        self._idle.append(box)
        self._ready.set()
        self._need_fill.set()

    # --- shutting down --------------------------------------------------------------------------------
    async def close(self) -> None:
        """Close every sandbox this pool made; safe to call twice, completes even if cancelled."""
        if self._closed:
            return
        self._closed = True
        self._ready.set()
        await asyncio.shield(self._shutdown())

    async def _shutdown(self) -> None:
        tasks = [t for t in (self._filler, *self._starting) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        boxes = self._idle + list(self._in_use)
        self._idle.clear()
        await asyncio.gather(*(_close_quietly(b) for b in boxes))
        if self._on_close:
            await asyncio.to_thread(self._on_close)


async def _alive(box: Sandbox) -> bool:
    ping = getattr(box, "_call", None)
    if ping is None:
        return True
    try:
        await ping({"op": "ping"}, 5.0)
        return True
    except SandboxError:
        return False


async def _close_quietly(box: Sandbox) -> None:
    with contextlib.suppress(Exception):
        await box.close()


def remove_containers(labels: dict[str, str]) -> list[str]:
    """Force-remove every container carrying all `labels`; returns their ids."""
    from agentrl.sandbox.docker_backend import docker_client, remove_container

    client = docker_client()
    filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
    ids = [c["Id"] for c in client.api.containers(all=True, filters=filters)]
    for cid in ids:
        remove_container(client, cid)
    return ids


def reap_orphans(everything: bool = False) -> list[str]:
    """Remove sandbox containers whose owning process on this host is gone (all of them with everything=True)."""
    from agentrl.sandbox.docker_backend import docker_client, remove_container

    client = docker_client()
    removed = []
    for c in client.api.containers(all=True, filters={"label": f"{LABEL}=1"}):
        if everything or is_orphan((c.get("Labels") or {}).get(OWNER_LABEL)):
            remove_container(client, c["Id"])
            removed.append(c["Id"])
    return removed
