"""One local Ray instance for every test in this folder, shut down at the end with no process left behind."""

from __future__ import annotations

import time

import psutil
import pytest

from agentrl.distributed.driver import QUIET


class ProcessWatch:
    """Remembers every process the tests started (Ray's and the vLLM engines under it), to check they exit."""

    def __init__(self) -> None:
        self.seen: dict[int, psutil.Process] = {}

    def snapshot(self) -> None:
        for p in psutil.Process().children(recursive=True):
            self.seen.setdefault(p.pid, p)

    def alive(self) -> list[str]:
        out = []
        for p in self.seen.values():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
            except psutil.NoSuchProcess:
                pass
        return out


@pytest.fixture(scope="session")
def processes():
    return ProcessWatch()


@pytest.fixture(scope="session")
def ray_cluster(processes):
    import ray

    ray.init(num_cpus=8, namespace="agentrl-test", include_dashboard=False, configure_logging=False,
             runtime_env={"env_vars": QUIET})
    address = ray.get_runtime_context().gcs_address
    yield address
    processes.snapshot()
    ray.shutdown()
    deadline = time.monotonic() + 60
    while processes.alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not processes.alive(), f"processes left behind after ray.shutdown(): {processes.alive()}"

