"""A test env with varied outcomes: GuessNumber dynamics, a scripted policy that guesses at random (so some
episodes succeed and some run out of turns) and fails outright (policy_error) on every seed divisible by 7."""

from __future__ import annotations

import pytest

from agentrl import registry
from agentrl.environments import guess_number
from agentrl.policy_contract import ScriptedPolicy

FLAKY_ENV = "test/FlakyGuess-v0"


def flaky_policy(seed: int = 0) -> ScriptedPolicy:
    def script(agent, messages, rng):
        if seed % 7 == 0:
            raise RuntimeError("simulated policy outage")
        return str(rng.randint(1, 16))

    return ScriptedPolicy(script, seed=seed)


def flaky_tasks(split: str = "test"):
    return guess_number.tasks(split)[:6]


@pytest.fixture(scope="session", autouse=True)
def flaky_env():
    registry.register(FLAKY_ENV, guess_number.GuessNumberEnv, tasks=flaky_tasks, rubric=guess_number.rubric,
                      scripted_policy=flaky_policy, max_turns=4, override=True)
    return FLAKY_ENV
