"""Every registered env keeps the contract (agentrl.checker) with its scripted policy."""

import pytest

from agentrl import registry
from agentrl.checker import check_env

ENV_IDS = sorted(registry.registered())


def test_there_are_envs_to_check():
    assert len(ENV_IDS) >= 2


@pytest.mark.parametrize("env_id", ENV_IDS)
async def test_check_env(env_id):
    report = await check_env(env_id, num_tasks=1)  # two seeds x two runs still checks determinism
    assert "same seed gives the same episode" in report.passed
    assert "step after the episode ended raises EpisodeOverError" in report.passed
    assert all(not ep.status.is_failure for ep in report.episodes)


async def test_scripted_bisection_solves_guess_number():
    report = await check_env("games/GuessNumber-v0", num_tasks=8, seeds=(0,))
    assert [ep.reward["player"] for ep in report.episodes] == [1.0] * 8
    assert max(len(ep.turns) for ep in report.episodes) <= 5  # ceil(log2 16) + 1
