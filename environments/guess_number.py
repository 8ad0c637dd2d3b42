"""Guess the number: a single-agent, multi-turn env with feedback.

The env hides an integer in [low, high]; each turn the agent replies with a guess and is told "higher",
"lower" or "correct". Binary search solves it in ceil(log2(high - low + 1)) turns. The env's step reward
is 1.0 on the correct guess; the rubric adds `solved` (outcome) and `valid_guess` (turn, logged only).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping

from agentrl.env import StepResult
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Task
from agentrl.verifiers import Rubric, reward

AGENT = "player"
_INT = re.compile(r"-?\d+")


class GuessNumberEnv:
    possible_agents = (AGENT,)

    def __init__(self, low: int = 1, high: int = 16):
        if low >= high:
            raise ValueError(f"GuessNumberEnv needs low < high, got low={low}, high={high}.")
        self.low, self.high = low, high
        self.target = low

    async def reset(self, task: Task, seed: int) -> dict:
        low, high = task.env_kwargs.get("low", self.low), task.env_kwargs.get("high", self.high)
        self.target = int(task.reference.get("target", random.Random(seed).randint(low, high)))
        self.low, self.high = low, high
        intro = f"I am thinking of an integer from {low} to {high}. Reply with one guess per turn."
        return {AGENT: [*task.prompt, {"role": "user", "content": intro}]}

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        numbers = _INT.findall(actions[AGENT])
        if len({int(n) for n in numbers}) != 1:  # none, or a list of guesses for the parser to pick from
            return self._feedback("Reply with a single integer.", valid=False)
        guess = int(numbers[-1])
        if guess == self.target:
            return StepResult({}, {AGENT: 1.0}, {AGENT: True}, {AGENT: False}, {AGENT: {"guess": guess, "valid": True}})
        return self._feedback("higher" if guess < self.target else "lower", valid=True, guess=guess)

    def _feedback(self, text: str, valid: bool, guess: int | None = None) -> StepResult:
        return StepResult({AGENT: text}, {AGENT: 0.0}, {AGENT: False}, {AGENT: False},
                          {AGENT: {"guess": guess, "valid": valid}})

    async def close(self) -> None:
        pass


def tasks(split: str = "train") -> list[Task]:
    """Targets 1..16; the test split holds a fixed, disjoint-by-id set with the same range."""
    rng = random.Random({"train": 0, "test": 1}.get(split, 2))
    return [Task(id=f"guess-{split}-{i}", reference={"target": rng.randint(1, 16)}, split=split) for i in range(32)]


def solved(turns) -> float:
    return float(bool(turns) and (turns[-1].rewards.get("env") or 0.0) > 0)


def valid_guess(info) -> float:
    return float(bool(info.get("valid")))


def rubric() -> Rubric:
    return Rubric(turn=[reward(valid_guess, weight=0.0)], outcome=[solved], env_weight=0.0)


def bisect_policy(seed: int = 0) -> ScriptedPolicy:
    """Plays binary search from the feedback; solves every task within max_turns."""

    def script(agent, messages, rng):
        low, high = 1, 16
        last = None
        for m in messages:
            text = m.get("content") or ""
            if m["role"] == "user":
                found = re.search(r"from (-?\d+) to (-?\d+)", text)
                if found:
                    low, high = int(found.group(1)), int(found.group(2))
                elif last is not None and text == "higher":
                    low = last + 1
                elif last is not None and text == "lower":
                    high = last - 1
            elif m["role"] == "assistant":
                last = int(_INT.findall(text)[-1])
        return str((low + high) // 2)

    return ScriptedPolicy(script, seed=seed)
