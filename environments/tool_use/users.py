"""The user side of a `ToolEnv` episode: scripted user turns or a simulated user.

A user turn is one user message and the tool-set changes that come with it (`UserTurn`). The task's
``prompt`` is the first user turn; after the agent's final answer (a reply without tool calls) the next one
arrives, from

- a script: ``task.env_kwargs["user_turns"]``, a list of strings or `UserTurn` dicts
  (``{"content": ..., "add_tools": [...], "remove_tools": [...], "max_steps": n}``), or
- a simulated user given to the env: a function ``user(task, messages) -> str | UserTurn | None`` (sync or
  async; `messages` is the agent's conversation so far; None ends the episode), or `PolicyUser`, which asks
  any agentrl `Policy` (an LLM) to play the user and ends the episode when it writes ``###STOP###``.

The episode ends (terminated) when no user turn is left.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentrl.errors import ConfigError
from agentrl.types import Message, Task

STOP = "###STOP###"


@dataclasses.dataclass(frozen=True)
class UserTurn:
    """One user message; `add_tools` are listed to the model from this turn on, `remove_tools` stop being
    callable; `max_steps` bounds the agent's replies within this turn (None: the env's default)."""

    content: str
    add_tools: tuple[str, ...] = ()
    remove_tools: tuple[str, ...] = ()
    max_steps: int | None = None

    @classmethod
    def parse(cls, value: Any, where: str) -> UserTurn:
        if isinstance(value, UserTurn):
            return value
        if isinstance(value, str):
            return cls(value)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: a user turn is a string or a dict with 'content', got {value!r}.")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(value) - fields
        if unknown or not isinstance(value.get("content"), str):
            raise ConfigError(f"{where}: a user turn needs a 'content' string and may only have the keys "
                              f"{sorted(fields)}; got {sorted(value)}.")
        steps = value.get("max_steps")
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise ConfigError(f"{where}: max_steps must be a positive int, got {steps!r}.")
        return cls(value["content"], tuple(value.get("add_tools", ())), tuple(value.get("remove_tools", ())), steps)


def scripted_turns(task: Task) -> tuple[UserTurn, ...] | None:
    """The later user turns the task scripts, or None when it scripts none (an empty list is an error)."""
    if "user_turns" not in task.env_kwargs:
        return None
    script = task.env_kwargs["user_turns"]
    if isinstance(script, (str, Mapping)) or not isinstance(script, Sequence) or not script:
        raise ConfigError(f"task {task.id!r}: env_kwargs['user_turns'] must be a non-empty list of user turns "
                          f"(strings or {{'content': ...}} dicts), got {script!r}. Drop the key for a task with a "
                          "single user turn.")
    return tuple(UserTurn.parse(t, f"task {task.id!r} user_turns[{i}]") for i, t in enumerate(script))


UserFn = Callable[[Task, Sequence[Message]], Any]


async def next_from(user: UserFn, task: Task, messages: Sequence[Message]) -> UserTurn | None:
    """Ask a simulated user for its next turn (None ends the episode)."""
    reply = user(task, list(messages))
    if inspect.isawaitable(reply):
        reply = await reply
    return None if reply is None else UserTurn.parse(reply, "simulated user reply")


@dataclasses.dataclass
class PolicyUser:
    """A simulated user played by any agentrl `Policy` (an LLM behind vLLM or an API, or a scripted one).

    The policy sees `instructions` (default: ``task.env_kwargs["user_instructions"]``) as its system prompt
    and the conversation with roles swapped (the agent's replies as ``user`` messages, its own as
    ``assistant``; tool traffic hidden). A reply containing `stop` ends the episode; `max_turns` user turns
    at most (counting the task's prompt).
    """

    policy: Any
    instructions: str = ""
    stop: str = STOP
    max_turns: int = 10

    async def __call__(self, task: Task, messages: Sequence[Message]) -> str | None:
        said = sum(1 for m in messages if m.get("role") == "user")
        if said >= self.max_turns:
            return None
        system = self.instructions or str(task.env_kwargs.get("user_instructions", ""))
        flipped = [{"role": "system", "content": system}] if system else []
        for m in messages:
            if m.get("role") == "user":
                flipped.append({"role": "assistant", "content": m.get("content", "")})
            elif m.get("role") == "assistant" and "<tool_call>" not in str(m.get("content", "")):
                flipped.append({"role": "user", "content": m.get("content", "")})
        turn = await self.policy.generate("user", flipped, None)
        return None if self.stop in turn.text else turn.text
