"""Checkpoints and resume, one layout for both trainers (either resumes the other's):

    <out>/checkpoints/step-000020/<policy>/{model/, learner.pt}    one folder per policy ("main" when there is one)
    <out>/checkpoints/step-000020/trainer.json                     {"step": 20, "versions": {"main": 17}}
    <out>/checkpoints/step-000020/league.json                      self-play's league at that step (if any)

A policy trained by several learner ranks has a sharded folder instead of learner.pt
(`agentrl.distributed.gpu.FSDPLearner.save`):

    <policy>/model/                   the whole model, Hugging Face format (rank 0), for eval and engines
    <policy>/sharded/                 torch.distributed.checkpoint: model + optimizer shards, one file per rank
    <policy>/fsdp.pt, rng-<rank>.pt   version (rank 0); each rank's RNG state

A checkpoint is written into a temporary folder (`begin`), every policy's learner writes its folder into it, and
`commit` renames it, so a kill mid-save never leaves a broken newest checkpoint, and every policy's weights in one
checkpoint come from the same update. On resume, `trim_logs` drops what a killed run wrote after its newest
checkpoint, so the resumed run writes each step to episodes.jsonl and metrics.jsonl exactly once. On a cluster the
run folder must be on storage the driver and the learners' nodes share.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentrl.errors import ConfigError

POLICY = "main"


def begin(out: Path, step: int) -> Path:
    tmp = out / "checkpoints" / f".tmp-{step}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def commit(out: Path, step: int, tmp: Path, versions: dict[str, int], league: dict | None = None) -> Path:
    final = out / "checkpoints" / f"step-{step:06d}"
    if league is not None:  # the league as of this step; snapshot weights stay in out/league/
        (tmp / "league.json").write_text(json.dumps(league))
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


def league_of(folder: Path) -> dict | None:
    path = folder / "league.json"
    return json.loads(path.read_text()) if path.is_file() else None


def check_policies(folder: Path, names: Sequence[str]) -> None:
    """Refuse to resume a checkpoint written under another policy map, saying what changed."""
    have = sorted(p.name for p in folder.iterdir() if p.is_dir())
    missing = [n for n in names if n not in have]
    if missing:
        raise ConfigError(f"checkpoint {folder} has folders for policies {have}, but this run's policy map has "
                          f"{list(names)} (no checkpoint for {missing}): the policy map changed since it was written. "
                          "Restore the old `policies:` section, or start afresh with a new run.out_dir or "
                          "run.resume=false.")


def load(learner: Any, folder: Path, policy: str = POLICY) -> int:
    """Restore the learner (weights, optimizer, value head, version, torch RNG); returns the step it ends."""
    check_policies(folder, [policy])
    sharded = (folder / policy / "sharded").is_dir()
    if sharded != (getattr(learner, "world", 1) > 1):
        wrote, runs = ("several learner ranks", "one") if sharded else ("one learner rank", "several")
        raise ConfigError(f"checkpoint {folder} was written by {wrote} and this run has {runs}; resume with the "
                          "learner settings that wrote it (distributed.learner_gpus / learner_ranks: any number > 1 "
                          "reads a sharded checkpoint), or use a fresh run.out_dir.")
    learner.load(folder / policy)
    return step_of(folder)


def trim_logs(out: Path, step: int) -> None:
    """Drop what a killed run wrote after its checkpoint at `step`: the resumed run regenerates it exactly once."""
    # An evaluation row at `step` is of the weights the resumed run evaluates again before its first step.
    for name, keep in (("episodes.jsonl", lambda row: _episode_step(row) < step),
                       ("eval_episodes.jsonl", lambda row: _episode_step(row) < step),
                       ("metrics.jsonl", lambda row: row.get("step", 0) < step or (
                           row.get("step", 0) == step and not any(k.startswith("eval/") for k in row)))):
        path = out / name
        if not path.exists():
            continue
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a torn last line from a kill mid-write
                continue
            if keep(row):
                rows.append(line)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
        tmp.replace(path)


def _episode_step(row: dict[str, Any]) -> int:
    step = (row.get("info") or {}).get("step")
    return int(step) if step is not None else int(str(row.get("group_id", "0")).split(":", 1)[0] or 0)


def resume_point(out: Path, resume: bool, policies: Sequence[str]) -> tuple[Path | None, int]:
    """(the checkpoint to resume from or None, the step to continue from). Checks the policy map and trims the
    logs back to the checkpoint, so both trainers resume the same way."""
    if not resume:  # a fresh start into the same folder appends; nothing of the earlier run is deleted
        return None, 0
    found = latest(out)
    if found is None:  # killed before its first checkpoint: the run starts over from step 0, written once
        trim_logs(out, 0)
        return None, 0
    check_policies(found, policies)
    step = step_of(found)
    trim_logs(out, step)
    return found, step
