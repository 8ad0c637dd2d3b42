"""Echo digits: the quickstart task, small enough to learn from scratch on two CPU cores.

Each turn the env shows one digit and the agent must reply with that digit; a reply counts when its first
non-space character is the digit. An episode has `length` turns (default 3) and ends at the first wrong
reply. Step reward: 1.0 per correct digit. The rubric adds `digit_format` (0.1 for a reply that starts with
any digit: the format signal a random model finds first) and logs `success` (every digit echoed).
A random-initialised tiny model starts near 0% success (it must first emit digits at all, then the right one
at every turn) and learns to copy the newest digit from its multi-turn context with GRPO in a few minutes.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from agentrl.env import StepResult
from agentrl.policy import ScriptedPolicy
from agentrl.types import Task
from agentrl.verifiers import Rubric, reward

AGENT = "agent"


class EchoEnv:
    possible_agents = (AGENT,)

    def __init__(self, length: int = 3):
        if length < 1:
            raise ValueError(f"EchoEnv needs length >= 1, got {length}.")
        self.length = length
        self.digits: list[int] = []
        self.turn = 0

    async def reset(self, task: Task, seed: int) -> dict:
        self.digits = list(task.reference.get("digits") or
                           [random.Random(seed).randrange(10) for _ in range(self.length)])
        self.turn = 0
        return {AGENT: [*task.prompt, self._ask()]}

    def _ask(self) -> dict:
        return {"role": "user", "content": f"Repeat this digit: {self.digits[self.turn]}"}

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        reply = actions[AGENT].strip()
        correct = reply[:1] == str(self.digits[self.turn])
        self.turn += 1
        done = not correct or self.turn == len(self.digits)
        info = {AGENT: {"correct": correct, "state_key": f"{self.turn}:{self.digits[self.turn - 1]}"}}
        return StepResult({} if done else {AGENT: [self._ask()]}, {AGENT: float(correct)}, {AGENT: done}, {}, info)

    async def close(self) -> None:
        pass


def tasks(split: str = "train", length: int = 3) -> list[Task]:
    rng = random.Random({"train": 0, "test": 1}.get(split, 2))
    count = {"train": 2000, "test": 100}.get(split, 100)
    return [Task(id=f"echo-{split}-{i}", reference={"digits": [rng.randrange(10) for _ in range(length)]}, split=split)
            for i in range(count)]


def all_correct(turns, reference) -> float:
    """1.0 when every digit of the task was echoed."""
    return float(len(turns) == len(reference["digits"]) and all(t.info.get("correct") for t in turns))


def digit_format(text: str) -> float:
    """1.0 when the reply starts with a digit (right or wrong)."""
    return float(text.strip()[:1].isdigit())


def rubric() -> Rubric:
    return Rubric(turn=[reward(digit_format, weight=0.1)], outcome=[reward(all_correct, name="success", weight=0.0)])


def echo_policy(seed: int = 0) -> ScriptedPolicy:
    return ScriptedPolicy(lambda agent, messages, rng: messages[-1]["content"].rsplit(" ", 1)[-1], seed=seed)
