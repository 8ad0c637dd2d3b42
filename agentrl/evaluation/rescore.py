"""Re-scoring a finished run from its saved episodes, without generating again.

`rescore(run_dir, rubric="module:function")` loads the run's episodes, strips every reward the old rubric
computed (the env's own step rewards, term ``env``, are kept: they are what the env said, not a judgement),
scores each episode with the new rubric (the env's registered rubric by default) and writes a new run folder
(default ``RUN_DIR/rescored``) with the episodes, the manifest and fresh reports. The original run is never
modified.

Which episodes are re-scored: ``ok`` and ``truncated`` ones, and ``verifier_error`` ones (their trajectory is
complete; only the old verifier failed; they are re-scored as ``ok`` and keep the old error in
``info["rescore"]``). Episodes that failed in the env or the policy have no complete trajectory and keep their
status. Verifiers that need the live env (a sandbox) get ``env=None`` here.

``live=True`` (``agentrl rescore DIR --live``) re-verifies instead of trusting the saved turn infos: each
episode's replies are replayed through a fresh env (its own sandbox) and scored next to it, `concurrency`
episodes at a time (see `agentrl.evaluation.replay`). For SWE this re-grades the submitted changes in a fresh
Docker sandbox with the env's grader. It costs env time (sandboxes, tests), never model time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

from agentrl import registry
from agentrl.errors import ConfigError
from agentrl.evaluation.plan import EvalSpec, plan_jobs
from agentrl.evaluation.report import write_reports
from agentrl.evaluation.runner import summarize_run
from agentrl.evaluation.store import EPISODES, MANIFEST, load_spec, read_episodes
from agentrl.rubric import ENV_TERM, Rubric
from agentrl.types import Episode, Status


def load_rubric(entry_point: str | None, env_id: str) -> Rubric:
    """``module:function`` returning a Rubric (or a Rubric object itself); None gives the env's own rubric."""
    if entry_point is None:
        return registry.rubric(env_id)
    if ":" not in entry_point:
        raise ConfigError(f"--rubric {entry_point!r} must look like 'package.module:function' (a function "
                          "returning a Rubric, or a Rubric object).")
    obj = registry.resolve(entry_point)
    rubric = obj() if callable(obj) and not isinstance(obj, Rubric) else obj
    if not isinstance(rubric, Rubric):
        raise ConfigError(f"--rubric {entry_point!r} gave {type(rubric).__name__}, expected an "
                          "agentrl.verifiers.Rubric.")
    return rubric


def _unscored(episode: Episode) -> Episode:
    turns = tuple(dataclasses.replace(t, rewards={k: v for k, v in t.rewards.items() if k == ENV_TERM})
                  for t in episode.turns)
    info = {k: v for k, v in episode.info.items() if k not in ("reward_errors", "reward_evidence")}
    return episode.replace(turns=turns, outcome_rewards={}, reward={}, info=info)


async def rescore_episode(episode: Episode, rubric: Rubric, live_max_turns: int | None = None) -> Episode:
    """`episode` scored by `rubric`; replayed through a fresh env first when `live_max_turns` is given."""
    if episode.status.is_failure and episode.status != Status.VERIFIER_ERROR:
        return episode
    clean = _unscored(episode)
    if episode.status == Status.VERIFIER_ERROR:
        clean = clean.replace(status=Status.OK, error=None,
                              info={**clean.info, "rescore": {"previous_status": episode.status.value,
                                                              "previous_error": episode.error}})
    if live_max_turns is not None:
        from agentrl.evaluation.replay import reverify_episode

        return await reverify_episode(clean, rubric, max_turns=live_max_turns)
    return await rubric.score(clean, None)


async def _rescore_all(episodes: list[Episode], rubric: Rubric, live_max_turns: int | None,
                       concurrency: int) -> list[Episode]:
    gate = asyncio.Semaphore(concurrency)

    async def one(e: Episode) -> Episode:
        async with gate:
            return await rescore_episode(e, rubric, live_max_turns)

    return list(await asyncio.gather(*(one(e) for e in episodes)))


def rescore(run_dir: str | Path, rubric: str | None = None, out_dir: str | Path | None = None, *,
            live: bool = False, concurrency: int = 2) -> dict[str, Any]:
    """Re-score `run_dir` into `out_dir` (default RUN_DIR/rescored) and return the new summary.

    `live`: replay every scoreable episode through a fresh env and re-verify it there (see the module doc)."""
    if concurrency < 1:
        raise ConfigError(f"--concurrency must be >= 1, got {concurrency}.")
    run_dir = Path(run_dir)
    spec: EvalSpec = load_spec(run_dir)
    out = Path(out_dir) if out_dir else run_dir / "rescored"
    if out.resolve() == run_dir.resolve():
        raise ConfigError("--out must differ from the run folder: re-scoring never overwrites the original run.")
    the_rubric = load_rubric(rubric, spec.env_id)
    episodes = read_episodes(run_dir / EPISODES)  # tolerates a torn last line; the source is not modified

    live_max_turns = (spec.max_turns or registry.spec(spec.env_id).max_turns) if live else None
    rescored = asyncio.run(_rescore_all(episodes, the_rubric, live_max_turns, concurrency))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / MANIFEST, out / MANIFEST)
    tmp = out / (EPISODES + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(e.to_json() + "\n" for e in rescored)
    os.replace(tmp, out / EPISODES)
    summary = summarize_run(spec, rescored, len(plan_jobs(spec)))
    summary["run"]["rubric"] = rubric or f"{spec.env_id} default"
    summary["run"]["rescored_from"] = str(run_dir)
    summary["run"]["live"] = live
    write_reports(out, summary, rescored)
    diverged = [e.id for e in rescored if ((e.info.get("rescore") or {}).get("live") or {}).get("diverged_at")]
    (out / "rescore.json").write_text(json.dumps({"rubric": rubric, "source": str(run_dir), "live": live,
                                                  "episodes": len(rescored), "diverged": diverged}, indent=2))
    return summary
