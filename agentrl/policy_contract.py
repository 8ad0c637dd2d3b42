"""The policy contract and the scripted policy used by tests and `check_env`.

A policy turns an agent's conversation into a `Turn`::

    async def generate(self, agent: str, messages: Sequence[Message], previous: Turn | None) -> Turn

`messages` is the agent's whole conversation so far (ending with the newest observation); `previous` is
the agent's last turn in this episode, or None. A token-exact policy extends `previous.prompt_ids +
previous.completion_ids` with the tokens of the messages that are new since then
(``messages[previous.context_messages + 1:]``) instead of re-tokenizing the history.

Implementations: `ScriptedPolicy` (here), the in-process vLLM engine and OpenAI-compatible servers
(`agentrl.inference`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from agentrl.types import AgentID, Message, Turn


@runtime_checkable
class Policy(Protocol):
    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None = None) -> Turn: ...


def new_messages(messages: Sequence[Message], previous: Turn | None) -> list[Message]:
    """The messages an agent has been shown since its previous turn."""
    start = 0 if previous is None else previous.context_messages + 1
    return list(messages[start:])


def assistant_turn(agent: AgentID, messages: Sequence[Message], previous: Turn | None, text: str,
                   **fields) -> Turn:
    """A Turn whose reply is `text`, carrying the new messages of this turn. Token fields go in `fields`."""
    shown = new_messages(messages, previous)
    return Turn(
        agent=agent,
        index=fields.pop("index", 0),
        messages=(*shown, {"role": "assistant", "content": text}),
        context_messages=len(messages),
        **fields,
    )


class ScriptedPolicy:
    """Replies with ``script(agent, messages, rng) -> str``; seeded so the same seed gives the same episode.

    Use it in tests and for env checks. `replies` is a shortcut for a fixed list of replies, cycled.
    """

    def __init__(self, script: Callable[[AgentID, Sequence[Message], random.Random], str] | None = None,
                 *, replies: Sequence[str] | None = None, seed: int = 0):
        if (script is None) == (replies is None):
            raise ValueError("ScriptedPolicy needs exactly one of `script` or `replies`.")
        if replies is not None:
            fixed = list(replies)
            count = iter(range(10**12))
            script = lambda agent, messages, rng: fixed[next(count) % len(fixed)]
        self.script = script
        self.rng = random.Random(seed)

    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None = None) -> Turn:
        text = self.script(agent, messages, self.rng)
        if not isinstance(text, str):
            raise TypeError(f"scripted policy returned {type(text).__name__}, expected the reply text (str).")
        return assistant_turn(agent, messages, previous, text)
