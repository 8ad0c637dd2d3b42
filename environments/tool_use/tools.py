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
`Tool.from_method` builds a tool from a method of the domain class (``self`` is the episode's domain),
`tools_from_object` one per public method, and `Tool.from_document` from an existing JSON function document.
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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agentrl.environments.tool_use.schemas import (
    VALIDATION_MODES,
    ToolSchemaError,
    coerce,
    function_document,
    object_problems,
    parameters_schema,
)
from agentrl.errors import AgentRLError

DOMAIN_PARAM = "domain"
_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array",
               type(None): "null"}


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
class ToolResult:
    """What a tool may return to say exactly what the model sees and whether it counts as a failed call.

    ``ToolResult("Error: no such flight", is_error=True)`` is shown verbatim and counted in ``tool_errors``
    like an exception would be (benchmarks often answer errors as text rather than raising).
    """

    content: Any
    is_error: bool = False


@dataclasses.dataclass(frozen=True)
class Tool:
    """A callable the model may use: its name, description, JSON-schema parameters and the function.

    `validation` is one of ``"strict"``, ``"coerce"``, ``"none"`` (see `agentrl.environments.tool_use.schemas`).
    `is_error(result)`, when given, marks returned values as failed calls (for tools that answer errors as
    text). The domain is passed as the keyword `domain_param` when `takes_domain`.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    fn: Callable[..., Any]
    timeout: float | None = 10.0
    takes_domain: bool = False
    validation: str = "strict"
    is_error: Callable[[Any], bool] | None = None
    domain_param: str = DOMAIN_PARAM

    def __post_init__(self) -> None:
        if self.validation not in VALIDATION_MODES:
            raise ToolSchemaError(f"tool {self.name!r}: validation must be one of {list(VALIDATION_MODES)}, "
                                  f"got {self.validation!r}.")

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
                      timeout: float | None = 10.0, parameters: Mapping[str, Any] | None = None,
                      validation: str = "strict", is_error: Callable[[Any], bool] | None = None,
                      domain_param: str = DOMAIN_PARAM) -> Tool:
        """A tool from a typed function (schema from its signature and docstring), or from any function,
        ``**kwargs`` included, when `parameters` (a JSON schema, dialects accepted) is given."""
        if isinstance(fn, Tool):
            return fn
        if not callable(fn):
            raise TypeError(f"a tool must be a function, got {fn!r}.")
        summary, docs = _doc_sections(fn.__doc__ or "")
        sig = inspect.signature(fn)
        takes_domain = domain_param in sig.parameters
        tool_name = name or fn.__name__
        if parameters is not None:
            schema = parameters_schema(parameters, f"{tool_name}.parameters")
            return cls(tool_name, description if description is not None else summary, schema, fn, timeout,
                       takes_domain, validation, is_error, domain_param)
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # unresolvable forward references: fall back to raw annotations  # noqa: BLE001
            hints = {}
        props: dict[str, Any] = {}
        required: list[str] = []
        for p in sig.parameters.values():
            if p.name == domain_param:
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"tool {tool_name!r}: *args/**kwargs cannot be described to a model; name every "
                                "parameter, or pass parameters={...} (a JSON schema) to describe them.")
            prop = _type_schema(hints.get(p.name, p.annotation))
            if p.name in docs:
                prop["description"] = docs[p.name]
            if p.default is inspect.Parameter.empty:
                required.append(p.name)
            elif p.default is None or isinstance(p.default, (str, int, float, bool)):
                prop["default"] = p.default
            props[p.name] = prop
        schema = {"type": "object", "properties": props, "required": required}
        return cls(tool_name, description if description is not None else summary, schema, fn, timeout,
                   takes_domain, validation, is_error, domain_param)

    @classmethod
    def from_method(cls, method: Callable[..., Any], **options: Any) -> Tool:
        """A tool from a method of the env's per-episode domain class, e.g. ``Tool.from_method(Bank.deposit)``:
        each call runs on that episode's domain object (passed as ``self``)."""
        fn = getattr(method, "__func__", method)
        params = list(inspect.signature(fn).parameters)
        if not params:
            raise TypeError(f"{fn.__qualname__} takes no `self`; pass a plain function to Tool.from_function.")
        return cls.from_function(fn, domain_param=params[0], **options)

    @classmethod
    def from_document(cls, document: Any, fn: Callable[..., Any] | str, **options: Any) -> Tool:
        """A tool from an existing JSON function document (OpenAI or bare form, dialect types accepted) and
        the function that runs it: a callable (``**kwargs`` is fine), or the name of a method of the domain."""
        name, description, schema = function_document(document)
        if isinstance(fn, str):
            method = fn

            def call_method(domain: Any, **kwargs: Any) -> Any:
                bound = getattr(domain, method, None)
                if not callable(bound):
                    raise ToolCallError(f"the domain {type(domain).__name__} has no method {method!r}.")
                return bound(**kwargs)

            fn = call_method
        return cls.from_function(fn, name=name, description=description, parameters=schema, **options)

    @property
    def schema(self) -> dict[str, Any]:
        """The OpenAI tools-format description of this tool."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}}

    def check_arguments(self, arguments: Any) -> None:
        """Raise `ToolCallError` saying what is wrong with `arguments` (missing, unknown or mistyped)."""
        if not isinstance(arguments, Mapping):
            raise ToolCallError(f"arguments for {self.name!r} must be a JSON object, got {type(arguments).__name__}.")
        found = object_problems(arguments, self.parameters, "")
        if found:
            raise ToolCallError(f"bad call to {self.name!r}: {'; '.join(found)}. "
                                f"Parameters: {_signature_text(self.parameters)}.")

    def prepare_arguments(self, arguments: Mapping[str, Any]) -> Mapping[str, Any]:
        """The arguments the function receives under this tool's validation mode (raises `ToolCallError`)."""
        if self.validation == "none":
            return arguments
        if self.validation == "coerce":
            arguments = coerce(dict(arguments), self.parameters)
        self.check_arguments(arguments)
        return arguments

    async def call(self, domain: Any, arguments: Mapping[str, Any]) -> Any:
        """Validate and run the tool; errors come back as `ToolCallError` with a message for the model."""
        if self.takes_domain and self.domain_param in arguments:  # else the model could hand in a domain of its own
            raise ToolCallError(f"{self.name!r} takes no argument {self.domain_param!r}; its parameters: "
                                f"{_signature_text(self.parameters)}.")
        arguments = self.prepare_arguments(arguments)
        kwargs = {**({self.domain_param: domain} if self.takes_domain else {}), **arguments}
        try:
            if inspect.iscoroutinefunction(self.fn):
                return await asyncio.wait_for(self.fn(**kwargs), self.timeout)
            result = await asyncio.wait_for(asyncio.to_thread(self.fn, **kwargs), self.timeout)
            return await asyncio.wait_for(result, self.timeout) if inspect.isawaitable(result) else result
        except TimeoutError:
            raise ToolCallError(f"{self.name!r} did not finish within {self.timeout} s.") from None
        except ToolCallError:
            raise
        except Exception as e:  # the tool's own failure is information for the model, not a crash
            raise ToolCallError(f"{self.name!r} failed: {type(e).__name__}: {e}") from e


def _signature_text(parameters: Mapping[str, Any]) -> str:
    props, required = parameters.get("properties", {}), parameters.get("required", [])
    parts = [f"{k}: {v.get('type', 'any')}{'' if k in required else ' (optional)'}" for k, v in props.items()]
    return "(" + ", ".join(parts) + ")"


def tools_from_object(cls: type, *, include: Iterable[str] | None = None, **options: Any) -> list[Tool]:
    """Tools from the public methods of a domain class (each runs on the episode's domain object).

    `include` picks and orders the methods; by default every public method defined on the class except
    ``snapshot`` (the state hook). Options go to every `Tool.from_method`.
    """
    names = list(include) if include is not None else [
        n for n, v in vars(cls).items() if not n.startswith("_") and inspect.isfunction(v) and n != "snapshot"]
    missing = [n for n in names if not callable(getattr(cls, n, None))]
    if missing:
        raise ToolSchemaError(f"{cls.__name__} has no methods {missing}; public methods: "
                              f"{sorted(n for n in dir(cls) if not n.startswith('_'))}.")
    return [Tool.from_method(getattr(cls, n), **options) for n in names]


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
