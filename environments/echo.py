"""Echo digits: the quickstart task, small enough to learn from scratch on two CPU cores.

Each turn the env shows one digit and the agent must reply with that digit; a reply counts when its first
non-space character is the digit. An episode has `length` turns (default 3) and ends at the first wrong
reply. Step reward: 1.0 per correct digit. The rubric adds `closeness` (1 - |reply - target| / 9 for a reply
that starts with a digit, 0 otherwise; weight 0.5) and logs `success` (every digit echoed).
Why closeness: with a sparse exact-match reward a random model rarely gets any signal, and a plain "starts
with a digit" bonus collapses the policy onto one constant digit (every sample of a group then scores the
same and the group advantage is zero). A graded distance keeps samples of one group apart until they copy.
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
        target = self.digits[self.turn - 1]
        info = {AGENT: {"correct": correct, "target": target, "state_key": f"{self.turn}:{target}"}}
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


def closeness(text: str, info: dict) -> float:
    """1 - |reply digit - target| / 9 for a reply starting with a digit; 0 for anything else."""
    first = text.strip()[:1]
    return 1.0 - abs(int(first) - info["target"]) / 9 if first.isdigit() else 0.0


def rubric() -> Rubric:
    return Rubric(turn=[reward(closeness, weight=0.5)], outcome=[reward(all_correct, name="success", weight=0.0)])


def echo_policy(seed: int = 0) -> ScriptedPolicy:
    return ScriptedPolicy(lambda agent, messages, rng: messages[-1]["content"].rsplit(" ", 1)[-1], seed=seed)


def compare_rewards(a, b) -> float:
    """A pairwise judge for tournament ranking: the episode with the higher reward wins (ties are 0)."""
    return (sum(a.reward.values()) - sum(b.reward.values())) if a.reward and b.reward else 0.0
