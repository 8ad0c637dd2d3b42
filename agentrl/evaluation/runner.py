"""Running an evaluation: plan the jobs, skip the finished ones, play the rest, write each as it finishes.

    jobs    = plan_jobs(spec)                      one per (task, sample), with a deterministic seed
    todo    = jobs whose key is not in DIR/episodes.jsonl
    for each episode the executor finishes:       in completion order
        append it to DIR/episodes.jsonl (flushed and fsynced), update the progress bar
    write the report from every finished episode of the plan

Executors decide where episodes run. `AsyncioExecutor` runs them as asyncio tasks in this process, at most
`concurrency` at once. An executor only needs ``run(jobs, runner) -> async iterator of Episode``; the
`EpisodeRunner` it receives is rebuilt from its `spec` alone, so a remote executor (Ray actors) can build
one runner per actor instead of shipping this one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from agentrl import registry
from agentrl.evaluation.plan import EvalSpec, Job, plan_jobs
from agentrl.evaluation.policy_flag import PolicySource
from agentrl.evaluation.store import RunStore, episode_key
from agentrl.evaluation.summary import episode_scores, summarize
from agentrl.rollout import run_episode
from agentrl.types import Episode, Status


class EpisodeRunner:
    """Plays one job: builds the env and the episode's policy, runs it, tags it with its sample index."""

    def __init__(self, spec: EvalSpec):
        self.spec = spec
        self.max_turns = spec.max_turns or registry.spec(spec.env_id).max_turns
        self.rubric = registry.rubric(spec.env_id)
        self.policies = PolicySource(spec)

    async def run(self, job: Job) -> Episode:
        tag = {"eval": {"sample": job.sample, "policy": self.spec.policy}}
        try:
            env = registry.make(self.spec.env_id)
        except Exception as e:  # a broken env build is this episode's failure, not the run's  # noqa: BLE001
            return Episode(task=job.task, env_id=self.spec.env_id, seed=job.seed, status=Status.ENV_ERROR,
                           error=f"make failed: {type(e).__name__}: {e}", info=tag, group_id=job.task.id)
        policy = self.policies.for_episode(job.seed)
        try:
            episode = await run_episode(env, policy, job.task, job.seed, self.rubric, env_id=self.spec.env_id,
                                        max_turns=self.max_turns, turn_timeout=self.spec.turn_timeout,
                                        episode_timeout=self.spec.episode_timeout)
        finally:
            await self.policies.release(policy)
        return episode.replace(info={**episode.info, **tag})

    def close(self) -> None:
        self.policies.close()


class Executor(Protocol):
    def run(self, jobs: Sequence[Job], runner: EpisodeRunner) -> AsyncIterator[Episode]: ...


@dataclasses.dataclass(frozen=True)
class AsyncioExecutor:
    """Episodes as asyncio tasks in this process, `concurrency` at a time, yielded as they finish."""

    concurrency: int = 8

    async def run(self, jobs: Sequence[Job], runner: EpisodeRunner) -> AsyncIterator[Episode]:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}.")
        queue = list(reversed(jobs))
        running: set[asyncio.Task] = set()
        try:
            while queue or running:
                while queue and len(running) < self.concurrency:
                    running.add(asyncio.create_task(runner.run(queue.pop())))
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in sorted(done, key=lambda t: episode_key(t.result())):
                    yield task.result()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)


class _Progress:
    """A tqdm bar whose postfix shows running success rate, mean reward and failures."""

    def __init__(self, spec: EvalSpec, total: int, finished: Sequence[Episode], enabled: bool):
        from tqdm import tqdm

        self.spec = spec
        self.bar = tqdm(total=total, initial=len(finished), desc=f"eval {spec.env_id}", unit="ep",
                        disable=not enabled, dynamic_ncols=True)
        self.scored = self.successes = self.failures = 0
        self.reward_sum = 0.0
        for e in finished:
            self._count(e)
        self._show()

    def _count(self, e: Episode) -> None:
        if e.status.is_failure:
            self.failures += 1
            return
        s = episode_scores(e, agent=self.spec.agent, term=self.spec.success_term, threshold=self.spec.success_threshold)
        self.scored += 1
        self.successes += s["success"]
        self.reward_sum += s["reward"] or 0.0

    def _show(self) -> None:
        if self.scored:
            self.bar.set_postfix(success=f"{self.successes / self.scored:.3f}",
                                 reward=f"{self.reward_sum / self.scored:.3f}", failed=self.failures, refresh=False)

    def update(self, e: Episode) -> None:
        self._count(e)
        self._show()
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def summarize_run(spec: EvalSpec, episodes: Sequence[Episode], planned: int) -> dict[str, Any]:
    run = {"env_id": spec.env_id, "policy": spec.policy, "model": spec.model, "tasks": spec.tasks,
           "samples": spec.samples, "seed": spec.seed}
    return summarize(episodes, samples=spec.samples, agent=spec.agent, success_term=spec.success_term,
                     threshold=spec.success_threshold, expected=planned, run=run)


async def evaluate_async(spec: EvalSpec, out_dir: str | Path, *, executor: Executor | None = None,
                         progress: bool = True, report: bool = True) -> dict[str, Any]:
    """Run (or resume) the evaluation into `out_dir` and return its summary."""
    from agentrl.evaluation.report import write_reports

    jobs = plan_jobs(spec)
    planned = {j.key for j in jobs}
    executor = executor or AsyncioExecutor()
    with RunStore(out_dir, spec) as store:
        done = {episode_key(e) for e in store.finished()}
        todo = [j for j in jobs if j.key not in done]
        if todo:
            bar = _Progress(spec, len(jobs), [e for e in store.finished() if episode_key(e) in planned], progress)
            runner = EpisodeRunner(spec)
            try:
                async for episode in executor.run(todo, runner):
                    store.append([episode])
                    bar.update(episode)
            finally:
                bar.close()
                runner.close()
        episodes = [e for e in store.finished() if episode_key(e) in planned]
    summary = summarize_run(spec, episodes, len(jobs))
    if report:
        write_reports(out_dir, summary, episodes)
    return summary


def evaluate(spec: EvalSpec, out_dir: str | Path, *, concurrency: int = 8, executor: Executor | None = None,
             progress: bool = True, report: bool = True) -> dict[str, Any]:
    """Synchronous entry point of `evaluate_async` with an `AsyncioExecutor(concurrency)` by default."""
    return asyncio.run(evaluate_async(spec, out_dir, executor=executor or AsyncioExecutor(concurrency),
                                      progress=progress, report=report))
