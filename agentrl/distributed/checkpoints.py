"""Checkpoints of a Ray run, in the same layout as `agentrl train`'s, so either trainer resumes the other's:

    <out>/checkpoints/step-000020/<policy>/{model/, learner.pt}    one folder per policy ("main" when there is one)
    <out>/checkpoints/step-000020/trainer.json                     {"step": 20, "versions": {"main": 20}}

A policy trained by several learner ranks (`distributed.ranks` > 1) has a sharded folder instead of learner.pt
(`agentrl.distributed.gpu.FSDPLearner.save`):

    <policy>/model/                   the whole model, Hugging Face format (rank 0), for eval and engines
    <policy>/sharded/                 torch.distributed.checkpoint: model + optimizer shards, one file per rank
    <policy>/fsdp.pt, rng-<rank>.pt   version (rank 0); each rank's RNG state

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
    """A checkpoint of one learner (the single-policy case in one call). A sharded learner calls it on every
    rank: rank 0 opens and renames the temporary folder, every rank writes its shards in between."""
    rank = getattr(learner, "rank", 0)
    sharded = getattr(learner, "world", 1) > 1
    tmp = begin(out, step) if rank == 0 else out / "checkpoints" / f".tmp-{step}"
    if sharded:
        _barrier()  # the folder exists before any rank writes into it
    learner.save(tmp / policy)  # ends with a barrier when sharded
    final = out / "checkpoints" / f"step-{step:06d}"
    if rank == 0:
        final = commit(out, step, tmp, {policy: learner.version})
    if sharded:
        _barrier()  # no rank returns before the checkpoint is complete
    return final


def _barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


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
    sharded = (folder / policy / "sharded").is_dir()
    if sharded != (getattr(learner, "world", 1) > 1):
        from agentrl.errors import ConfigError

        wrote, runs = ("several learner ranks", "one") if sharded else ("one learner rank", "several")
        raise ConfigError(f"checkpoint {folder} was written by {wrote} and this run has {runs}; resume with the "
                          "learner settings that wrote it (distributed.learner_gpus / learner_ranks: any number > 1 "
                          "reads a sharded checkpoint), or use a fresh run.out_dir.")
    learner.load(folder / policy)
    return step_of(folder)
