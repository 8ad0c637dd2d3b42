"""`OpenAIPolicy`: any ``/v1/chat/completions`` endpoint (vLLM serve, hosted APIs) as a `Policy`.

For evaluating models we cannot hold in process. Each turn sends the agent's whole conversation. The returned
Turn's assistant message keeps the server's ``tool_calls``; its content additionally carries each call as
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` so text environments parse one format whatever
the server. Token fields stay empty (no token access), unless the server returns ``prompt_token_ids`` /
``token_ids`` (vLLM with ``return_token_ids``). 429 and 5xx answers are retried with exponential backoff, a
bounded number of times; other failures raise `PolicyError` with the status and an excerpt of the body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from agentrl.errors import ConfigError, ContextOverflowError, PolicyError
from agentrl.policy_contract import assistant_turn
from agentrl.types import AgentID, Message, Turn, as_messages

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class OpenAIPolicy:
    """`base_url` is the server root ending in ``/v1`` (e.g. ``http://127.0.0.1:8000/v1``); `sampling` holds
    request fields such as ``temperature``, ``max_tokens``, ``top_p``, ``seed``."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, tools: Sequence[Mapping] | None = None,
                 *, timeout: float = 120.0, max_retries: int = 4, backoff: float = 0.5, **sampling: Any):
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url {base_url!r} must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1).")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.tools = list(tools) if tools else None
        self.sampling = sampling
        self.max_retries = max_retries
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None = None) -> Turn:
        messages = as_messages(list(messages), "messages")
        body = {"model": self.model, "messages": list(messages), **self.sampling}
        if self.tools:
            body["tools"] = self.tools
        data = await self._post(body)
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError) as e:
            raise PolicyError(f"{self.url} answered without choices[0].message: {json.dumps(data)[:300]}") from e
        tool_calls = message.get("tool_calls") or []
        text = (message.get("content") or "") + "".join(tool_call_text(c) for c in tool_calls)
        turn = assistant_turn(agent, messages, previous, text, finish_reason=choice.get("finish_reason") or "stop",
                              info={"usage": data.get("usage", {})}, **_token_fields(data, choice))
        if tool_calls:
            reply = {**turn.messages[-1], "tool_calls": tool_calls}
            turn = _with_reply(turn, reply)
        return turn

    async def _post(self, body: dict) -> dict:
        for attempt in range(self.max_retries + 1):
            try:
                response = await self._client.post(self.url, json=body)
            except httpx.TransportError as e:
                if attempt < self.max_retries:
                    await asyncio.sleep(self.backoff * 2**attempt)
                    continue
                raise PolicyError(f"cannot reach {self.url} ({type(e).__name__}: {e}). Is the server running and "
                                  "is base_url right?") from e
            if response.status_code in _RETRY_STATUS and attempt < self.max_retries:
                await asyncio.sleep(_retry_after(response) or self.backoff * 2**attempt)
                continue
            if response.status_code >= 400:
                raise _http_error(self.url, response)
            return response.json()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._client.aclose()


def tool_call_text(call: Mapping[str, Any]) -> str:
    """One OpenAI tool call as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``."""
    fn = call.get("function") or {}
    arguments = fn.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError:
            pass  # keep the server's string: the env reports the malformed call to the agent
    return "<tool_call>" + json.dumps({"name": fn.get("name"), "arguments": arguments}) + "</tool_call>"


def _token_fields(data: Mapping, choice: Mapping) -> dict[str, Any]:
    prompt_ids = data.get("prompt_token_ids") or choice.get("prompt_token_ids")
    completion_ids = choice.get("token_ids")
    if not prompt_ids or not completion_ids:
        return {}
    fields: dict[str, Any] = {"prompt_ids": prompt_ids, "completion_ids": completion_ids}
    content = (choice.get("logprobs") or {}).get("content") or []
    if len(content) == len(completion_ids):
        fields["logprobs"] = [c["logprob"] for c in content]
    return fields


def _with_reply(turn: Turn, reply: Message) -> Turn:
    import dataclasses

    return dataclasses.replace(turn, messages=(*turn.messages[:-1], reply))


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers.get("retry-after", "")), 30.0)
    except ValueError:
        return None


def _http_error(url: str, response: httpx.Response) -> PolicyError:
    excerpt = response.text[:500]
    message = f"{url} answered HTTP {response.status_code}: {excerpt}"
    if response.status_code == 400 and ("context length" in excerpt or "maximum context" in excerpt):
        return ContextOverflowError(message)
    return PolicyError(message)
