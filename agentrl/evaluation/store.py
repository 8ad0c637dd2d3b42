"""The run folder: a manifest, the episodes as JSON lines, and a lock.

    DIR/run.json          the `EvalSpec` of the run (a rerun with a different spec is refused)
    DIR/episodes.jsonl    one finished episode per line, appended and flushed as each one finishes
    DIR/.lock             held (flock) while a process writes the run, so two writers never interleave

Crash safety: a kill can only tear the last line. Before appending, `RunStore` cuts the file back to its last
complete line, so the torn fragment never ends up in the middle of the file. Each episode carries its sample
index in ``info["eval"]``; together with the task id and seed it is the episode's key. Reading keeps the first
episode of each key, so even a file edited by hand never counts an episode twice.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Self

from agentrl.errors import ConfigError
from agentrl.evaluation.plan import EvalSpec
from agentrl.types import Episode, read_jsonl

MANIFEST = "run.json"
EPISODES = "episodes.jsonl"
LOCK = ".lock"

Key = tuple[str, int, int]


def episode_key(episode: Episode) -> Key:
    sample = (episode.info.get("eval") or {}).get("sample")
    if sample is None:
        raise ConfigError(f"episode {episode.id} of task {episode.task.id!r} has no info['eval']['sample']; "
                          "it was not written by `agentrl eval`.")
    return (episode.task.id, int(sample), int(episode.seed))


def repair_tail(path: Path) -> int:
    """Cut a torn last line (no trailing newline) off `path`; returns how many bytes were dropped."""
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return 0
        # walk back to the previous newline, in blocks
        pos = size
        while pos > 0:
            step = min(65536, pos)
            f.seek(pos - step)
            block = f.read(step)
            nl = block.rfind(b"\n")
            if nl >= 0:
                keep = pos - step + nl + 1
                break
            pos -= step
        else:
            keep = 0
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


def read_episodes(path: Path) -> list[Episode]:
    """The unique finished episodes in `path`, first one per key, in file order."""
    if not path.exists():
        return []
    seen: set[Key] = set()
    out = []
    for episode in read_jsonl(path):
        key = episode_key(episode)
        if key not in seen:
            seen.add(key)
            out.append(episode)
    return out


class RunStore:
    """Owns one run folder for writing. Use as a context manager: it holds the lock while open."""

    def __init__(self, out_dir: str | Path, spec: EvalSpec):
        self.dir = Path(out_dir)
        self.spec = spec
        self.episodes_path = self.dir / EPISODES
        self._lock_file = None
        self._out = None

    def __enter__(self) -> Self:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.dir / LOCK, "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            self._lock_file.close()
            raise ConfigError(f"{self.dir} is being written by another `agentrl eval` process; wait for it or "
                              "pick another --out.") from e
        self._check_manifest()
        repair_tail(self.episodes_path)
        self._out = open(self.episodes_path, "a", encoding="utf-8")
        return self

    def __exit__(self, *exc) -> None:
        if self._out:
            self._out.close()
        if self._lock_file:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()

    def _check_manifest(self) -> None:
        path = self.dir / MANIFEST
        if path.exists():
            saved = EvalSpec.from_dict(json.loads(path.read_text()))
            if saved != self.spec:
                diff = {k: (v, getattr(self.spec, k)) for k, v in saved.to_dict().items()
                        if v != getattr(self.spec, k)}
                changes = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
                raise ConfigError(f"{self.dir} holds a run with different settings ({changes}). Rerun with the "
                                  "same arguments to resume it, or choose a new --out for a new run.")
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.spec.to_dict(), indent=2, sort_keys=True))
        os.replace(tmp, path)

    def finished(self) -> list[Episode]:
        return read_episodes(self.episodes_path)

    def append(self, episodes: Iterable[Episode]) -> None:
        """Write each episode as one line and flush it to the OS before returning."""
        assert self._out is not None, "RunStore must be entered (with ...) before writing"
        for episode in episodes:
            self._out.write(episode.to_json() + "\n")
            self._out.flush()
            os.fsync(self._out.fileno())


def load_spec(run_dir: str | Path) -> EvalSpec:
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        raise ConfigError(f"{run_dir} is not an evaluation run folder (no {MANIFEST}). Pass the --out folder of "
                          "an `agentrl eval` run.")
    return EvalSpec.from_dict(json.loads(path.read_text()))
