"""The OpenAI chat-completions wire format, translated to and from agentrl's messages and `Turn`s.

A policy sees plain ``{"role", "content"}`` messages, so the gateway writes the OpenAI-only parts as text:

- `tools` become one system message at the start of the conversation (`tools_message`): the JSON schemas
  between ``<tools>`` tags and the instruction to answer with ``<tool_call>{"name": ..., "arguments": ...}
  </tool_call>`` (the Hermes format most open chat models were tuned on).
- An assistant message with ``tool_calls`` (history the program sends back after a rewrite) is rendered
  the same way, so a replayed reply reads like a sampled one.
- The reply text is parsed back (`parse_reply`): every well-formed ``<tool_call>`` block becomes an OpenAI
  tool call, the rest stays content. A malformed block is the model's mistake, not a server error: it is
  left in the content for the program to see.

`normalize` reduces a request message to what decides the prompt tokens (role, text, tool calls by name
and arguments), so the session can tell whether a request extends the conversation it already sampled.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from agentrl.types import Message, Turn

ROLES = ("system", "developer", "user", "assistant", "tool")
# Request fields the gateway understands. Sampling fields are accepted but the policy's own settings win
# (a trainer samples every episode the same way); they are recorded in the turn's info.
SAMPLING_FIELDS = frozenset({"temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop",
                             "frequency_penalty", "presence_penalty", "logprobs", "top_logprobs"})
KNOWN_FIELDS = frozenset({"model", "messages", "tools", "tool_choice", "parallel_tool_calls", "n", "stream",
                          "stream_options", "user", "metadata", "store", "response_format"}) | SAMPLING_FIELDS
_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)


class RequestError(Exception):
    """A request the gateway refuses; becomes an OpenAI-style error body with this HTTP status."""

    def __init__(self, message: str, *, status: int = 400, param: str | None = None,
                 code: str = "invalid_request", kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.param, self.code, self.kind = status, param, code, kind

    def body(self) -> dict[str, Any]:
        return error_body(str(self), param=self.param, code=self.code, kind=self.kind)


def error_body(message: str, *, param: str | None = None, code: str = "invalid_request",
               kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def check_request(body: Any) -> dict[str, Any]:
    """The request body if it is one the gateway serves; `RequestError` naming the problem otherwise."""
    if not isinstance(body, Mapping):
        raise RequestError(f"the request body must be a JSON object, got {type(body).__name__}.")
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise RequestError(f"unknown request field(s) {unknown}; this gateway serves {sorted(KNOWN_FIELDS)}.",
                           param=unknown[0])
    if body.get("n", 1) != 1:
        raise RequestError(f"n={body['n']!r}: the gateway samples one choice per request (n=1), because each "
                           "request is one turn of the episode. Send n separate requests instead.", param="n")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("`messages` must be a non-empty list of message objects.", param="messages")
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or m.get("role") not in ROLES:
            raise RequestError(f"messages[{i}] must be an object whose role is one of {list(ROLES)}, got {m!r}.",
                               param=f"messages[{i}]")
        text_of(m.get("content"), f"messages[{i}].content")
    tools = body.get("tools")
    well_formed = isinstance(tools, list) and all(
        isinstance(t, Mapping) and t.get("type") == "function" and isinstance(t.get("function"), Mapping)
        and t["function"].get("name") for t in tools)
    if tools is not None and not well_formed:
        raise RequestError('`tools` must be a list of {"type": "function", "function": {"name": ..., '
                           '"parameters": {...}}} objects.', param="tools")
    return dict(body)


def text_of(content: Any, where: str = "content") -> str:
    """The text of a message's content: a string, None, or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, Mapping) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise RequestError(f"{where}: only text content parts are served (a policy reads tokens of "
                                   f"text); got {part!r}.", param=where)
            parts.append(part["text"])
        return "".join(parts)
    raise RequestError(f"{where} must be a string, null or a list of text parts, got {type(content).__name__}.",
                       param=where)


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _calls(message: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {} if isinstance(call, Mapping) else {}
        out.append((str(fn.get("name", "")), json.dumps(_arguments(fn.get("arguments")), sort_keys=True)))
    return tuple(out)


def normalize(message: Mapping[str, Any]) -> tuple:
    """What in a message decides its prompt tokens; equal for the reply the gateway sent and the copy of it the
    program sends back (ids, null vs empty content and extra SDK fields do not matter)."""
    role = "system" if message["role"] == "developer" else message["role"]
    return role, text_of(message.get("content")).strip(), _calls(message)


def tools_key(tools: Sequence[Mapping[str, Any]] | None) -> str:
    return json.dumps(list(tools or ()), sort_keys=True)


def tools_message(tools: Sequence[Mapping[str, Any]]) -> Message:
    schemas = "\n".join(json.dumps(t["function"], sort_keys=True) for t in tools)
    return {"role": "system", "content": (
        f"Functions you may call:\n<tools>\n{schemas}\n</tools>\n"
        'To call one, reply <tool_call>{"name": NAME, "arguments": {...}}</tool_call>')}


def policy_message(message: Mapping[str, Any]) -> Message:
    """A request message as the policy sees it: role and text, tool calls written in the Hermes format."""
    role = "system" if message["role"] == "developer" else message["role"]
    text = text_of(message.get("content"))
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        block = json.dumps({"name": fn.get("name"), "arguments": _arguments(fn.get("arguments"))})
        text = f"{text}\n<tool_call>\n{block}\n</tool_call>" if text else f"<tool_call>\n{block}\n</tool_call>"
    return {"role": role, "content": text}


def parse_reply(text: str, call_prefix: str) -> dict[str, Any]:
    """The OpenAI assistant message for a sampled reply text."""
    calls, kept, last = [], [], 0
    for match in _CALL.finditer(text):
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError:
            continue
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            continue
        kept.append(text[last:match.start()])
        last = match.end()
        arguments = data.get("arguments", {})
        calls.append({"id": f"{call_prefix}_{len(calls)}", "type": "function",
                      "function": {"name": data["name"], "arguments": json.dumps(arguments)}})
    kept.append(text[last:])
    content = "".join(kept).strip() if calls else text
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if calls:
        message["tool_calls"] = calls
    return message


def finish_reason(turn: Turn, message: Mapping[str, Any]) -> str:
    if message.get("tool_calls"):
        return "tool_calls"
    return "length" if turn.finish_reason == "length" else "stop"


def usage(turn: Turn) -> dict[str, int]:
    p, c = len(turn.prompt_ids), len(turn.completion_ids)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def completion_body(completion_id: str, model: str, turn: Turn, message: dict[str, Any]) -> dict[str, Any]:
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(turn, message),
                         "logprobs": None}],
            "usage": usage(turn)}


def stream_chunks(completion_id: str, model: str, turn: Turn, message: dict[str, Any],
                  include_usage: bool) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` events of a finished reply: role, content, tool calls, finish reason."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}

    out = [chunk({"role": "assistant", "content": ""})]
    if message.get("content"):
        out.append(chunk({"content": message["content"]}))
    for k, call in enumerate(message.get("tool_calls") or ()):
        out.append(chunk({"tool_calls": [{"index": k, **call}]}))
    out.append(chunk({}, finish_reason(turn, message)))
    if include_usage:
        out.append({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [], "usage": usage(turn)})
    return out
