"""The decode-step bounds that bench/rollout_overhead.py prints next to its ratio."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "rollout_overhead.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("rollout_overhead", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bounds(bench):
    return bench.decode_step_bounds


def test_one_slot_per_episode_is_bound_by_the_longest_episode(bounds):
    # Two episodes on two slots: the first episode's turns (64 then 64 tokens) wait for each other.
    workload = [[([1], 64), ([2], 64)], [([3], 8), ([4], 8)]]
    assert bounds(workload, slots=2) == (128, 72)


def test_more_episodes_than_slots_leave_the_slots_full(bounds):
    workload = [[([1], 10), ([2], 10)] for _ in range(8)]  # 160 tokens on 2 slots
    assert bounds(workload, slots=2) == (80, 80)


def test_the_batched_bound_caches_what_a_multi_turn_run_has_cached(bench):
    # turn 2's prompt is turn 1's prompt (3 ids) + its 2 sampled ids + the env's new message (2 ids)
    workload = [[([1, 2, 3], 2), ([1, 2, 3, 7, 8, 4, 5], 1)], [([9], 4)]]
    assert bench.cached_prefixes(workload, whole=False) == [[1, 2, 3, 7, 8]]  # the new message is left to prefill
    assert bench.cached_prefixes(workload, whole=True) == [[1, 2, 3], [1, 2, 3, 7, 8, 4, 5], [9]]
