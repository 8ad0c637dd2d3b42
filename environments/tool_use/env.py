"""`ToolEnv`: a single-agent env where the model acts by calling typed Python tools on a stateful domain.

    env = ToolEnv(tools=[deposit, balance], domain=lambda task, seed: Bank(task.env_kwargs["accounts"]))

Each step takes the assistant's reply. Tool calls in it (several = parallel calls, run in the order written,
so a stateful domain sees a deterministic sequence) are executed and answered with one ``role: "tool"``
message each. A reply without any tool call is the final answer and ends the episode; `max_turns` replies
truncate it. Malformed calls, unknown tools and bad arguments are answered with a tool message that explains
the problem and counted in the turn's info; they never raise.

Turn infos (what verifiers in `agentrl.verifiers.tools` read):
``tool_calls``: [{"name", "arguments", "ok", "result"}], ``tool_errors``: [str], ``parse_errors``: int,
``final_answer``: the reply text when the episode ends on an answer.
The domain is built fresh by ``domain(task, seed)`` at every reset (or deep-copied if an object is given);
`state()` returns its JSON-able snapshot for final-state verifiers.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agentrl.env import StepResult
from agentrl.environments.tool_use.parsing import ToolCall, parse_tool_calls, tools_system_prompt
from agentrl.environments.tool_use.tools import Tool, ToolCallError, as_tools
from agentrl.types import Task

AGENT = "assistant"


def to_jsonable(value: Any) -> Any:
    """A JSON-able copy of a tool result or domain state (dataclasses, pydantic models, sets, ...)."""
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(v) for v in value), key=repr)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "__dict__"):
        return to_jsonable({k: v for k, v in vars(value).items() if not k.startswith("_")})
    return str(value)


def result_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(to_jsonable(value))


class ToolEnv:
    possible_agents = (AGENT,)

    def __init__(self, tools: Iterable[Callable[..., Any] | Tool], domain: Any = None, *, system_prompt: str = "",
                 max_turns: int = 16, tool_timeout: float | None = 10.0):
        self.tools = as_tools(tools, timeout=tool_timeout)
        self._domain_source = domain
        self.system_prompt = system_prompt
        self.max_turns = max_turns
        self.domain: Any = None
        self._turn = 0
        self._call_count = 0

    @property
    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema for t in self.tools.values()]

    def _new_domain(self, task: Task, seed: int) -> Any:
        source = self._domain_source
        if callable(source) and not isinstance(source, type):
            return source(task, seed)
        if isinstance(source, type):
            return source(**task.env_kwargs)
        return copy.deepcopy(source)

    def state(self) -> Any:
        """The domain's state as JSON-able data (its `snapshot()` if it has one)."""
        snap = getattr(self.domain, "snapshot", None)
        return to_jsonable(snap() if callable(snap) else self.domain)

    async def reset(self, task: Task, seed: int) -> dict[str, Any]:
        self.domain = self._new_domain(task, seed)
        self._turn = 0
        self._call_count = 0
        system = {"role": "system", "content": tools_system_prompt(self.schemas, self.system_prompt)}
        return {AGENT: [system, *task.prompt]}

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        self._turn += 1
        parsed = parse_tool_calls(actions[AGENT])
        if not parsed.has_calls:
            info = {"tool_calls": [], "tool_errors": [], "parse_errors": 0, "final_answer": parsed.text}
            return StepResult({}, {AGENT: 0.0}, {AGENT: True}, {AGENT: False}, {AGENT: info})
        messages, records, errors = [], [], []
        for problem in parsed.errors:
            messages.append(self._tool_message("", f"Error: {problem}", self._next_id()))
            errors.append(problem)
        for call in parsed.calls:
            record = await self._execute(call)
            records.append(record)
            if not record["ok"]:
                errors.append(record["result"])
            messages.append(self._tool_message(call.name, record["result"], call.id or self._next_id()))
        info = {"tool_calls": records, "tool_errors": errors, "parse_errors": len(parsed.errors)}
        truncated = self._turn >= self.max_turns
        obs = {} if truncated else {AGENT: messages}
        return StepResult(obs, {AGENT: 0.0}, {AGENT: False}, {AGENT: truncated}, {AGENT: info})

    async def _execute(self, call: ToolCall) -> dict[str, Any]:
        tool = self.tools.get(call.name)
        try:
            if tool is None:
                raise ToolCallError(f"there is no tool named {call.name!r}; available tools: {sorted(self.tools)}.")
            result = await tool.call(self.domain, call.arguments)
            return {"name": call.name, "arguments": to_jsonable(call.arguments), "ok": True,
                    "result": result_text(result)}
        except ToolCallError as e:
            return {"name": call.name, "arguments": to_jsonable(call.arguments), "ok": False, "result": f"Error: {e}"}

    def _next_id(self) -> str:
        self._call_count += 1
        return f"call_{self._call_count}"

    @staticmethod
    def _tool_message(name: str, content: str, call_id: str) -> dict[str, Any]:
        return {"role": "tool", "name": name, "tool_call_id": call_id, "content": content}

    async def close(self) -> None:
        self.domain = None
