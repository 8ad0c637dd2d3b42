"""`Session`: one episode behind the gateway. Every chat request becomes one `Turn`, token-exact across requests.

    turn, reply = await session.complete(request_body)

How a request is turned into a prompt:

- It **extends** the session's conversation when its messages start with exactly the messages of the previous
  request plus the reply the gateway returned (compared by `protocol.normalize`: role, text, tool calls) and
  its tools are the same. Then the policy gets the previous `Turn` and only the new messages, so the prompt is
  ``previous prompt + sampled tokens + new messages``: history is never re-tokenized.
- Anything else (a first request, a summarised or truncated history, an edited message, changed tools) starts
  a new **segment**: the whole conversation is rendered afresh (`previous=None`). Every turn records its
  segment in ``info["segment"]`` (0, 1, ...) and the first turn of each segment has ``info["segment_start"]``.
  The learner (`agentrl.learner.build_samples`) packs an agent's turns into one sequence only while each
  turn's prompt starts with the previous turn's prompt + completion (`learner.chains`), so each segment
  becomes its own training sequence, and every sampled token is trained on exactly once.

Requests of one session are served one at a time (in arrival order), so the chain is well defined even when a
program sends requests concurrently. A prompt that overflows the context ends the episode as ``truncated``;
later requests are refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from agentrl.errors import ContextOverflowError
from agentrl.gateway import protocol
from agentrl.gateway.protocol import RequestError
from agentrl.types import AgentID, Episode, Message, Status, Task, Turn


class Session:
    """One episode: the turns of every request made with its key, and how the episode stands.

    `key` is the secret in the session's base URL and API key; `name` is the public id used in records.
    `policy` is any `agentrl.Policy` (VLLMPolicy, the torch sampler...); its `generate` gets the agent's
    conversation and the previous turn of the current segment.
    """

    def __init__(self, policy: Any, *, agent: AgentID = "agent", model: str = "agentrl"):
        self.policy, self.agent, self.model = policy, agent, model
        self.key = secrets.token_urlsafe(24)
        self.name = uuid.uuid4().hex
        self.turns: list[Turn] = []
        self.status = Status.OK
        self.error: str | None = None
        self.closed = False
        self._lock = asyncio.Lock()
        self._history: list[tuple] = []  # normalized request messages + replies of the current segment
        self._conversation: list[Message] = []  # the same conversation as the policy sees it
        self._tools = ""
        self._previous: Turn | None = None
        self._segment = -1

    @property
    def segments(self) -> int:
        return self._segment + 1

    async def complete(self, body: Mapping[str, Any]) -> tuple[Turn, dict[str, Any]]:
        """Serve one checked request (`protocol.check_request`): the recorded turn and the OpenAI reply message."""
        async with self._lock:
            self._refuse_if_over()
            messages = list(body["messages"])
            tools = list(body.get("tools") or ())
            normalized = [protocol.normalize(m) for m in messages]
            tools_key = protocol.tools_key(tools)
            n = len(self._history)
            extends = (self._previous is not None and tools_key == self._tools and len(normalized) > n
                       and normalized[:n] == self._history)
            if extends:
                conversation = self._conversation + [protocol.policy_message(m) for m in messages[n:]]
                previous = self._previous
            else:
                self._segment += 1
                conversation = ([protocol.tools_message(tools)] if tools else []) + \
                    [protocol.policy_message(m) for m in messages]
                previous = None
            turn = await self._generate(conversation, previous)
            reply = protocol.parse_reply(turn.text, f"call_{len(self.turns)}")
            info = {**turn.info, "segment": self._segment}
            if not extends:
                info["segment_start"] = True
            if reply.get("tool_calls"):
                info["tool_calls"] = reply["tool_calls"]
            requested = {k: body[k] for k in protocol.SAMPLING_FIELDS if k in body}
            if requested:
                info["requested_sampling"] = requested  # recorded, not applied: the policy's settings win
            turn = dataclasses.replace(turn, index=len(self.turns), info=info)
            self.turns.append(turn)
            self._history = normalized + [protocol.normalize(reply)]
            self._conversation = conversation + [turn.messages[-1]]
            self._previous, self._tools = turn, tools_key
            return turn, reply

    async def _generate(self, conversation: list[Message], previous: Turn | None) -> Turn:
        try:
            return await self.policy.generate(self.agent, conversation, previous)
        except ContextOverflowError as e:
            self.status, self.error = Status.TRUNCATED, str(e)
            raise RequestError(f"this request does not fit the model's context: {e} The episode is recorded as "
                               "truncated; start a new session for a new episode.",
                               code="context_length_exceeded", param="messages") from e
        except Exception as e:
            self.status, self.error = Status.POLICY_ERROR, f"{type(e).__name__}: {e}"
            raise RequestError(f"the policy failed to generate: {type(e).__name__}: {e}", status=500,
                               code="policy_error", kind="server_error") from e

    def _refuse_if_over(self) -> None:
        if self.closed:
            raise RequestError("this session is closed: its episode is over. Ask for a new session.",
                               status=409, code="session_closed")
        if self.status is not Status.OK:
            raise RequestError(f"this session's episode already ended ({self.status.value}: {self.error}); "
                               "start a new session for a new episode.", status=409, code="episode_over")

    def episode(self, task: Task | None = None, env_id: str = "gateway", seed: int = 0) -> Episode:
        """The session's turns as an (unscored) `Episode`; the policy version is the oldest that played a turn."""
        task = task or Task(id=f"gateway-{self.name}")
        version = min((t.policy_version for t in self.turns), default=0)
        return Episode(task=task, env_id=env_id, seed=seed, turns=tuple(self.turns), status=self.status,
                       error=self.error, policy_version=version, id=self.name,
                       info={"gateway_segments": self.segments})
