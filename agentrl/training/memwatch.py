"""The memory-stall watchdog of both trainers: a run that thrashes for want of memory ends with an error.

When a machine runs out of memory the kernel does not fail an allocation: it evicts the page cache, which holds
the code every process runs, so every process slows to a crawl (turns that took a second take minutes) long
before the OOM killer acts. A run in that state only ends at a test's or a user's timeout. The watchdog, a
daemon thread of the driver, reads the host's ``MemAvailable`` every `interval_s` and calls the run stalled when

    MemAvailable stayed under `run.memory_floor_gib` at every sample for `run.memory_grace_s` seconds, and
    no progress (a completed turn, episode or update) was made in those seconds

Both must hold: a slow turn on a machine with memory to spare is not a stall, nor is a tight machine where turns
still complete. It then prints a `MemoryStallError` naming the numbers it saw and what to lower, and cancels the
run's main task, which raises that error (engines and actors are closed on the way out as on any failure).
`run.memory_floor_gib: null` turns it off; where ``/proc/meminfo`` cannot be read it stays off.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from agentrl.errors import MemoryStallError

GiB = 1 << 30
T = TypeVar("T")


def read_meminfo(path: str = "/proc/meminfo") -> tuple[int, int] | None:
    """(MemAvailable, MemTotal) in bytes, or None where the file or the fields are missing (not Linux)."""
    values: dict[str, int] = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("MemAvailable", "MemTotal"):
                    values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    if "MemAvailable" not in values:
        return None
    return values["MemAvailable"], values.get("MemTotal", 0)


class MemoryWatch:
    """Decides, one sample at a time (`check`), whether the run is stalled by memory pressure.

    `progress` returns a count that grows whenever the run gets something done; `advice` is the part of the
    error that names what to lower for this run. `read` and `clock` are the sources of memory and time (a unit
    test passes fakes). `start` runs `check` on a daemon thread and calls `on_stall` once, with the error."""

    def __init__(self, floor_gib: float | None, grace_s: float, progress: Callable[[], int], advice: str, *,
                 interval_s: float = 2.0, read: Callable[[], tuple[int, int] | None] = read_meminfo,
                 clock: Callable[[], float] = time.monotonic):
        self.floor = int(floor_gib * GiB) if floor_gib else 0
        self.grace_s, self.interval_s = grace_s, interval_s
        self.progress, self.advice, self.read, self.clock = progress, advice, read, clock
        self.enabled = self.floor > 0
        self.error: MemoryStallError | None = None
        self._beats = 0
        self._low_since: float | None = None
        self._lowest = 0
        self._seen = self._count()
        self._progress_at = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        """Count one unit of progress that `progress` does not see (an update, an evaluation)."""
        self._beats += 1

    def _count(self) -> int:
        return self.progress() + self._beats

    def check(self) -> MemoryStallError | None:
        """Take one sample; the error once the stall condition holds (and from then on), else None."""
        if not self.enabled or self.error is not None:
            return self.error
        reading = self.read()
        if reading is None:  # no /proc/meminfo: nothing to judge by, so never fire
            self.enabled = False
            return None
        available, total = reading
        now = self.clock()
        count = self._count()
        if count != self._seen:
            self._seen, self._progress_at = count, now
        if available >= self.floor:
            self._low_since = None
            return None
        if self._low_since is None:
            self._low_since, self._lowest = now, available
        self._lowest = min(self._lowest, available)
        stalled = now - max(self._low_since, self._progress_at)
        if stalled < self.grace_s:
            return None
        self.error = MemoryStallError(
            f"the run is stalled by memory pressure: for {stalled:.0f} s the host had less than "
            f"{self.floor / GiB:.2f} GiB available (MemAvailable {available / GiB:.2f} GiB now, lowest "
            f"{self._lowest / GiB:.2f} GiB, of {total / GiB:.1f} GiB) and no turn, episode or update completed, "
            f"so the processes are thrashing (their code evicted from the page cache) rather than working. "
            f"To fix: {self.advice}; or stop what else holds memory on this machine. The check is "
            f"run.memory_floor_gib (set it to null to turn it off) and run.memory_grace_s.")
        return self.error

    def start(self, on_stall: Callable[[MemoryStallError], Any]) -> MemoryWatch:
        if not self.enabled or self.read() is None:
            self.enabled = False
            return self

        def loop() -> None:
            while not self._stop.wait(self.interval_s):
                error = self.check()
                if error is not None:
                    print(f"[agentrl] {error}", file=sys.stderr, flush=True)  # seen even if the loop never wakes
                    on_stall(error)
                    return

        self._thread = threading.Thread(target=loop, name="agentrl-memwatch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


async def watched(main: Awaitable[T], watch: MemoryWatch) -> T:
    """Await `main` with `watch` running: on a stall its task is cancelled and the `MemoryStallError` raised."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main)
    watch.start(lambda _error: loop.call_soon_threadsafe(task.cancel))
    try:
        return await task
    except asyncio.CancelledError:
        if watch.error is not None:
            raise watch.error from None
        raise
    finally:
        watch.stop()


def for_run(cfg: Any, progress: Callable[[], int], engines: int, extra: str = "") -> MemoryWatch:
    """The watch a trainer runs, from `cfg.run` (off when `run.memory_floor_gib` is null or 0)."""
    return MemoryWatch(cfg.run.memory_floor_gib, cfg.run.memory_grace_s, progress, advice(cfg, engines, extra))


def advice(cfg: Any, engines: int, extra: str = "") -> str:
    """What to lower, with the run's current values."""
    m, r = cfg.model, cfg.rollout
    parts = [f"model.max_num_seqs (now {m.max_num_seqs})", f"model.max_model_len (now {m.max_model_len})",
             f"the number of policies/engines (now {engines})",
             f"episodes at once (rollout.tasks_per_step x group_size = {r.tasks_per_step * r.group_size})"]
    if extra:
        parts.append(extra)
    return "lower " + ", ".join(parts)
