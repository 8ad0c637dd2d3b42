"""An engine's GPU memory comes back when the process owning it is SIGKILLed."""

from __future__ import annotations

import os
import signal
import time

import pytest
import reuse  # noqa: F401  # puts tests/integration/vllm (vllm_owner) on sys.path
import torch
from vllm_owner import start_owner, wait_gone

pytestmark = [pytest.mark.gpu, pytest.mark.vllm]

BOUND_S = 30


def test_gpu_memory_comes_back_after_the_owner_is_killed(tiny_model_dir):
    free_before = torch.cuda.mem_get_info()[0]
    owner, engine = start_owner(str(tiny_model_dir))
    try:
        held = free_before - torch.cuda.mem_get_info()[0]
        assert held > 256 << 20, f"the engine holds only {held} bytes of GPU memory"
        killed = time.monotonic()
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        left = wait_gone(engine, timeout=BOUND_S)
        assert not left, f"engine processes outlived their owner by {BOUND_S} s: {[p.pid for p in left]}"
        while torch.cuda.mem_get_info()[0] < free_before - (256 << 20) and time.monotonic() - killed < BOUND_S:
            time.sleep(0.5)
        back = torch.cuda.mem_get_info()[0]
        print(f"\nengine held {held / 2**30:.2f} GiB; {time.monotonic() - killed:.1f} s after SIGKILL of its owner "
              f"{(free_before - back) / 2**30:.2f} GiB was still missing")
        assert back >= free_before - (256 << 20)
    finally:
        for p in engine:
            if p.is_running():
                p.kill()
