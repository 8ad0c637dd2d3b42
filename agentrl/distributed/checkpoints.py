"""Checkpoints of a Ray run, in the same layout as `agentrl train`'s, so either trainer resumes the other's:

    <out>/checkpoints/step-000020/<policy>/{model/, learner.pt}    one folder per policy ("main" when there is one)
    <out>/checkpoints/step-000020/trainer.json                     {"step": 20, "versions": {"main": 20}}

The driver opens a temporary folder (`begin`), every learner writes its policy's folder into it, and the driver
renames it (`commit`), so a kill mid-save never leaves a broken newest checkpoint, and every policy's weights in
one checkpoint come from the same update. On a cluster the run folder must be on storage the driver and the
learners' nodes share.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

POLICY = "main"


def begin(out: Path, step: int) -> Path:
    tmp = out / "checkpoints" / f".tmp-{step}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def commit(out: Path, step: int, tmp: Path, versions: dict[str, int]) -> Path:
    final = out / "checkpoints" / f"step-{step:06d}"
    (tmp / "trainer.json").write_text(json.dumps({"step": step, "versions": versions}))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def save(learner: Any, out: Path, step: int, policy: str = POLICY) -> Path:
    """A checkpoint of one learner (the single-policy case in one call)."""
    tmp = begin(out, step)
    learner.save(tmp / policy)
    return commit(out, step, tmp, {policy: learner.version})


def latest(out: Path) -> Path | None:
    found = sorted((out / "checkpoints").glob("step-*"))
    return found[-1] if found else None


def step_of(folder: Path) -> int:
    return int(json.loads((folder / "trainer.json").read_text())["step"])


def load(learner: Any, folder: Path, policy: str = POLICY) -> int:
    """Restore the learner (weights, optimizer, value head, version, torch RNG); returns the step it ends."""
    if not (folder / policy).is_dir():
        from agentrl.errors import ConfigError

        have = sorted(p.name for p in folder.iterdir() if p.is_dir())
        raise ConfigError(f"checkpoint {folder} has no folder for policy {policy!r} (it has {have}); the policy map "
                          "changed since it was written. Use a fresh run.out_dir or set run.resume=false.")
    learner.load(folder / policy)
    return step_of(folder)
