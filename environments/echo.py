"""Echo digits: the quickstart task, small enough to learn from scratch on two CPU cores.

The task: each turn the env sends one digit and the agent must reply with that digit; a reply counts when its
first non-space character is the digit. An episode has `length` turns (default 3; a task's reference fixes
its digits) and ends at the first wrong reply. Step reward: 1.0 per correct digit. The rubric logs (weight 0)
`closeness` (1 - |reply - target| / 9 for a reply that starts with a digit) and `success` (every digit
echoed). Each turn's info carries `state_key` ("turn:digit") so GiGPO can group identical steps.
The first message is `instruction` + newline + the digit (default "Echo each digit I send.", for models that
read); `instruction=""` sends the bare digit, as the quickstart does.

Why it is built so (a random-initialised tiny model, no pretraining, must learn it from reward alone):
- Sparse exact match, no shaping. Rewarding "starts with a digit" or closeness collapsed the policy onto one
  constant digit (the best constant under the shaped reward); then every sample of a group scores the same
  and the group advantage is zero. Exact match has no constant optimum.
- A random model must learn to *look at* the digit: copying it is one attention step from the reply's position
  to the digit. Seeded sweeps with a torch sampler (16 tasks x 8 samples per step, 3 turns, gigpo, lr 1e-3)
  showed what decides it is how much else competes for that attention. With the instruction in the prompt (22
  single-letter tokens at a 128-token vocabulary), no run of 16 reached 0.8 success in 300 steps (ChatML, which
  puts 12 tokens between digit and reply, or the compact template; entropy bonus 0-0.03; grpo or gigpo; lr 1e-3
  or 3e-3): plateaus of 0.06-0.75, often collapsed onto one digit. Bare digits with the tiny model's
  compact template (`<|user|>7<|im_end|><|assistant|>`, agentrl.models) reached 0.8 in 77-157 steps, 8 of 8
  seeds; adding an entropy bonus of 0.05 (keeps every digit in play while attention forms) 73-122 steps, 15
  of 15 seeds, median 86. ChatML with bare digits: 1 of 2 (153 steps).
- Three turns in a row keeps it a multi-turn task: the model must copy the newest digit, not an earlier one
  (its own replies and earlier digits are in the same context), and success needs every turn right.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from agentrl.env import StepResult
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Task
from agentrl.verifiers import Rubric, reward

AGENT = "agent"
INSTRUCTION = "Echo each digit I send."


class EchoEnv:
    possible_agents = (AGENT,)

    def __init__(self, length: int = 3, instruction: str = INSTRUCTION):
        if length < 1:
            raise ValueError(f"EchoEnv needs length >= 1, got {length}.")
        self.length = length
        self.instruction = instruction
        self.digits: list[int] = []
        self.turn = 0

    async def reset(self, task: Task, seed: int) -> dict:
        self.digits = list(task.reference.get("digits") or
                           [random.Random(seed).randrange(10) for _ in range(self.length)])
        self.turn = 0
        first = f"{self.instruction}\n{self.digits[0]}" if self.instruction else str(self.digits[0])
        return {AGENT: [*task.prompt, {"role": "user", "content": first}]}

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
