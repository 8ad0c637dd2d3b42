"""Tools as typed Python functions, described to the model in the OpenAI tools format.

    def deposit(domain: Bank, account: str, amount: float) -> str:
        '''Put money into an account.

        Args:
            account: the account id, e.g. "acc-1".
            amount: how much to deposit.
        '''

    t = Tool.from_function(deposit, timeout=2.0)
    t.schema        # {"type": "function", "function": {"name": "deposit", "parameters": {...}}}
    await t.call(bank, {"account": "acc-1", "amount": 5})

The JSON schema comes from the signature (types, defaults) and the Google-style ``Args:`` section of the
docstring. A parameter named ``domain`` is the env's stateful domain: it is injected, never shown to the model.
Sync and async functions are both accepted; each call runs under the tool's timeout (a sync tool runs in a
worker thread, so a timed-out sync tool may still finish in the background: keep tools short).
`ToolCallError` carries a message meant for the model: what was wrong and how to call the tool correctly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from agentrl.errors import AgentRLError

DOMAIN_PARAM = "domain"
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


class ToolCallError(AgentRLError):
    """A tool call the env refuses or that failed; the message is shown to the model as the tool's reply."""


def _type_schema(annotation: Any) -> dict[str, Any]:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _type_schema(options[0]) if len(options) == 1 else {"anyOf": [_type_schema(a) for a in options]}
    if origin in (list, tuple, set, frozenset):
        return {"type": "array", **({"items": _type_schema(args[0])} if args else {})}
    if origin in (dict, Mapping):
        return {"type": "object"}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"enum": [m.value for m in annotation]}
    if annotation in _JSON_TYPES:
        return {"type": _JSON_TYPES[annotation]}
    return {}


def _doc_sections(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary and per-argument descriptions."""
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    current = None
    in_args = False
    for line in lines:
        stripped = line.strip()
        if re.fullmatch(r"(Args|Arguments|Parameters):", stripped):
            in_args = True
            continue
        if in_args and re.fullmatch(r"[A-Z][A-Za-z ]*:", stripped):  # next section (Returns:, Raises:)
            in_args = False
        if not in_args:
            if not params:
                summary.append(stripped)
            continue
        match = re.match(r"(\w+)\s*(\([^)]*\))?:\s*(.*)", stripped)
        if match and line.startswith(" ") and not line.startswith("        "):
            current = match.group(1)
            params[current] = match.group(3)
        elif current and stripped:
            params[current] += " " + stripped
    return " ".join(s for s in summary if s).strip(), params


@dataclasses.dataclass(frozen=True)
class Tool:
    """A callable the model may use: its name, description, JSON-schema parameters and the function."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    fn: Callable[..., Any]
    timeout: float | None = 10.0
    takes_domain: bool = False

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
                      timeout: float | None = 10.0) -> Tool:
        if isinstance(fn, Tool):
            return fn
        if not callable(fn):
            raise TypeError(f"a tool must be a function, got {fn!r}.")
        summary, docs = _doc_sections(fn.__doc__ or "")
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # unresolvable forward references: fall back to raw annotations  # noqa: BLE001
            hints = {}
        props: dict[str, Any] = {}
        required: list[str] = []
        takes_domain = False
        for p in inspect.signature(fn).parameters.values():
            if p.name == DOMAIN_PARAM:
                takes_domain = True
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"tool {fn.__name__!r}: *args/**kwargs cannot be described to a model; "
                                "name every parameter.")
            prop = _type_schema(hints.get(p.name, p.annotation))
            if p.name in docs:
                prop["description"] = docs[p.name]
            if p.default is inspect.Parameter.empty:
                required.append(p.name)
            elif p.default is None or isinstance(p.default, (str, int, float, bool)):
                prop["default"] = p.default
            props[p.name] = prop
        schema = {"type": "object", "properties": props, "required": required}
        return cls(name or fn.__name__, description or summary, schema, fn, timeout, takes_domain)

    @property
    def schema(self) -> dict[str, Any]:
        """The OpenAI tools-format description of this tool."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}}

    def check_arguments(self, arguments: Any) -> None:
        """Raise `ToolCallError` saying what is wrong with `arguments` (missing, unknown or mistyped)."""
        if not isinstance(arguments, Mapping):
            raise ToolCallError(f"arguments for {self.name!r} must be a JSON object, got {type(arguments).__name__}.")
        props = self.parameters["properties"]
        missing = [r for r in self.parameters["required"] if r not in arguments]
        unknown = [a for a in arguments if a not in props]
        problems = []
        if missing:
            problems.append(f"missing required argument(s) {missing}")
        if unknown:
            problems.append(f"unknown argument(s) {unknown}")
        for key, value in arguments.items():
            expected = props.get(key, {})
            if not _matches(value, expected):
                problems.append(f"argument {key!r} should be {_describe(expected)}, got {value!r}")
        if problems:
            raise ToolCallError(f"bad call to {self.name!r}: {'; '.join(problems)}. "
                                f"Parameters: {_signature_text(props, self.parameters['required'])}.")

    async def call(self, domain: Any, arguments: Mapping[str, Any]) -> Any:
        """Validate and run the tool; errors come back as `ToolCallError` with a message for the model."""
        self.check_arguments(arguments)
        kwargs = {**({DOMAIN_PARAM: domain} if self.takes_domain else {}), **arguments}
        try:
            if inspect.iscoroutinefunction(self.fn):
                return await asyncio.wait_for(self.fn(**kwargs), self.timeout)
            return await asyncio.wait_for(asyncio.to_thread(self.fn, **kwargs), self.timeout)
        except TimeoutError:
            raise ToolCallError(f"{self.name!r} did not finish within {self.timeout} s.") from None
        except ToolCallError:
            raise
        except Exception as e:  # the tool's own failure is information for the model, not a crash
            raise ToolCallError(f"{self.name!r} failed: {type(e).__name__}: {e}") from e


def _matches(value: Any, schema: Mapping[str, Any]) -> bool:
    if "enum" in schema:
        return value in schema["enum"]
    if "anyOf" in schema:
        return any(_matches(value, s) for s in schema["anyOf"])
    kind = schema.get("type")
    if value is None:
        return "default" in schema and schema["default"] is None
    checks = {"string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "object": lambda v: isinstance(v, Mapping), "array": lambda v: isinstance(v, list)}
    if kind not in checks:
        return True
    if not checks[kind](value):
        return False
    return kind != "array" or "items" not in schema or all(_matches(v, schema["items"]) for v in value)


def _describe(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return f"one of {schema['enum']}"
    if "anyOf" in schema:
        return " or ".join(_describe(s) for s in schema["anyOf"])
    return f"of type {schema.get('type', 'any')}"


def _signature_text(props: Mapping[str, Any], required: list[str]) -> str:
    parts = [f"{k}: {v.get('type', 'any')}{'' if k in required else ' (optional)'}" for k, v in props.items()]
    return "(" + ", ".join(parts) + ")"


def as_tools(tools: Any, timeout: float | None = 10.0) -> dict[str, Tool]:
    """Normalise functions or `Tool`s into {name: Tool}; duplicate names are an error."""
    out: dict[str, Tool] = {}
    for t in tools:
        tool = t if isinstance(t, Tool) else Tool.from_function(t, timeout=timeout)
        if tool.name in out:
            raise ValueError(f"two tools are named {tool.name!r}; tool names must be unique.")
        out[tool.name] = tool
    if not out:
        raise ValueError("a tool env needs at least one tool.")
    return out
