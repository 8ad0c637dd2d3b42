"""Tool calls out of what models actually write.

Accepted, in one reply:
- Hermes/Qwen blocks: ``<tool_call>{"name": "f", "arguments": {...}}</tool_call>``, any number of them (parallel
  calls). Our OpenAI-compatible policy appends a server's native ``tool_calls`` to the content in this very form,
  so this is also the path for OpenAI-style calls.
- Plain JSON: the whole reply is one call object, a list of them, or ``{"tool_calls": [...]}``.
Inside either, a call is ``{"name", "arguments"}`` or OpenAI's ``{"function": {"name", "arguments"}}``; the
arguments may be an object or a JSON string of one.

`parse_tool_calls` never raises: every problem becomes a `ParseResult.errors` entry written for the model.
A reply with no calls and no errors is a plain message (a final answer).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_OPEN = "<tool_call>"
_SHAPE = '{"name": "tool_name", "arguments": {...}}'


@dataclasses.dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any]
    id: str = ""


@dataclasses.dataclass(frozen=True)
class ParseResult:
    calls: tuple[ToolCall, ...] = ()
    errors: tuple[str, ...] = ()
    text: str = ""  # the reply without its tool-call blocks: what the model said in words

    @property
    def has_calls(self) -> bool:
        return bool(self.calls or self.errors)


def _call_from(obj: Any, where: str) -> ToolCall | str:
    if not isinstance(obj, Mapping):
        return f"{where}: a tool call must be a JSON object like {_SHAPE}, got {type(obj).__name__}."
    call_id = obj.get("id") if isinstance(obj.get("id"), str) else ""
    if isinstance(obj.get("function"), Mapping):
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return f"{where}: the tool call has no \"name\" string; write {_SHAPE}."
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as e:
            return f"{where}: the arguments of {name!r} are a string that is not valid JSON ({e.msg})."
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        return f"{where}: the arguments of {name!r} must be a JSON object, got {type(args).__name__}."
    return ToolCall(name, dict(args), call_id)


def _calls_from_json(obj: Any, where: str) -> list[ToolCall | str]:
    if isinstance(obj, Mapping) and isinstance(obj.get("tool_calls"), list):
        obj = obj["tool_calls"]
    items = obj if isinstance(obj, list) else [obj]
    if not items:
        return [f"{where}: an empty list of tool calls."]
    return [_call_from(item, f"{where}[{i}]" if isinstance(obj, list) else where) for i, item in enumerate(items)]


def _looks_like_call(obj: Any) -> bool:
    first = obj[0] if isinstance(obj, list) and obj else obj
    return isinstance(first, Mapping) and ("name" in first or "function" in first or "tool_calls" in first)


def parse_tool_calls(text: str) -> ParseResult:
    """Parse every tool call in a reply; see the module docstring. Never raises."""
    if not isinstance(text, str):
        return ParseResult(errors=(f"the reply must be text, got {type(text).__name__}.",))
    found: list[ToolCall | str] = []
    blocks = _BLOCK.findall(text)
    for i, block in enumerate(blocks):
        where = f"<tool_call> block {i + 1}"
        try:
            obj = json.loads(block.strip())
        except (json.JSONDecodeError, RecursionError) as e:
            msg = getattr(e, "msg", "too deeply nested")
            found.append(f"{where} is not valid JSON ({msg}); write <tool_call>{_SHAPE}</tool_call>.")
            continue
        found.extend(_calls_from_json(obj, where))
    rest = _BLOCK.sub("", text)
    if _OPEN in rest:
        found.append("a <tool_call> tag was opened but never closed with </tool_call>.")
        rest = rest.replace(_OPEN, "")
    if not blocks:
        stripped = _strip_fence(rest.strip())
        if stripped[:1] in ("{", "["):
            try:
                obj = json.loads(stripped)
            except (json.JSONDecodeError, RecursionError):
                obj = None
            if obj is not None and _looks_like_call(obj):
                found.extend(_calls_from_json(obj, "the JSON reply"))
                rest = ""
    calls = tuple(c for c in found if isinstance(c, ToolCall))
    errors = tuple(c for c in found if isinstance(c, str))
    return ParseResult(calls, errors, rest.strip())


def _strip_fence(text: str) -> str:
    match = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    return match.group(1) if match else text


def format_tool_call(name: str, arguments: Mapping[str, Any] | None = None) -> str:
    """One call in the Hermes/Qwen form models are trained on (used by scripted policies and docs)."""
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': dict(arguments or {})})}\n</tool_call>"


def tools_system_prompt(schemas: Sequence[Mapping[str, Any]], preamble: str = "") -> str:
    """A system prompt listing the tools in the Hermes/Qwen layout and how to call them."""
    listing = "\n".join(json.dumps(s) for s in schemas)
    return (f"{preamble}\n\n" if preamble else "") + (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{listing}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n"
        "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>\n"
        "Reply without any tool call to give your final answer."
    )
