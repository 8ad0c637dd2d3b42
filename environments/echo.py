"""Echo digits: the quickstart task, small enough to learn from scratch on two CPU cores.

Each turn the env sends one digit (the first message also says "Echo each digit I send.") and the agent must
reply with that digit; a reply counts when its first
non-space character is the digit. An episode has `length` turns (default 3) and ends at the first wrong
reply. Step reward: 1.0 per correct digit. The rubric logs (weight 0) `closeness` (1 - |reply - target| / 9
for a reply that starts with a digit) and `success` (every digit echoed).
Why no shaping: we tried rewarding "starts with a digit" and rewarding closeness; with a tiny model both
collapse the policy onto one constant digit (the best constant under the shaped reward), after which every
sample of a group scores the same and the group advantage is zero. The sparse exact match has no such
constant optimum; with a small vocabulary (128 tokens) a random model hits it often enough to learn.
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
        return {AGENT: [*task.prompt, {"role": "user", "content": f"Echo each digit I send.\n{self.digits[0]}"}]}

    def _ask(self) -> dict:
        return {"role": "user", "content": str(self.digits[self.turn])}

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
    return Rubric(turn=[reward(closeness, weight=0.0)], outcome=[reward(all_correct, name="success", weight=0.0)])


def echo_policy(seed: int = 0) -> ScriptedPolicy:
    return ScriptedPolicy(lambda agent, messages, rng: messages[-1]["content"].split()[-1], seed=seed)


def compare_rewards(a, b) -> float:
    """A pairwise judge for tournament ranking: the episode with the higher reward wins (ties are 0)."""
    return (sum(a.reward.values()) - sum(b.reward.values())) if a.reward and b.reward else 0.0
