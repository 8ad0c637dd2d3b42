"""Versioned env ids mapped to lazily imported entry points.

    register("math/Arithmetic-v0", "my_pkg.arith:ArithmeticEnv", tasks="my_pkg.arith:tasks",
             rubric="my_pkg.arith:rubric")
    env = make("math/Arithmetic-v0")

Entry points are "module:attribute" strings resolved on first use, so `make` works in a fresh process
(a Ray worker) without importing every env family. Packages announce their envs through the
``agentrl.envs`` entry-point group: each entry point names a function that calls `register`. The built-in
envs use the same mechanism, so this module never imports `agentrl.environments`.

Change an env's dynamics, prompt or reward semantics -> bump its version.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from agentrl.env import ContractGuard
from agentrl.errors import RegistrationError, UnknownEnvError
from agentrl.rubric import Rubric
from agentrl.types import Task

ENTRY_POINT_GROUP = "agentrl.envs"
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+-v\d+$")

EntryPoint = str | Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Everything needed to build, feed and judge one registered env.

    - `entry_point`: the env class or factory (called with `kwargs` merged with `make`'s kwargs).
    - `tasks`: a function ``(split: str) -> list[Task]``.
    - `rubric`: a function ``() -> Rubric`` giving the env's default verifiers.
    - `scripted_policy`: a function ``(seed: int) -> Policy`` that plays legal moves; `check_env` uses it. If it
      takes a ``task`` parameter too, ``(seed, task)``, it is told the task it plays.
    - `max_turns`: how many steps `run_episode` allows before truncating (for every env built by `make`,
      unless `run_episode` is passed its own `max_turns`).
    """

    id: str
    entry_point: EntryPoint
    tasks: EntryPoint | None = None
    rubric: EntryPoint | None = None
    scripted_policy: EntryPoint | None = None
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    max_turns: int = 32
    description: str = ""

    @property
    def version(self) -> int:
        return int(self.id.rsplit("-v", 1)[1])


_registry: dict[str, EnvSpec] = {}
_plugins_loaded = False
_lock = threading.RLock()


def register(
    id: str,
    entry_point: EntryPoint,
    *,
    tasks: EntryPoint | None = None,
    rubric: EntryPoint | None = None,
    scripted_policy: EntryPoint | None = None,
    kwargs: Mapping[str, Any] | None = None,
    max_turns: int = 32,
    description: str = "",
    override: bool = False,
) -> EnvSpec:
    """Register an env under a versioned id like ``family/Name-v0``."""
    if not isinstance(id, str) or not ID_PATTERN.match(id):
        raise RegistrationError(
            f"env id {id!r} is not of the form 'family/Name-vN' (for example 'math/Arithmetic-v0'). "
            "The version lets results stay comparable when dynamics or rewards change."
        )
    for name, ep in (("entry_point", entry_point), ("tasks", tasks), ("rubric", rubric),
                     ("scripted_policy", scripted_policy)):
        if ep is not None and not callable(ep) and not (isinstance(ep, str) and ":" in ep):
            raise RegistrationError(f"{id}: {name} must be a callable or a 'module:attribute' string, got {ep!r}.")
    if max_turns < 1:
        raise RegistrationError(f"{id}: max_turns must be >= 1, got {max_turns}.")
    spec = EnvSpec(id, entry_point, tasks, rubric, scripted_policy, dict(kwargs or {}), max_turns, description)
    load_plugins()  # announced envs register first, so a user's registration comes after (and may override) them
    with _lock:
        if id in _registry and not override and _registry[id] != spec:
            raise RegistrationError(
                f"{id} is already registered (entry point {_registry[id].entry_point!r}). "
                "Bump the version for changed dynamics, or pass override=True to replace it."
            )
        _registry[id] = spec
    return spec


def load_plugins() -> None:
    """Import every package that announced envs through the ``agentrl.envs`` entry-point group."""
    global _plugins_loaded
    with _lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()()
            except Exception as e:  # one broken plugin must not hide the others
                raise RegistrationError(f"env plugin {ep.name!r} ({ep.value}) failed to load: {e}") from e


def registered() -> dict[str, EnvSpec]:
    load_plugins()
    with _lock:
        return dict(sorted(_registry.items()))


def spec(env_id: str) -> EnvSpec:
    specs = registered()
    if env_id not in specs:
        raise UnknownEnvError(env_id, specs)
    return specs[env_id]


def resolve(entry_point: EntryPoint) -> Any:
    """Turn a 'module:attr' string into the object it names (callables pass through)."""
    if not isinstance(entry_point, str):
        return entry_point
    module_name, _, attr = entry_point.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise RegistrationError(
            f"cannot import {module_name!r} for entry point {entry_point!r}: {e}. "
            "Is the package (or its extra, e.g. `pip install agentrl-suite[web]`) installed?"
        ) from e
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as e:
            raise RegistrationError(f"{module_name!r} has no attribute {attr!r} (entry point {entry_point!r}).") from e
    return obj


def make(env_id: str, **kwargs: Any) -> ContractGuard:
    """Build a registered env, wrapped in `ContractGuard`; the guard's `registered_spec` is its `EnvSpec`
    (`run_episode` takes the registered `max_turns` from it)."""
    s = spec(env_id)
    factory = resolve(s.entry_point)
    env = factory(**{**s.kwargs, **kwargs})
    guard = ContractGuard(env, env_id)
    guard.registered_spec = s
    return guard


def registered_spec(env: Any) -> EnvSpec | None:
    """The `EnvSpec` an env was built from by `make`, or None for an env built by hand."""
    found = vars(env).get("registered_spec") if isinstance(env, ContractGuard) else None
    return found if isinstance(found, EnvSpec) else None


def tasks(env_id: str, split: str = "train") -> list[Task]:
    """The registered tasks of an env for one split."""
    s = spec(env_id)
    if s.tasks is None:
        raise RegistrationError(f"{env_id} registered no tasks; pass tasks=... to register().")
    out = list(resolve(s.tasks)(split))
    bad = [t for t in out if not isinstance(t, Task)]
    if bad:
        raise RegistrationError(f"{env_id}: tasks({split!r}) returned non-Task items such as {bad[0]!r}.")
    return out


def rubric(env_id: str) -> Rubric:
    """The env's default `Rubric` (an empty one, scoring only the env's step rewards, if none registered)."""
    s = spec(env_id)
    if s.rubric is None:
        return Rubric()
    return resolve(s.rubric)()


def scripted_policy(env_id: str, seed: int = 0, task: Task | None = None) -> Any:
    """The env's scripted policy for `seed`; told `task` when its factory takes a ``task`` parameter."""
    s = spec(env_id)
    if s.scripted_policy is None:
        return None
    return call_policy_factory(resolve(s.scripted_policy), seed, task)


def call_policy_factory(factory: Callable[..., Any], seed: int, task: Task | None) -> Any:
    """``factory(seed, task=task)`` when the factory has a ``task`` parameter, else ``factory(seed)``."""
    try:
        takes_task = "task" in inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        takes_task = False
    return factory(seed, task=task) if takes_task else factory(seed)
