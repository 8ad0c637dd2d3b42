"""Typed configs: frozen dataclasses filled from YAML/TOML files and dotted command-line overrides.

    cfg = load_config(TrainConfig, "launch/configs/quickstart.yaml", ["learner.lr=3e-4", "env.id=games/X-v0"])

Files hold overrides only: every field has a default in code. Unknown keys are errors that list the valid
ones; values are checked against the field types (int, float, str, bool, Optional, tuples and lists of
those, dicts, nested config dataclasses).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from agentrl.errors import ConfigError, UnknownKeyError

C = TypeVar("C")


def read_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist. Pass a path to a .yaml, .yml or .toml file.")
    text = path.read_text(encoding="utf-8")
    if path.suffix not in (".yaml", ".yml", ".toml", ".json"):
        raise ConfigError(f"config file {str(path)!r}: unsupported suffix {path.suffix!r}; use .yaml, .toml or .json.")
    try:
        if path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"config file {str(path)!r} is not valid {path.suffix[1:].upper()}: {e}. "
                          "Fix the syntax at the position given.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping at the top level, got {type(data).__name__}.")
    return data


def apply_override(data: dict[str, Any], override: str) -> None:
    """Apply one ``a.b.c=value`` override in place; the value is parsed as YAML (so 3, 1e-4, true, [1,2] work)."""
    key, sep, raw = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {override!r} is not of the form key.path=value (e.g. learner.lr=1e-4).")
    parts = key.strip().split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {part!r} is a value, not a section.")
    node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""


def load_config(cls: type[C], path: str | Path | None = None, overrides: Sequence[str] = ()) -> C:
    data = read_file(path) if path else {}
    for o in overrides:
        apply_override(data, o)
    return from_dict(cls, data)


def from_dict(cls: type[C], data: Mapping[str, Any], where: str = "") -> C:
    if not isinstance(data, Mapping):
        raise ConfigError(f"config section {where or cls.__name__!r} must be a mapping, got {data!r}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    values = {}
    renamed = getattr(cls, "renamed", {})
    for key, value in data.items():
        if key not in fields and key in renamed:
            section = f"{where}." if where else ""
            raise ConfigError(f"config key {section}{key} is now {renamed[key]}; rename it in the file or the "
                              f"override (e.g. {renamed[key]}=...).")
        if key not in fields:
            raise UnknownKeyError(f"config key in {where or 'the top level'}:", key, fields)
        values[key] = _coerce(hints[key], value, f"{where}.{key}" if where else key)
    try:
        return cls(**values)
    except ConfigError:  # already says what is wrong and how to fix it, in the same words for every caller
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"invalid config {where or cls.__name__}: {e}") from e


def to_dict(cfg: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if value is not None and not isinstance(value, Mapping):
            keys = ", ".join(f.name for f in dataclasses.fields(tp))
            raise ConfigError(f"config key {where} is a section, not a value (got {value!r}); set one of its keys "
                              f"instead, e.g. {where}.{dataclasses.fields(tp)[0].name}=... (its keys: {keys}).")
        return from_dict(tp, value or {}, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(option, value, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(f"{where}: {value!r} fits none of {tp}.")
    if tp is Any:
        return value
    if origin in (tuple, list, Sequence) or tp in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}.")
        item = args[0] if args else Any
        items = [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin in (dict, Mapping) or tp in (dict,):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}.")
        return dict(value)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}.")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}.")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}.")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}.")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}.")
        return value
    return value
