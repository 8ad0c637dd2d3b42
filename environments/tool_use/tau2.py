"""tau2-bench (airline, retail, telecom) on our env contract, scored by tau2's own evaluator.

Two agents take turns: ``assistant`` (the agent under training or evaluation) and ``user`` (the simulated
customer, driven by any of our policies). The episode opens as tau2's does: the assistant's fixed greeting,
then the user speaks. Each reply is parsed with `parse_tool_calls`; calls run on tau2's own domain
environment (`Environment.get_response`, requestor ``assistant`` or ``user``: in telecom the user operates
their phone through user tools) and the tool messages go back to the caller. A reply without calls goes to
the other side. The user ends the episode with ``###STOP###`` (or ``###TRANSFER###``/``###OUT-OF-SCOPE###``),
the assistant may end it with ``###STOP###``; `max_steps` messages truncate it (tau2 scores that 0).

The whole conversation is kept as tau2 messages; the terminal step's info carries it (``info["tau2"]``), and
the outcome reward `tau2_reward` re-scores it from that record alone, so a saved episode can be re-scored
without the env.

Speed. tau2's own constructors parse each domain's database file and validate it into pydantic objects on
every call, and its `evaluate_simulation` builds two such environments per score (one replaying the
conversation, one replaying the gold actions) and hashes both databases: about 3 s per airline episode.
Here a domain's database files are read once and each fresh environment validates its own objects from
that data with tau2's own database classes (what `DB.load` does after reading the file), so no state is
shared between episodes; and the gold side of the database check, which depends on the task alone, is computed once per
task (the same tau2 calls, in the same order, as its evaluator) and reused. `evaluate` then combines tau2's
own environment, action and communication evaluators exactly as `evaluate_simulation` does;
`evaluate_with_tau2` is tau2's untouched entry point, which the tests hold `evaluate` to on every test task.

`pass_hat_k` is tau-bench's pass^k: the chance that k independent tries at a task all succeed.

This module holds the env (`Tau2Env`) and is the one to import from (the registry's entry points name it); the
rest lives in siblings: `tau2_domains` (tau2 itself, its tasks and fresh environments), `tau2_scoring`
(`evaluate`, `tau2_reward`, `rubric`, pass^k) and `tau2_scripts` (`probe_policy`, `GoldReplay`).
"""


from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from agentrl.env import StepResult
from agentrl.environments.tool_use.parsing import parse_tool_calls, tools_system_prompt
from agentrl.environments.tool_use.tau2_domains import (
    ASSISTANT,
    DOMAINS,
    GREETING,
    OUT_OF_SCOPE,
    STOP,
    TRANSFER,
    USER,
    Tau2Error,
    airline_tasks,
    check_domain,
    database_sources,
    find_task,
    load_tau2,
    new_environment,
    retail_tasks,
    tasks,
    tau2_environment,
    tau2_tasks,
    telecom_tasks,
)
from agentrl.environments.tool_use.tau2_scoring import (
    evaluate,
    evaluate_with_tau2,
    pass_hat_k,
    pass_hat_k_of_episodes,
    rubric,
    tau2_record,
    tau2_reward,
)
from agentrl.environments.tool_use.tau2_scripts import GoldReplay, probe_policy, write_tool_indices
from agentrl.types import Task

__all__ = ["ASSISTANT", "DOMAINS", "GREETING", "OUT_OF_SCOPE", "STOP", "TRANSFER", "USER", "GoldReplay",
           "Tau2Env", "Tau2Error", "airline_tasks", "check_domain", "database_sources", "evaluate",
           "evaluate_with_tau2", "find_task", "load_tau2", "new_environment", "pass_hat_k", "pass_hat_k_of_episodes",
           "probe_policy", "retail_tasks", "rubric", "tasks", "tau2_environment", "tau2_record", "tau2_reward",
           "tau2_tasks", "telecom_tasks", "write_tool_indices"]


class Tau2Env:
    """One tau2 task as a two-agent conversation (see the module docstring)."""

    possible_agents = (ASSISTANT, USER)

    def __init__(self, domain: str, max_steps: int = 200, environment: Callable[[str], Any] | None = None):
        """`environment(domain)` makes each episode's fresh tau2 environment; default `new_environment`
        (cached databases), `tau2_environment` is tau2's own file-reading constructor."""
        self.domain = check_domain(domain)
        self.max_steps = max_steps
        self.make_environment = environment or new_environment
        self.env: Any = None
        self.task: Any = None
        self.trajectory: list[Any] = []
        self._calls = 0
        self._assistant_started = False

    async def reset(self, task: Task, seed: int) -> dict[str, Any]:
        t2 = load_tau2()
        self.task = find_task(self.domain, task.id)
        self.env = self.make_environment(self.domain)
        initial = self.task.initial_state
        history = list(initial.message_history or []) if initial is not None else []
        self.env.set_state(initialization_data=initial.initialization_data if initial else None,
                           initialization_actions=initial.initialization_actions if initial else None,
                           message_history=history)
        self.trajectory = history or [t2.message.AssistantMessage(role="assistant", content=GREETING)]
        self._calls = 0
        self._assistant_started = False  # the assistant first sees the policy when the user first speaks
        return {USER: [{"role": "system", "content": self.user_system_prompt()},
                       {"role": "user", "content": GREETING}]}

    def agent_system_prompt(self) -> str:
        return _agent_system_prompt(self.domain)

    def user_system_prompt(self) -> str:
        guidelines, schemas = _user_prompt_parts(self.domain)
        text = f"{guidelines}\n\n<scenario>\n{self.task.user_scenario}\n</scenario>"
        return tools_system_prompt(schemas, text) if schemas else text

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        (agent, text), = actions.items()
        parsed = parse_tool_calls(text)
        info: dict[str, Any] = {"tool_calls": [], "tool_errors": list(parsed.errors),
                                "parse_errors": len(parsed.errors)}
        if parsed.has_calls:
            obs = {agent: self._run_calls(agent, parsed, info)}
        else:
            obs = self._speak(agent, text)
        if obs and len(self.trajectory) >= self.max_steps:
            return self._finish(agent, info, "max_steps", truncated=True)
        if not obs:
            return self._finish(agent, info, "user_stop" if agent == USER else "agent_stop")
        return StepResult(obs, {agent: 0.0}, {agent: False}, {agent: False}, {agent: info})

    def _run_calls(self, agent: str, parsed: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
        m = load_tau2().message
        messages = [{"role": "tool", "name": "", "tool_call_id": "", "content": f"Error: {e}"} for e in parsed.errors]
        calls = []
        for call in parsed.calls:
            self._calls += 1
            calls.append(m.ToolCall(id=f"call_{self._calls}", name=call.name, arguments=dict(call.arguments),
                                    requestor=agent))
        if not calls:
            return messages
        cls = m.AssistantMessage if agent == ASSISTANT else m.UserMessage
        self.trajectory.append(cls(role=agent, content=parsed.text or None, tool_calls=calls))
        for call in calls:
            reply = self.env.get_response(call)
            self.trajectory.append(reply)
            info["tool_calls"].append({"name": call.name, "arguments": call.arguments, "ok": not reply.error,
                                       "result": reply.content})
            if reply.error:
                info["tool_errors"].append(reply.content)
            messages.append({"role": "tool", "name": call.name, "tool_call_id": call.id, "content": reply.content})
        return messages

    def _speak(self, agent: str, text: str) -> dict[str, Any]:
        m = load_tau2().message
        cls = m.AssistantMessage if agent == ASSISTANT else m.UserMessage
        self.trajectory.append(cls(role=agent, content=text))
        ends = (STOP,) if agent == ASSISTANT else (STOP, TRANSFER, OUT_OF_SCOPE)
        if any(e in text for e in ends):
            return {}
        if agent == USER:
            shown = [] if self._assistant_started else [{"role": "system", "content": self.agent_system_prompt()},
                                                         {"role": "assistant", "content": GREETING}]
            self._assistant_started = True
            return {ASSISTANT: [*shown, {"role": "user", "content": text}]}
        return {USER: [{"role": "user", "content": text}]}

    def _finish(self, agent: str, info: dict[str, Any], reason: str, truncated: bool = False) -> StepResult:
        info["tau2"] = {"task_id": self.task.id, "domain": self.domain, "termination": reason,
                        "messages": [x.model_dump(mode="json", exclude_none=True, exclude={"timestamp"})
                                     for x in self.trajectory]}  # wall-clock stamps would break seeded replay
        done = {a: True for a in self.possible_agents}
        return StepResult({}, {agent: 0.0}, {a: not truncated for a in done}, {a: truncated for a in done},
                          {agent: info})

    async def close(self) -> None:
        self.env = None


@functools.cache
def _agent_system_prompt(domain: str) -> str:
    """The assistant's prompt depends on the domain alone (policy and tool schemas), so it is built once."""
    env = new_environment(domain)
    preamble = ("You are a customer service agent that helps the user according to the <policy> below. "
                f"In each turn either send a message to the user or make tool calls. End the conversation "
                f"with {STOP} only when the user's requests are settled.\n<policy>\n{env.get_policy()}\n</policy>")
    return tools_system_prompt([t.openai_schema for t in env.get_tools()], preamble)


@functools.cache
def _user_prompt_parts(domain: str) -> tuple[str, tuple[dict[str, Any], ...]]:
    env = new_environment(domain)
    user_tools = env.get_user_tools() if env.user_tools is not None else []
    return load_tau2().guidelines(use_tools=bool(user_tools)), tuple(t.openai_schema for t in user_tools)
