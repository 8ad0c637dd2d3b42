"""SWE tasks in the SWE-bench instance format, loaded from JSON, JSONL or parquet.

An instance is one bug to fix in one repository state:

    instance_id, repo, base_commit, problem_statement, test_patch, FAIL_TO_PASS, PASS_TO_PASS, patch (gold, optional)

as in SWE-bench (FAIL_TO_PASS / PASS_TO_PASS may be JSON-encoded strings there; both forms are accepted).
Two optional fields say how to run the instance offline, since we have no per-repo spec table:
`image` (the Docker image whose work dir holds the repo at `base_commit` in `repo/`; default derived from the
instance id, see `task_image`) and `test_cmd` (the shell command, run in the repo, whose pytest ``-rA`` output
is graded). Unknown fields are kept in `extra` so SWE-bench rows load unchanged.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agentrl.errors import TaskError
from agentrl.types import Task

DEFAULT_TEST_CMD = "python3 -m pytest -rA --tb=short -p no:cacheprovider"
TASK_IMAGE_REPO = "agentrl/swe-task"
REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement", "FAIL_TO_PASS", "PASS_TO_PASS")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclasses.dataclass(frozen=True)
class SWEInstance:
    """One SWE-bench style instance; `patch` is the gold fix when known ("" otherwise)."""

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    FAIL_TO_PASS: tuple[str, ...]
    PASS_TO_PASS: tuple[str, ...]
    test_patch: str = ""
    patch: str = ""
    image: str = ""
    test_cmd: str = DEFAULT_TEST_CMD
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.FAIL_TO_PASS:
            raise TaskError(f"instance {self.instance_id!r} has an empty FAIL_TO_PASS: nothing would show the fix; "
                            "list the test ids that fail before the fix and pass after it.")
        if not self.image:
            object.__setattr__(self, "image", task_image(self.instance_id))

    @classmethod
    def from_dict(cls, row: Mapping[str, Any], where: str = "instance") -> SWEInstance:
        if not isinstance(row, Mapping):
            raise TaskError(f"{where}: an instance must be a JSON object, got {type(row).__name__}.")
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise TaskError(f"{where}: missing SWE-bench fields {missing}; an instance needs {list(REQUIRED)} "
                            "(test_patch, patch, image and test_cmd are optional).")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in row.items() if k in names}
        extra = {**dict(row.get("extra") or {}), **{k: v for k, v in row.items() if k not in names and k != "extra"}}
        for key in ("FAIL_TO_PASS", "PASS_TO_PASS"):
            known[key] = _test_list(known[key], f"{where}.{key}")
        for key in ("instance_id", "repo", "base_commit", "problem_statement", "test_patch", "patch", "image",
                    "test_cmd"):
            value = known.get(key)
            if value is None:
                known.pop(key, None)
            elif not isinstance(value, str):
                raise TaskError(f"{where}.{key} must be a string, got {type(value).__name__}.")
        return cls(**known, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        row = dataclasses.asdict(self)
        row["FAIL_TO_PASS"], row["PASS_TO_PASS"] = list(self.FAIL_TO_PASS), list(self.PASS_TO_PASS)
        return row

    def to_task(self, split: str = "test") -> Task:
        """An agentrl Task whose reference is the whole instance; the env builds the prompt.

        The gold patch and the test patch stay in `reference`, which only the grader and scripted policies
        read: never the prompt, never the sandbox.
        """
        return Task(id=self.instance_id, prompt=(), reference={"instance": self.to_dict()}, split=split)


def task_image(instance_id: str) -> str:
    return f"{TASK_IMAGE_REPO}:{_TAG_UNSAFE.sub('_', instance_id)[:128]}"


def instance_of(task: Task) -> SWEInstance:
    row = task.reference.get("instance")
    if row is None:
        raise TaskError(f"task {task.id!r} carries no SWE instance; build tasks with SWEInstance.to_task().")
    return SWEInstance.from_dict(row, f"task {task.id!r}")


def _test_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):  # SWE-bench's HF rows store these lists as JSON strings
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise TaskError(f"{where} is a string that is not a JSON list of test ids ({e.msg}).") from e
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
        raise TaskError(f"{where} must be a list of test id strings, got {value!r:.200}.")
    return tuple(value)


def load_instances(path: str | Path) -> list[SWEInstance]:
    """Instances from a .json (a list or one object), .jsonl(.gz), or .parquet file (parquet needs pandas)."""
    path = Path(path)
    if not path.is_file():
        raise TaskError(f"no task file at {path}; pass a .json, .jsonl or .parquet file of SWE-bench instances.")
    suffix = "".join(path.suffixes[-2:]).lower() if path.name.endswith(".gz") else path.suffix.lower()
    if suffix in (".jsonl", ".jsonl.gz"):
        rows = _jsonl_rows(path)
    elif suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data if isinstance(data, list) else [data]
    elif suffix == ".parquet":
        rows = _parquet_rows(path)
    else:
        raise TaskError(f"{path}: unknown task file type {suffix!r}; use .json, .jsonl, .jsonl.gz or .parquet.")
    instances = [SWEInstance.from_dict(r, f"{path.name}[{i}]") for i, r in enumerate(rows)]
    seen: set[str] = set()
    for inst in instances:
        if inst.instance_id in seen:
            raise TaskError(f"{path}: instance_id {inst.instance_id!r} appears twice; ids must be unique.")
        seen.add(inst.instance_id)
    return instances


def _jsonl_rows(path: Path) -> list[Any]:
    rows = []
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    for n, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise TaskError(f"{path}:{n}: not valid JSON ({e.msg}).") from e
    return rows


def _parquet_rows(path: Path) -> list[dict[str, Any]]:
    try:
        import pandas
        frame = pandas.read_parquet(path)
    except ImportError as e:
        raise TaskError(f"{path}: reading parquet needs pandas and pyarrow (pip install pandas pyarrow); "
                        "or convert the file to JSONL.") from e
    return [{k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def write_instances(path: str | Path, instances: Iterable[SWEInstance]) -> int:
    """JSONL, gzipped (with a fixed timestamp, so equal tasks give equal bytes) when the name ends in .gz."""
    lines = [json.dumps(inst.to_dict(), sort_keys=True) + "\n" for inst in instances]
    data = "".join(lines).encode("utf-8")
    Path(path).write_bytes(gzip.compress(data, mtime=0) if str(path).endswith(".gz") else data)
    return len(lines)


SHIPPED = Path(__file__).parent / "data" / "tasks.jsonl.gz"


def shipped_instances() -> list[SWEInstance]:
    """The small built set that ships with the package (see `agentrl swe build-tasks` to make more)."""
    return load_instances(SHIPPED)


def tasks(split: str = "test") -> list[Task]:
    """Registry hook: the shipped instances as agentrl Tasks."""
    return [inst.to_task(split) for inst in shipped_instances()]
