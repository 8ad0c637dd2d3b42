"""What an evaluation run is: its spec, the tasks it selects and one job per (task, sample).

A job's key is ``(task id, sample index, seed)``. The seed is derived from the env id, task id, sample index and
the run's base seed with SHA-256, so it is the same in every process, on every machine and in every resumed run
(Python's ``hash`` is salted per process and would not do).

Task selection (``--tasks``): ``SPLIT`` (every task of the split), ``SPLIT/GLOB`` (task ids matching a shell
pattern, e.g. ``test/guess-test-1*``) or ``SPLIT/A:B`` (a Python-style slice of the split's task list, e.g.
``test/:10`` for the first ten).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from agentrl import registry
from agentrl.errors import ConfigError
from agentrl.types import Task

_SLICE = re.compile(r"^(-?\d*):(-?\d*)$")


@dataclasses.dataclass(frozen=True)
class EvalSpec:
    """Everything that decides which episodes a run contains and how they are scored.

    Two invocations with equal specs describe the same run, so the second resumes the first. `concurrency`
    is deliberately not part of it: it changes speed, never results.
    """

    env_id: str
    policy: str = "scripted"
    tasks: str = "test"
    samples: int = 1
    seed: int = 0
    max_turns: int | None = None
    turn_timeout: float | None = None
    episode_timeout: float | None = None
    model: str | None = None  # the model name sent to an OpenAI-compatible server
    sampling: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # temperature, max_tokens, ...
    success_term: str | None = None
    success_threshold: float = 1.0
    agent: str | None = None

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ConfigError(f"--samples must be >= 1, got {self.samples}.")
        if self.max_turns is not None and self.max_turns < 1:
            raise ConfigError(f"--max-turns must be >= 1, got {self.max_turns}.")
        object.__setattr__(self, "sampling", dict(self.sampling))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"run manifest has unknown keys {sorted(unknown)}; valid: {sorted(names)}. "
                              "Was it written by a newer agentrl?")
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class Job:
    """One episode to run: a task, which sample of it, and its seed."""

    task: Task
    sample: int
    seed: int

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.task.id, self.sample, self.seed)


def episode_seed(env_id: str, task_id: str, sample: int, base_seed: int) -> int:
    """A stable 31-bit seed for one (task, sample) of a run."""
    digest = hashlib.sha256(f"{env_id}\x00{task_id}\x00{sample}\x00{base_seed}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def select_tasks(env_id: str, selector: str) -> list[Task]:
    """The tasks named by ``SPLIT``, ``SPLIT/GLOB`` or ``SPLIT/A:B`` (see the module docstring)."""
    split, _, pattern = selector.partition("/")
    if not split:
        raise ConfigError(f"--tasks {selector!r}: name a split first, e.g. 'test', 'test/:10' or 'test/task-1*'.")
    all_tasks = registry.tasks(env_id, split)
    if not pattern:
        chosen = all_tasks
    elif m := _SLICE.match(pattern):
        start, stop = (int(x) if x else None for x in m.groups())
        chosen = all_tasks[start:stop]
    else:
        chosen = [t for t in all_tasks if fnmatch.fnmatchcase(t.id, pattern)]
    if not chosen:
        sample = ", ".join(t.id for t in all_tasks[:5]) or "(the split is empty)"
        raise ConfigError(f"--tasks {selector!r} selects no task of {env_id} (split {split!r} has {len(all_tasks)} "
                          f"tasks, e.g. {sample}). Use SPLIT, SPLIT/GLOB or SPLIT/A:B.")
    ids = [t.id for t in chosen]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ConfigError(f"{env_id} split {split!r} has duplicate task id {dup!r}; episodes are keyed by task id, "
                          "so every task needs a unique id.")
    return chosen


def plan_jobs(spec: EvalSpec) -> list[Job]:
    """Every episode of the run, in a fixed order (task order, then sample index)."""
    return [Job(task, k, episode_seed(spec.env_id, task.id, k, spec.seed))
            for task in select_tasks(spec.env_id, spec.tasks) for k in range(spec.samples)]
