"""tools/Calculator-v0: arithmetic with tools and a memory register (the smallest stateful tool env).

The agent gets `add`, `multiply`, `store` and `recall`; the domain is a `Memory` whose register the task asks
to hold the result at the end. Outcome rewards: the final register (`final_state_match`) and the answer text.
"""

from __future__ import annotations

import dataclasses
import random
import re

from agentrl.environments.tool_use.env import ToolEnv
from agentrl.environments.tool_use.parsing import format_tool_call
from agentrl.policy_contract import ScriptedPolicy
from agentrl.types import Task
from agentrl.verifiers import Rubric
from agentrl.verifiers.tools import expected_calls, final_state_match, tool_call_format


@dataclasses.dataclass
class Memory:
    register: float = 0.0


def add(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: the first addend.
        b: the second addend.
    """
    return a + b


def multiply(a: float, b: float) -> float:
    """Multiply two numbers.

    Args:
        a: the first factor.
        b: the second factor.
    """
    return a * b


def store(domain: Memory, value: float) -> str:
    """Store a number in the memory register, replacing what it held.

    Args:
        value: the number to keep.
    """
    domain.register = value
    return f"stored {value}"


def recall(domain: Memory) -> float:
    """Read the number in the memory register."""
    return domain.register


def make_env(max_turns: int = 8) -> ToolEnv:
    return ToolEnv([add, multiply, store, recall], Memory, max_turns=max_turns,
                   system_prompt="You are a careful calculator. Use the tools; do not compute in your head.")


def tasks(split: str = "train") -> list[Task]:
    rng = random.Random({"train": 0, "test": 1}.get(split, 2))
    out = []
    for i in range(16):
        a, b, c = rng.randint(1, 20), rng.randint(1, 20), rng.randint(1, 20)
        result = (a + b) * c
        out.append(Task(id=f"calc-{split}-{i}", split=split,
                        prompt=[{"role": "user", "content": f"Compute ({a} + {b}) * {c}, store the result in "
                                                            "memory, and reply with the number."}],
                        reference={"answer": result, "final_state": {"register": result},
                                   "expected_calls": [{"name": "store", "arguments": {"value": result}}]}))
    return out


def answer_correct(text: str, reference: dict) -> float:
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    return float(bool(numbers) and float(numbers[-1]) == reference["answer"])


def rubric() -> Rubric:
    return Rubric(turn={"format": (tool_call_format, 0.0)},
                  outcome={"state": final_state_match, "answer": answer_correct, "calls": (expected_calls, 0.0)},
                  env_weight=0.0)


def solver_policy(seed: int = 0) -> ScriptedPolicy:
    """Solves every task: add, multiply (from the tool replies), store, answer."""

    def script(agent, messages, rng):
        a, b, c = map(int, re.findall(r"\d+", messages[1]["content"])[:3])
        results = [m["content"] for m in messages if m["role"] == "tool"]
        steps = [lambda: format_tool_call("add", {"a": a, "b": b}),
                 lambda: format_tool_call("multiply", {"a": float(results[0]), "b": c}),
                 lambda: format_tool_call("store", {"value": float(results[1])}),
                 lambda: f"The result is {float(results[1]):g}."]
        return steps[len(results)]()

    return ScriptedPolicy(script, seed=seed)
