"""Checkpoints of a Ray run, in the same layout as `agentrl train`'s, so either trainer resumes the other's:

    <out>/checkpoints/step-000020/main/{model/, learner.pt}     the learner of the one policy, "main"
    <out>/checkpoints/step-000020/trainer.json                 {"step": 20, "versions": {"main": 20}}

A checkpoint is written to a temporary folder and renamed, so a kill mid-save never leaves a broken newest one.
On a cluster the run folder must be on storage the driver and the learner's node share.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

POLICY = "main"


def save(learner: Any, out: Path, step: int) -> Path:
    tmp = out / "checkpoints" / f".tmp-{step}"
    final = out / "checkpoints" / f"step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    learner.save(tmp / POLICY)
    (tmp / "trainer.json").write_text(json.dumps({"step": step, "versions": {POLICY: learner.version}}))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def latest(out: Path) -> Path | None:
    found = sorted((out / "checkpoints").glob("step-*"))
    return found[-1] if found else None


def load(learner: Any, folder: Path) -> int:
    """Restore the learner (weights, optimizer, version, torch RNG); returns the step the checkpoint ends."""
    learner.load(folder / POLICY)
    return int(json.loads((folder / "trainer.json").read_text())["step"])
