"""`ToolEnv`: a single-agent env where the model acts by calling typed Python tools on a stateful domain.

    env = ToolEnv(tools=[deposit, balance], domain=lambda task, seed: Bank(task.env_kwargs["accounts"]))

Each step takes the assistant's reply. Tool calls in it (several = parallel calls, run in the order written,
so a stateful domain sees a deterministic sequence) are executed and answered with one ``role: "tool"``
message each. A reply without any tool call is the final answer to the current user turn: the next user turn
follows (scripted in ``task.env_kwargs["user_turns"]`` or asked of `user`, see
`agentrl.environments.tool_use.users`), and when none is left the episode ends. `max_turns` counts the
assistant's replies over the whole episode (every env step); `max_steps_per_user_turn` (or a turn's own
``max_steps``) bounds the replies within one user turn. Reaching either truncates the episode (the step's
``truncated`` flag), with ``stop_reason`` ``"max_turns"`` or ``"user_turn_step_limit"`` in the last turn's info. Malformed calls,
unknown tools and bad arguments are answered with a tool message that explains the problem and counted in the
turn's info; they never raise.

Tool sets. The model is shown the listed tools; `hidden_tools` are callable but never listed; tools named in
no list (when `initial_tools` is given) wait for a user turn's ``add_tools``; ``remove_tools`` makes a tool
uncallable. A task overrides with ``env_kwargs["tools"]`` / ``["hidden_tools"]``. A change is announced with
the user turn by `announce(added_schemas, removed_names) -> messages` (default: a system message listing the
new tools in the Hermes layout of the first system prompt).

Results. `render(value, tool) -> str` turns a return value into the tool message (default `render_json`:
strings as they are, anything else as JSON; `render_str` is ``str()``; `truncate(render, n)` cuts long ones).
A tool may return `ToolResult(content, is_error=True)`, or set ``Tool.is_error``, to answer an error as text.

Turn infos (what verifiers in `agentrl.verifiers.tools` read):
``tool_calls``: [{"name", "arguments", "ok", "result"}], ``tool_errors``: [str], ``parse_errors``: int,
``user_turn``: the index of the current user turn (0 = the task's prompt), ``final_answer``: the reply text
when it ends a user turn, ``user_turn_end``: True on the reply that ends a user turn (answered or truncated),
with ``state``, the domain's JSON snapshot after that user turn (unless ``snapshot_states=False``).
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
from agentrl.environments.tool_use.tools import Tool, ToolCallError, ToolResult, as_tools
from agentrl.environments.tool_use.users import UserFn, UserTurn, next_from, scripted_turns
from agentrl.errors import ConfigError
from agentrl.types import Message, Task

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


def render_json(value: Any, tool: Tool | None = None) -> str:
    """The default rendering: a string as it is, anything else as JSON (``json.dumps`` defaults)."""
    return value if isinstance(value, str) else json.dumps(to_jsonable(value))


def render_str(value: Any, tool: Tool | None = None) -> str:
    """``str(value)``: what benchmarks that print Python results show (``{'a': 1}``, ``None``)."""
    return str(value)


def truncate(render: Callable[[Any, Any], str], max_chars: int, marker: str = "...") -> Callable[[Any, Any], str]:
    """`render`, cut to `max_chars` characters with `marker` at the end when longer."""
    def cut(value: Any, tool: Tool | None = None) -> str:
        text = render(value, tool)
        return text if len(text) <= max_chars else text[:max(0, max_chars - len(marker))] + marker
    return cut


result_text = render_json  # the name older code imports


def announce_tools(added: list[dict[str, Any]], removed: list[str]) -> list[Message]:
    """The default announcement of a tool-set change: one system message with the new signatures."""
    parts = []
    if added:
        listing = "\n".join(json.dumps(s) for s in added)
        parts.append(f"New tools are available:\n<tools>\n{listing}\n</tools>")
    if removed:
        parts.append(f"These tools are no longer available: {', '.join(removed)}.")
    return [{"role": "system", "content": "\n\n".join(parts)}]


Render = Callable[[Any, Any], str]
Announce = Callable[[list[dict[str, Any]], list[str]], list[Message]]


class ToolEnv:
    possible_agents = (AGENT,)

    def __init__(self, tools: Iterable[Callable[..., Any] | Tool], domain: Any = None, *, system_prompt: str = "",
                 max_turns: int = 16, tool_timeout: float | None = 10.0, user: UserFn | None = None,
                 max_steps_per_user_turn: int | None = None, initial_tools: Iterable[str] | None = None,
                 hidden_tools: Iterable[str] = (), render: Render = render_json, announce: Announce = announce_tools,
                 snapshot_states: bool = True):
        self.tools = as_tools(tools, timeout=tool_timeout)
        self._domain_source = domain
        self.system_prompt = system_prompt
        self.max_turns = max_turns
        self.user = user
        self.max_steps_per_user_turn = max_steps_per_user_turn
        self.initial_tools = None if initial_tools is None else tuple(initial_tools)
        self.hidden_tools = tuple(hidden_tools)
        self._names(self.initial_tools or (), "initial_tools")
        self._names(self.hidden_tools, "hidden_tools")
        self.render = render
        self.announce = announce
        self.snapshot_states = snapshot_states
        self.domain: Any = None
        self._started = False
        self.listed: list[str] = []
        self.callable: set[str] = set()
        self.transcript: list[Message] = []
        self._script: list[UserTurn] | None = None
        self._user_turn = 0
        self._turn_steps = 0
        self._turn_limit: int | None = None
        self._turn = 0
        self._call_count = 0

    def _names(self, names: Iterable[str], where: str) -> tuple[str, ...]:
        names = tuple(names)
        unknown = [n for n in names if n not in self.tools]
        if unknown:
            raise ConfigError(f"{where} names {unknown}, which are not tools of this env; its tools: "
                              f"{sorted(self.tools)}. Pass every tool to ToolEnv(tools=...) and name them here.")
        return names

    @property
    def schemas(self) -> list[dict[str, Any]]:
        """The schemas of the tools listed to the model now (all listed ones before the first reset)."""
        names = self.listed if self._started else [n for n in self.tools if n not in self.hidden_tools]
        return [self.tools[n].schema for n in names]

    def _new_domain(self, task: Task, seed: int) -> Any:
        source = self._domain_source
        if callable(source) and not isinstance(source, type):
            return source(task, seed)
        if isinstance(source, type):
            return source(**{k: v for k, v in task.env_kwargs.items() if k not in _TOOL_ENV_KEYS})
        return copy.deepcopy(source)

    def state(self) -> Any:
        """The domain's state as JSON-able data (its `snapshot()` if it has one)."""
        snap = getattr(self.domain, "snapshot", None)
        return to_jsonable(snap() if callable(snap) else self.domain)

    async def reset(self, task: Task, seed: int) -> dict[str, Any]:
        kw = task.env_kwargs
        where = f"task {task.id!r} env_kwargs"
        hidden = self._names(kw.get("hidden_tools", self.hidden_tools), f"{where}['hidden_tools']")
        initial = kw.get("tools", self.initial_tools)
        initial = [n for n in self.tools if n not in hidden] if initial is None else \
            list(self._names(initial, f"{where}['tools']"))
        script = scripted_turns(task)
        for i, turn in enumerate(script or ()):
            self._names((*turn.add_tools, *turn.remove_tools), f"task {task.id!r} user_turns[{i}]")
        self.domain = self._new_domain(task, seed)
        self.listed, self.callable, self._started = initial, {*initial, *hidden}, True
        self._script = list(script) if script is not None else None
        self._user_turn, self._turn_steps, self._turn, self._call_count = 0, 0, 0, 0
        self._turn_limit = self.max_steps_per_user_turn
        system = {"role": "system", "content": tools_system_prompt(self.schemas, self.system_prompt)}
        self.transcript = [system, *task.prompt]
        self._task = task
        return {AGENT: [system, *task.prompt]}

    async def step(self, actions: Mapping[str, str]) -> StepResult:
        self._turn += 1
        self._turn_steps += 1
        reply = actions[AGENT]
        self.transcript.append({"role": "assistant", "content": reply})
        parsed = parse_tool_calls(reply)
        info: dict[str, Any] = {"tool_calls": [], "tool_errors": [], "parse_errors": 0, "user_turn": self._user_turn}
        if not parsed.has_calls:
            info["final_answer"] = parsed.text
            self._end_user_turn(info)
            nxt = await self._next_user_turn()
            if nxt is None:
                info["stop_reason"] = "no_more_user_turns"
                return StepResult({}, {AGENT: 0.0}, {AGENT: True}, {AGENT: False}, {AGENT: info})
            messages = self._begin_user_turn(nxt)
        else:
            messages = await self._run_calls(parsed, info)
        reason = ("max_turns" if self._turn >= self.max_turns else
                  "user_turn_step_limit" if self._turn_limit is not None and self._turn_steps >= self._turn_limit
                  and "final_answer" not in info else None)
        if reason:
            info["stop_reason"] = reason
            if "final_answer" not in info:
                self._end_user_turn(info)
            return StepResult({}, {AGENT: 0.0}, {AGENT: False}, {AGENT: True}, {AGENT: info})
        self.transcript.extend(messages)
        return StepResult({AGENT: messages}, {AGENT: 0.0}, {AGENT: False}, {AGENT: False}, {AGENT: info})

    def _end_user_turn(self, info: dict[str, Any]) -> None:
        info["user_turn_end"] = True
        if self.snapshot_states:
            info["state"] = self.state()

    async def _next_user_turn(self) -> UserTurn | None:
        if self._script is not None:
            return self._script.pop(0) if self._script else None
        if self.user is None:
            return None
        return await next_from(self.user, self._task, self.transcript)

    def _begin_user_turn(self, turn: UserTurn) -> list[Message]:
        self._user_turn += 1
        self._turn_steps = 0
        self._turn_limit = turn.max_steps or self.max_steps_per_user_turn
        self._names((*turn.add_tools, *turn.remove_tools), f"user turn {self._user_turn}")
        added = [n for n in turn.add_tools if n not in self.listed]
        removed = [n for n in turn.remove_tools if n in self.callable]
        self.listed = [n for n in self.listed if n not in removed] + added
        self.callable = (self.callable - set(removed)) | set(added)
        shown = self.announce([self.tools[n].schema for n in added], removed) if added or removed else []
        return [*shown, {"role": "user", "content": turn.content}]

    async def _run_calls(self, parsed: Any, info: dict[str, Any]) -> list[Message]:
        messages = []
        for problem in parsed.errors:
            messages.append(self._tool_message("", f"Error: {problem}", self._next_id()))
            info["tool_errors"].append(problem)
        info["parse_errors"] = len(parsed.errors)
        for call in parsed.calls:
            record = await self._execute(call)
            info["tool_calls"].append(record)
            if not record["ok"]:
                info["tool_errors"].append(record["result"])
            messages.append(self._tool_message(call.name, record["result"], call.id or self._next_id()))
        return messages

    async def _execute(self, call: ToolCall) -> dict[str, Any]:
        tool = self.tools.get(call.name) if call.name in self.callable else None
        record = {"name": call.name, "arguments": to_jsonable(call.arguments)}
        try:
            if tool is None:
                raise ToolCallError(f"there is no tool named {call.name!r} available now; available tools: "
                                    f"{sorted(self.listed)}. Call one of those.")
            result = await tool.call(self.domain, call.arguments)
        except ToolCallError as e:
            return {**record, "ok": False, "result": f"Error: {e}"}
        failed = isinstance(result, ToolResult) and result.is_error or \
            (not isinstance(result, ToolResult) and tool.is_error is not None and bool(tool.is_error(result)))
        value = result.content if isinstance(result, ToolResult) else result
        return {**record, "ok": not failed, "result": self.render(value, tool)}

    def _next_id(self) -> str:
        self._call_count += 1
        return f"call_{self._call_count}"

    @staticmethod
    def _tool_message(name: str, content: str, call_id: str) -> dict[str, Any]:
        return {"role": "tool", "name": name, "tool_call_id": call_id, "content": content}

    async def close(self) -> None:
        self.domain = None


# task.env_kwargs keys ToolEnv reads itself; the rest go to a domain class's constructor
_TOOL_ENV_KEYS = frozenset({"tools", "hidden_tools", "user_turns", "user_instructions"})
