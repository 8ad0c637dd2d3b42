"""A throwaway process that owns a VLLMPolicy, for tests that kill the owner (not a test module)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

_SCRIPT = """
import sys, time
from agentrl.inference import VLLMPolicy
policy = VLLMPolicy(sys.argv[1], max_tokens=4, max_model_len=256, max_num_seqs=8)
print("ready", flush=True)
time.sleep(3600)
"""


def start_owner(model_dir: str, timeout: float = 600) -> tuple[subprocess.Popen, list[psutil.Process]]:
    """Start the owner, wait until its engine is up; return it and the engine processes it spawned."""
    owner = subprocess.Popen([sys.executable, "-c", _SCRIPT, model_dir], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and owner.poll() is None:
        line = owner.stdout.readline()
        if line.strip() == "ready":
            break
    if line.strip() != "ready":
        owner.kill()
        raise AssertionError(f"the owner process did not start its engine (exit code {owner.poll()})")
    children = psutil.Process(owner.pid).children(recursive=True)
    assert children, "vLLM spawned no engine process"
    return owner, children


def wait_gone(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has exited; return those still alive after `timeout` seconds."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
