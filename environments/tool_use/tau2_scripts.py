"""Scripted tau2 policies: `probe_policy` (legal moves for `check_env`) and `GoldReplay` (a task's gold
actions replayed by their requestors, optionally with some dropped to build near-miss trajectories).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.environments.tool_use.parsing import format_tool_call
from agentrl.environments.tool_use.tau2_domains import ASSISTANT, STOP, USER, new_environment
from agentrl.policy_contract import ScriptedPolicy


def _tool_names(system_text: str) -> list[tuple[str, list[str]]]:
    """(name, required args) of the tools listed in a tools system prompt."""
    out = []
    for line in system_text.splitlines():
        if line.startswith('{"type": "function"'):
            fn = json.loads(line)["function"]
            out.append((fn["name"], list(fn.get("parameters", {}).get("required", []))))
    return out


def probe_policy(seed: int = 0) -> ScriptedPolicy:
    """Legal moves for `check_env`: the user asks for help, the assistant calls one argument-free tool
    (chosen by the seed), says goodbye; the user then stops."""

    def script(agent: str, messages: Sequence[Mapping[str, Any]], rng: Any) -> str:
        mine = sum(m["role"] == "assistant" for m in messages)
        if agent == USER:
            return "Hello, I need some help with my account." if mine == 0 else STOP
        free = [n for n, req in _tool_names(messages[0].get("content") or "") if not req]
        if not any(m["role"] == "tool" for m in messages) and free:
            return format_tool_call(free[rng.randrange(len(free))])
        return "Thank you for contacting us. Goodbye!"

    return ScriptedPolicy(script, seed=seed)


class GoldReplay:
    """Scripted assistant and user that replay a tau2 task's gold actions (each by its requestor), then the
    assistant states the task's communicate_info and the user stops. `drop` removes actions by index, to build
    near-miss trajectories. Use `policies()` as run_episode's {agent: policy}."""

    def __init__(self, task: Any, drop: Sequence[int] = ()):
        actions = list(task.evaluation_criteria.actions or []) if task.evaluation_criteria else []
        self.queue = [a for i, a in enumerate(actions) if i not in set(drop)]
        self.info = list(task.evaluation_criteria.communicate_info or []) if task.evaluation_criteria else []
        self.concluded = False

    def _assistant(self, agent: str, messages: Any, rng: Any) -> str:
        if self.queue and self.queue[0].requestor == ASSISTANT:
            action = self.queue.pop(0)
            return format_tool_call(action.name, action.arguments)
        if self.queue:
            action = self.queue[0]
            return f"Please run {action.name} with {json.dumps(action.arguments)} on your side."
        self.concluded = True
        return "All done. " + " ".join(self.info) if self.info else "All done. Is there anything else?"

    def _user(self, agent: str, messages: Any, rng: Any) -> str:
        if self.queue and self.queue[0].requestor == USER:
            action = self.queue.pop(0)
            return format_tool_call(action.name, action.arguments)
        return STOP if self.concluded else "Please go ahead."

    def policies(self) -> dict[str, ScriptedPolicy]:
        return {ASSISTANT: ScriptedPolicy(self._assistant), USER: ScriptedPolicy(self._user)}


@functools.cache
def _write_tools(domain: str) -> frozenset[tuple[str, str]]:
    """(requestor, tool name) of every tool that writes to a database, by tau2's own tool types."""
    env = new_environment(domain)
    kits = [(ASSISTANT, env.tools), (USER, env.user_tools)]
    return frozenset((who, name) for who, kit in kits if kit is not None for name in kit.get_tools()
                     if kit.tool_type(name).value == "write")


def write_tool_indices(domain: str, task: Any) -> list[int]:
    """Indices of the task's gold actions whose tool writes to a database."""
    actions = task.evaluation_criteria.actions or [] if task.evaluation_criteria else []
    return [i for i, a in enumerate(actions) if (a.requestor, a.name) in _write_tools(domain)]

