"""JSON-schema for tool parameters: reading benchmarks' function documents, checking and coercing arguments.

Benchmarks ship their tools as JSON function documents in more than one dialect. `function_document` reads
the OpenAI form (``{"type": "function", "function": {...}}``) and the bare form (``{"name", "description",
"parameters"}``), and `normalise_schema` maps the Python-flavoured type names some of them use (``dict``,
``float``, ``tuple``, ``int``, ``str``, ``list``, ``bool``, ``any``...) to JSON-schema types, recursively.
Anything it cannot read raises `ToolSchemaError` naming the field and the fix.

Argument checks, one per tool (`Tool.validation`):
- ``"strict"``: the arguments must match the schema (required present, no unknown keys, types, enums, nested
  objects and array items); a mismatch is a tool error and the tool does not run.
- ``"coerce"``: first convert what a JSON model commonly writes for a type ("5" for an integer, 5 for a
  number, "true" for a boolean, a JSON string for an object or array), then check strictly.
- ``"none"``: pass the arguments through untouched, as benchmarks that call ``fn(**arguments)`` do; only the
  tool itself can refuse them (a `TypeError` from the call is a tool error like any exception).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentrl.errors import AgentRLError

VALIDATION_MODES = ("strict", "coerce", "none")

# dialect type name (lower case) -> JSON-schema type; None means "any value"
_DIALECT: dict[str, str | None] = {
    "object": "object", "dict": "object", "map": "object", "hashmap": "object",
    "array": "array", "list": "array", "tuple": "array", "set": "array",
    "number": "number", "float": "number", "double": "number",
    "integer": "integer", "int": "integer", "long": "integer",
    "string": "string", "str": "string", "char": "string",
    "boolean": "boolean", "bool": "boolean",
    "null": "null", "none": "null",
    "any": None,
}


class ToolSchemaError(AgentRLError, ValueError):
    """A tool's JSON function document or parameter schema cannot be read."""


def _map_type(kind: Any, where: str) -> str | None:
    if not isinstance(kind, str) or kind.strip().lower() not in _DIALECT:
        raise ToolSchemaError(f"{where}: unknown type {kind!r}. Use a JSON-schema type (object, array, number, "
                              f"integer, string, boolean, null) or one of {sorted(_DIALECT)}.")
    return _DIALECT[kind.strip().lower()]


def normalise_schema(schema: Any, where: str = "parameters") -> dict[str, Any]:
    """A copy of `schema` with dialect type names mapped to JSON-schema ones; raises `ToolSchemaError`."""
    if not isinstance(schema, Mapping):
        raise ToolSchemaError(f"{where} must be a JSON object (a schema), got {type(schema).__name__}: {schema!r}.")
    out = dict(schema)
    if "type" in out:
        kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
        mapped = [_map_type(k, f"{where}.type") for k in kinds]
        if None in mapped:
            del out["type"]
        else:
            out["type"] = mapped[0] if len(mapped) == 1 else mapped
    if "properties" in out:
        if not isinstance(out["properties"], Mapping):
            raise ToolSchemaError(f"{where}.properties must map parameter names to schemas, got "
                                  f"{type(out['properties']).__name__}.")
        out["properties"] = {str(k): normalise_schema(v, f"{where}.properties.{k}")
                             for k, v in out["properties"].items()}
    if "items" in out and isinstance(out["items"], Mapping):
        out["items"] = normalise_schema(out["items"], f"{where}.items")
    for key in ("anyOf", "oneOf"):
        if key in out:
            if not isinstance(out[key], list):
                raise ToolSchemaError(f"{where}.{key} must be a list of schemas.")
            out[key] = [normalise_schema(s, f"{where}.{key}[{i}]") for i, s in enumerate(out[key])]
    if "required" in out:
        req = out["required"]
        if not isinstance(req, list) or not all(isinstance(r, str) for r in req):
            raise ToolSchemaError(f"{where}.required must be a list of parameter names, got {req!r}.")
    return out


def parameters_schema(schema: Any, where: str = "parameters") -> dict[str, Any]:
    """A tool's top-level parameters: an object schema with ``properties`` and ``required`` filled in."""
    out = normalise_schema({"type": "object"} if schema is None else schema, where)
    if out.get("type", "object") != "object":
        raise ToolSchemaError(f"{where} must describe an object (keyword arguments), got type {out['type']!r}.")
    out["type"] = "object"
    out.setdefault("properties", {})
    out.setdefault("required", [])
    unknown = [r for r in out["required"] if r not in out["properties"]]
    if unknown:
        raise ToolSchemaError(f"{where}.required names {unknown}, which are not in properties "
                              f"{sorted(out['properties'])}; add them to properties or drop them from required.")
    return out


def function_document(doc: Any) -> tuple[str, str, dict[str, Any]]:
    """(name, description, parameters) of a JSON function document in the OpenAI or the bare form."""
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except json.JSONDecodeError as e:
            raise ToolSchemaError(f"the function document is not valid JSON ({e.msg} at char {e.pos}).") from e
    if not isinstance(doc, Mapping):
        raise ToolSchemaError(f"a function document must be a JSON object, got {type(doc).__name__}.")
    body = doc["function"] if isinstance(doc.get("function"), Mapping) else doc
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ToolSchemaError(f"the function document has no \"name\" string (keys: {sorted(body)}); write "
                              '{"name": ..., "description": ..., "parameters": {...}} or the OpenAI form '
                              '{"type": "function", "function": {...}}.')
    description = body.get("description") or ""
    if not isinstance(description, str):
        raise ToolSchemaError(f"{name}: description must be a string, got {type(description).__name__}.")
    return name, description, parameters_schema(body.get("parameters"), f"{name}.parameters")


# -- checking ------------------------------------------------------------------------------------------------
def problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """What is wrong with `value` for `schema`, as sentences for the model (empty when it matches)."""
    if "enum" in schema:
        return [] if value in schema["enum"] else [f"{where} should be one of {schema['enum']}, got {value!r}"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            ok = any(not problems(value, s, where) for s in schema[key])
            return [] if ok else [f"{where} should be {describe(schema)}, got {value!r}"]
    kinds = schema.get("type")
    if kinds is None:
        return []
    if value is None and schema.get("default", 0) is None:
        return []
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if not any(_is(value, k) for k in kinds):
        return [f"{where} should be {describe(schema)}, got {value!r}"]
    found: list[str] = []
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            found += problems(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, Mapping) and "properties" in schema:
        found += object_problems(value, schema, where)
    return found


def object_problems(value: Mapping[str, Any], schema: Mapping[str, Any], where: str) -> list[str]:
    props = schema.get("properties", {})
    found = []
    missing = [r for r in schema.get("required", []) if r not in value]
    if missing:
        found.append(f"missing required argument(s) {missing}" if where == "" else f"{where} misses {missing}")
    unknown = [k for k in value if k not in props]
    if unknown and (where == "" or schema.get("additionalProperties") is False):  # a call takes named args only
        found.append(f"unknown argument(s) {unknown}" if where == "" else f"{where} has unknown keys {unknown}")
    for key, item in value.items():
        if key in props:
            found += problems(item, props[key], f"argument {key!r}" if where == "" else f"{where}.{key}")
    return found


def _is(value: Any, kind: str) -> bool:
    checks = {"string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "object": lambda v: isinstance(v, Mapping), "array": lambda v: isinstance(v, list),
              "null": lambda v: v is None}
    return checks.get(kind, lambda v: True)(value)


def describe(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return f"one of {schema['enum']}"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(describe(s) for s in schema[key])
    kinds = schema.get("type", "any")
    return f"of type {' or '.join(kinds) if isinstance(kinds, list) else kinds}"


# -- coercion ------------------------------------------------------------------------------------------------
def coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """`value` converted towards `schema` where the conversion loses nothing; otherwise unchanged."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if not kinds or any(_is(value, k) for k in kinds):
        converted = value
    else:
        converted = next((c for c in (_convert(value, k) for k in kinds) if c is not _NO), value)
    if isinstance(converted, list) and isinstance(schema.get("items"), Mapping):
        return [coerce(v, schema["items"]) for v in converted]
    if isinstance(converted, Mapping) and "properties" in schema:
        props = schema["properties"]
        return {k: coerce(v, props[k]) if k in props else v for k, v in converted.items()}
    return converted


_NO = object()


def _convert(value: Any, kind: str) -> Any:
    if isinstance(value, str) and kind in ("integer", "number", "boolean", "object", "array", "null"):
        text = value.strip()
        if kind == "boolean":
            return {"true": True, "false": False}.get(text.lower(), _NO)
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return _NO
        return parsed if _is(parsed, kind) else _convert(parsed, kind) if kind in ("integer", "number") else _NO
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == "array" and isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _NO
