"""The records that flow from rollout to learner and to evaluation reports.

- `Task`: one dataset row.
- `Turn`: one model call by one agent, with the exact token ids the engine saw and sampled.
- `Episode`: everything about one rollout, including how it ended (`Status`).

Records are frozen dataclasses. Messages are OpenAI-style dicts (``{"role": ..., "content": ...}``); treat
them as read-only. Episodes round-trip through JSON lines with a schema version, so a run can be re-scored
or replayed later by newer code.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from agentrl.errors import SchemaError, TaskError

SCHEMA_VERSION = 1

Message: TypeAlias = dict[str, Any]
AgentID: TypeAlias = str


class Status(str, enum.Enum):
    """How an episode ended. Only `OK` and `TRUNCATED` carry a learning signal."""

    OK = "ok"
    TRUNCATED = "truncated"  # hit max turns or the context limit: the rewards so far are real
    ENV_ERROR = "env_error"
    POLICY_ERROR = "policy_error"
    VERIFIER_ERROR = "verifier_error"
    TIMEOUT = "timeout"

    @property
    def is_failure(self) -> bool:
        """True for infrastructure failures, which must never be scored as reward 0."""
        return self not in (Status.OK, Status.TRUNCATED)


def _message(m: Any, where: str) -> Message:
    if isinstance(m, str):
        return {"role": "user", "content": m}
    if not isinstance(m, Mapping) or "role" not in m:
        raise TaskError(
            f"{where}: expected a message dict like {{'role': 'user', 'content': '...'}} or a string, got {m!r}"
        )
    return dict(m)


def as_messages(value: str | Message | Sequence[Message | str], where: str = "message") -> tuple[Message, ...]:
    """Normalise a string, one message, or a list of them into a tuple of message dicts."""
    if type(value) is tuple and all(type(m) is dict and "role" in m for m in value):
        return value  # already the normal form (a record being copied by `dataclasses.replace`, every turn)
    if isinstance(value, (str, Mapping)):
        value = [value]
    return tuple(_message(m, f"{where}[{i}]") for i, m in enumerate(value))


@dataclasses.dataclass(frozen=True)
class Task:
    """One dataset row.

    `prompt` holds the messages the env may show first; `reference` holds what verifiers compare against
    (answers, tests, goal state); `env_kwargs` configures the env for this task.
    """

    id: str
    prompt: tuple[Message, ...] = ()
    reference: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    env_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    split: str = "train"

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise TaskError(f"Task.id must be a non-empty string, got {self.id!r}. Give every task a unique id.")
        object.__setattr__(self, "prompt", as_messages(self.prompt, f"Task({self.id!r}).prompt"))
        for name in ("reference", "env_kwargs"):
            value = getattr(self, name)
            if not isinstance(value, Mapping):
                raise TaskError(f"Task({self.id!r}).{name} must be a mapping, got {type(value).__name__}.")
            object.__setattr__(self, name, dict(value))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        return _from_dict(cls, data, "Task")


@dataclasses.dataclass(frozen=True)
class Turn:
    """One model call by one agent.

    `messages` are the messages new in this turn: the observations shown since the agent's previous turn,
    then the assistant's reply (always last). `context_messages` is how many messages the agent's whole
    conversation had before the reply, so a policy can find what is new since a previous turn.
    `prompt_ids`, `completion_ids` and `logprobs` are exactly what the engine saw and sampled (empty for
    policies without token access, such as a hosted API or a scripted policy).
    `rewards` holds named turn rewards (`env` is the environment's own step reward); None means
    "not applicable".
    """

    agent: AgentID
    index: int
    messages: tuple[Message, ...]
    context_messages: int = 0
    prompt_ids: tuple[int, ...] = ()
    completion_ids: tuple[int, ...] = ()
    logprobs: tuple[float, ...] = ()
    rewards: Mapping[str, float | None] = dataclasses.field(default_factory=dict)
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    finish_reason: str = "stop"
    policy_version: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", as_messages(self.messages, "Turn.messages"))
        object.__setattr__(self, "prompt_ids", tuple(self.prompt_ids))
        object.__setattr__(self, "completion_ids", tuple(self.completion_ids))
        object.__setattr__(self, "logprobs", tuple(self.logprobs))
        if self.logprobs and len(self.logprobs) != len(self.completion_ids):
            raise SchemaError(
                f"Turn has {len(self.logprobs)} logprobs for {len(self.completion_ids)} completion tokens; "
                "a policy must return one logprob per sampled token."
            )

    @property
    def text(self) -> str:
        """The assistant's reply text: what the env receives as this agent's action."""
        content = self.messages[-1].get("content") if self.messages else None
        return content if isinstance(content, str) else ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Turn:
        return _from_dict(cls, data, "Turn")


@dataclasses.dataclass(frozen=True)
class Episode:
    """One rollout: the task, every turn, the named rewards, and how it ended.

    `outcome_rewards[agent][name]` are the rubric's outcome terms; `reward[agent]` is the scalar the rubric
    combined from turn and outcome terms (absent when the episode failed and has no score).
    A failed episode (`status.is_failure`) keeps the error text in `error` and is excluded from learning.
    `info` holds free-form details such as reward evidence and verifier errors.
    """

    task: Task
    env_id: str
    seed: int
    turns: tuple[Turn, ...] = ()
    outcome_rewards: Mapping[AgentID, Mapping[str, float | None]] = dataclasses.field(default_factory=dict)
    reward: Mapping[AgentID, float] = dataclasses.field(default_factory=dict)
    metrics: Mapping[str, float] = dataclasses.field(default_factory=dict)
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    status: Status = Status.OK
    error: str | None = None
    policy_version: int = 0
    group_id: str = ""
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "turns", tuple(self.turns))
        if not self.group_id:
            object.__setattr__(self, "group_id", self.task.id)

    @property
    def agents(self) -> list[AgentID]:
        seen: dict[AgentID, None] = {}
        for t in self.turns:
            seen.setdefault(t.agent, None)
        for a in self.outcome_rewards:
            seen.setdefault(a, None)
        return list(seen)

    def turns_of(self, agent: AgentID) -> list[Turn]:
        return [t for t in self.turns if t.agent == agent]

    def replace(self, **changes: Any) -> Episode:
        return dataclasses.replace(self, **changes)

    # -- serialisation -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Episode:
        if not isinstance(data, Mapping):
            raise SchemaError(f"an episode must be a JSON object, got {type(data).__name__}.")
        try:
            return cls._from_checked(data)
        except SchemaError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as e:  # a hand-edited or foreign line
            raise SchemaError(f"not an agentrl episode ({type(e).__name__}: {e}); episodes are the lines "
                              "Episode.to_json() writes, with task, turns, seed and status fields.") from e

    @classmethod
    def _from_checked(cls, data: Mapping[str, Any]) -> Episode:
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            raise SchemaError(f"episode schema_version must be an integer, got {version!r}.")
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"episode was written with schema version {version}, this agentrl reads up to {SCHEMA_VERSION}. "
                "Upgrade agentrl to read it."
            )
        data = dict(data)
        data["task"] = Task.from_dict(data["task"])
        data["turns"] = tuple(Turn.from_dict(t) for t in data.get("turns", ()))
        return _from_dict(cls, data, "Episode")

    @classmethod
    def from_json(cls, line: str) -> Episode:
        return cls.from_dict(json.loads(line))


def _to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf; a non-finite reward is "not applicable"
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy / torch arrays and scalars
        return _to_jsonable(value.tolist())
    return value


def _from_dict(cls: type, data: Mapping[str, Any], what: str) -> Any:
    if not isinstance(data, Mapping):
        raise SchemaError(f"{what} must be a JSON object, got {type(data).__name__}.")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise SchemaError(
            f"{what} has unknown fields {sorted(unknown)}; valid fields: {sorted(names)}. "
            "Was it written by a newer agentrl?"
        )
    try:
        return cls(**data)
    except TypeError as e:
        raise SchemaError(f"cannot build {what} from {sorted(data)}: {e}") from e


def write_jsonl(path: str | Path, episodes: Iterable[Episode], append: bool = True) -> int:
    """Write episodes, one JSON object per line; flushed per line so an interrupted run loses nothing."""
    n = 0
    with open(path, "a" if append else "w", encoding="utf-8") as f:
        for ep in episodes:
            f.write(ep.to_json() + "\n")
            f.flush()
            n += 1
    return n


def read_jsonl(path: str | Path) -> Iterator[Episode]:
    """Read episodes back; a torn last line (from a kill mid-write) is skipped, any other bad line raises."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            yield Episode.from_json(line)
        except json.JSONDecodeError as e:
            if i == len(lines) - 1:
                return
            raise SchemaError(f"{path}:{i + 1}: not valid JSON ({e}).") from e
