"""One local Ray instance for every test in this folder, shut down at the end with no process left behind."""

from __future__ import annotations

import time

import psutil
import pytest

from agentrl.distributed.cluster import QUIET, loopback_only


class ProcessWatch:
    """Remembers every process Ray started (its daemons, its workers and the vLLM engines under them), to check
    they exit. Other session fixtures' processes (a browser, a shared engine) are theirs to check."""

    def __init__(self) -> None:
        self.seen: dict[int, psutil.Process] = {}

    def snapshot(self) -> None:
        for p in psutil.Process().children(recursive=True):
            if _started_by_ray(p):
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


_RAY_MARKS = ("ray::", "/ray/", "raylet", "gcs_server")


def _started_by_ray(p: psutil.Process) -> bool:
    """True for a Ray process or any descendant of one (up to this pytest process)."""
    me = psutil.Process().pid
    try:
        chain = [p] + [a for a in p.parents() if a.pid != me and me in {x.pid for x in a.parents()}]
        return any(mark in " ".join(q.cmdline()) or mark in q.name() for q in chain for mark in _RAY_MARKS)
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="session")
def processes():
    return ProcessWatch()


@pytest.fixture(scope="session")
def ray_cluster(processes):
    import ray

    loopback_only()
    for attempt in range(3):
        try:
            ray.init(num_cpus=8, namespace="agentrl-test", include_dashboard=False, configure_logging=False,
                     runtime_env={"env_vars": QUIET}, _node_ip_address="127.0.0.1")
            break
        except Exception as e:  # Ray gives its raylet 30 s to come up; a loaded machine can miss that, so retry
            if "timed out during startup" not in str(e) or attempt == 2:
                raise
            ray.shutdown()
    address = ray.get_runtime_context().gcs_address
    assert address.startswith("127.0.0.1:"), f"Ray must stay on loopback, got {address}"
    yield address
    processes.snapshot()
    ray.shutdown()
    deadline = time.monotonic() + 60
    while processes.alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not processes.alive(), f"processes left behind after ray.shutdown(): {processes.alive()}"

