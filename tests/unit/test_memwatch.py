"""The memory-stall watchdog (agentrl.training.memwatch), driven by a fake meminfo source and a fake clock."""

from __future__ import annotations

import asyncio
import threading

import pytest

from agentrl.errors import ConfigError, MemoryStallError
from agentrl.training import memwatch
from agentrl.training.config import RunConfig, TrainConfig

GiB = 1 << 30
TOTAL = 24 * GiB


class Fake:
    """A machine whose MemAvailable, clock and progress count the test sets."""

    def __init__(self, available_gib: float):
        self.available, self.now, self.count = int(available_gib * GiB), 0.0, 0

    def read(self):
        return self.available, TOTAL

    def watch(self, floor_gib=0.25, grace_s=120.0, advice="lower model.max_num_seqs (now 32)"):
        return memwatch.MemoryWatch(floor_gib, grace_s, lambda: self.count, advice, read=self.read,
                                    clock=lambda: self.now)

    def run(self, watch, seconds, every=2.0, progress_every=None):
        """Sample every `every` s for `seconds`; the first error seen, else None."""
        end = self.now + seconds
        last_progress = self.now
        while self.now < end:
            self.now += every
            if progress_every is not None and self.now - last_progress >= progress_every:
                self.count += 1
                last_progress = self.now
            error = watch.check()
            if error is not None:
                return error
        return None


def test_low_memory_with_no_progress_for_the_grace_period_is_a_stall_with_the_numbers_and_the_fix():
    fake = Fake(available_gib=0.1)
    watch = fake.watch()
    assert fake.run(watch, 100) is None  # under the grace period: not yet
    error = fake.run(watch, 40)
    assert isinstance(error, MemoryStallError) and isinstance(error, MemoryError)
    text = str(error)
    assert "less than 0.25 GiB available" in text and "MemAvailable 0.10 GiB now" in text and "of 24.0 GiB" in text
    assert "120 s" in text and "model.max_num_seqs (now 32)" in text and "run.memory_floor_gib" in text
    assert watch.check() is error  # it stays fired


def test_a_slow_turn_with_memory_to_spare_is_not_a_stall():
    fake = Fake(available_gib=4.0)
    assert fake.run(fake.watch(), 3600) is None  # an hour without a single turn, memory available


def test_low_memory_while_turns_still_complete_is_not_a_stall():
    fake = Fake(available_gib=0.1)
    assert fake.run(fake.watch(), 3600, progress_every=100) is None  # a turn every 100 s < the 120 s grace


def test_beats_count_as_progress_like_turns():
    fake = Fake(available_gib=0.1)
    watch = fake.watch()
    for _ in range(30):
        assert fake.run(watch, 100) is None
        watch.beat()  # an update or an evaluation finished


def test_memory_recovering_restarts_the_grace_period():
    fake = Fake(available_gib=0.1)
    watch = fake.watch()
    assert fake.run(watch, 110) is None
    fake.available = 2 * GiB  # one sample above the floor
    assert fake.run(watch, 2) is None
    fake.available = int(0.1 * GiB)
    assert fake.run(watch, 110) is None  # 110 s low again, counted from the new dip
    assert fake.run(watch, 20) is not None


def test_the_grace_period_counts_from_the_last_progress_inside_a_long_dip():
    fake = Fake(available_gib=0.1)
    watch = fake.watch()
    assert fake.run(watch, 100) is None
    fake.count += 1  # a turn completed at t=100 while memory was low
    assert fake.run(watch, 110) is None  # 110 s since that turn
    assert fake.run(watch, 20) is not None


@pytest.mark.parametrize("floor", [None, 0])
def test_off_by_setting(floor):
    fake = Fake(available_gib=0.0)
    watch = fake.watch(floor_gib=floor)
    assert not watch.enabled and fake.run(watch, 3600) is None


def test_without_meminfo_it_never_fires():
    watch = memwatch.MemoryWatch(0.25, 1.0, lambda: 0, "x", read=lambda: None, clock=lambda: 1e9)
    assert watch.check() is None and not watch.enabled


def test_read_meminfo_parses_the_file(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:       24576000 kB\nMemFree:          100000 kB\nMemAvailable:    3145728 kB\n")
    assert memwatch.read_meminfo(str(path)) == (3145728 * 1024, 24576000 * 1024)
    path.write_text("MemTotal: 1 kB\n")  # an old kernel without MemAvailable
    assert memwatch.read_meminfo(str(path)) is None
    assert memwatch.read_meminfo(str(tmp_path / "missing")) is None
    real = memwatch.read_meminfo()
    assert real is not None and 0 < real[0] <= real[1]


def test_a_stall_cancels_the_run_and_raises_the_error():
    """The thread samples on its own; the run's task is cancelled and `watched` raises MemoryStallError."""
    fake = Fake(available_gib=0.1)
    ticks = threading.Lock()

    def clock():
        with ticks:
            fake.now += 10.0  # each sample is 10 s later
            return fake.now

    watch = memwatch.MemoryWatch(0.25, 30.0, lambda: 0, "lower model.max_num_seqs", read=fake.read, clock=clock,
                                 interval_s=0.01)
    cleaned = []

    async def run():
        try:
            await asyncio.sleep(60)  # a run that never gets anything done
        finally:
            cleaned.append(True)  # engines closed on the way out

    with pytest.raises(MemoryStallError, match="lower model.max_num_seqs"):
        asyncio.run(memwatch.watched(run(), watch))
    assert cleaned == [True]


def test_a_healthy_run_returns_its_result_and_stops_the_thread():
    fake = Fake(available_gib=8.0)
    watch = memwatch.MemoryWatch(0.25, 30.0, lambda: 0, "x", read=fake.read, interval_s=0.01)

    async def run():
        await asyncio.sleep(0.1)
        return {"learner/version": 2.0}

    assert asyncio.run(memwatch.watched(run(), watch)) == {"learner/version": 2.0}
    assert watch._thread is not None and not watch._thread.is_alive()


def test_the_run_config_checks_the_settings_and_names_the_advice():
    with pytest.raises(ConfigError, match="memory_grace_s"):
        TrainConfig(run=RunConfig(memory_grace_s=0))
    with pytest.raises(ConfigError, match="memory_floor_gib"):
        TrainConfig(run=RunConfig(memory_floor_gib=-1.0))
    cfg = TrainConfig()
    assert cfg.run.memory_floor_gib == 0.25 and cfg.run.memory_grace_s == 120.0
    watch = memwatch.for_run(cfg, lambda: 0, engines=2)
    assert watch.enabled and watch.grace_s == 120.0
    assert "model.max_num_seqs (now 64)" in watch.advice and "policies/engines (now 2)" in watch.advice
    assert "tasks_per_step x group_size = 64" in watch.advice
