"""The driver of a Ray run: the training core's loop, with rollouts in Ray actors running ahead of the learner.

    parts   = prepare(cfg); start = resume_point(out)          as `agentrl train` (agentrl.training)
    cluster = per policy: learner ranks (resumed) + rollout workers; env actors shared by every policy
    for step in range(start, steps):
        dispatch every batch b <= step + lag not yet dispatched        (lag = 0 in sync mode)
        batch    = schedule.collect(step, await batch `step`)           one episode per spec, failed or not; refills
        append batch.generated to episodes.jsonl; per policy, drop episodes older than the lag bound
        metrics  = await every learner.update(its agents' turns)       (batches ahead keep generating meanwhile)
        push each learner's new weights to its rollout workers         (each lands between generation requests)
        log.step(metrics); checkpoint every `save_every` updates (every policy in one folder)

The schedule (tasks, seeds, refill draws, group ids), checkpoints, run log and config checks are the core's, so a
batch here holds the same episodes as the same step of `agentrl train`, and either trainer resumes the other's run.
What is Ray's lives here and in `cluster`/`actors`: placement, the bounded-staleness schedule, fault accounting.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from pathlib import Path

from agentrl.config import to_dict
from agentrl.distributed.actors import failed_episode, run_setup_hooks
from agentrl.distributed.cluster import Cluster, first_line
from agentrl.distributed.config import RayTrainConfig
from agentrl.distributed.metrics import ActorRates, host_metrics, lag_metrics
from agentrl.errors import AgentRLError
from agentrl.training import checkpoints, memwatch
from agentrl.training.build import prepare
from agentrl.training.runlog import RunLog
from agentrl.training.schedule import EpisodeSpec, Schedule, rollout_metrics
from agentrl.types import Episode, Status, write_jsonl


class AccountingError(AgentRLError):
    """A batch came back with an episode missing or twice: a bug in the driver, never a tolerated fault."""


def train_ray(cfg: RayTrainConfig) -> dict[str, float]:
    """Run a Ray training run to the end (or Ctrl-C); returns the last update's metrics. Under the memory-stall
    watchdog (`run.memory_floor_gib`, judged on the driver's host): a thrashing run raises MemoryStallError."""
    driver = Driver(cfg)
    return asyncio.run(memwatch.watched(driver.run(), driver.watch))


class Driver:
    def __init__(self, cfg: RayTrainConfig):
        self.cfg = cfg
        self.lag = cfg.distributed.lag
        self.out = Path(cfg.run.out_dir).resolve()
        self.cluster: Cluster | None = None
        self.in_flight = 0
        d = cfg.distributed
        policies = max(1, len(cfg.policies))
        # progress: episodes that came back played (beat in `_one`) and updates; the turns run in other processes
        self.watch = memwatch.for_run(
            cfg, lambda: 0, policies * d.num_rollout_workers,
            f"distributed.num_rollout_workers (now {d.num_rollout_workers}), distributed.num_env_actors x "
            f"episodes_per_env_actor (now {d.num_env_actors} x {d.episodes_per_env_actor}), or the runs sharing "
            f"this machine (bench/chaos.py --concurrency)")

    async def run(self) -> dict[str, float]:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "config.json").write_text(json.dumps(to_dict(cfg), indent=2))
        run_setup_hooks(cfg.distributed.setup)
        parts = prepare(cfg)
        schedule = Schedule(parts.tasks, cfg)
        found, start = checkpoints.resume_point(self.out, cfg.run.resume, [p.name for p in parts.policies])
        self.cluster = cluster = Cluster(cfg, self.out, parts.policies)
        pending: dict[int, list[asyncio.Task]] = {}
        metrics: dict[str, float] = {}
        try:
            cluster.start(found)
            rates = ActorRates()
            versions = start_versions = await cluster.versions()
            print(f"ray run: {cfg.distributed.mode} (max policy lag {self.lag}), policies "
                  f"{[g.name for g in cluster.groups]}, {len(cluster.groups[0].workers)} rollout workers per "
                  f"policy, {len(cluster.envs)} env actors, {cfg.distributed.ranks} learner rank(s) per policy, "
                  f"steps {start}..{cfg.run.steps}", flush=True)
            with RunLog(self.out, cfg.run, start, line=ray_line) as log:
                next_batch, last = start, time.monotonic()
                for step in range(start, cfg.run.steps):
                    while next_batch < cfg.run.steps and next_batch <= step + self.lag:
                        pending[next_batch] = self._dispatch(schedule.specs(next_batch), min(versions.values()))
                        next_batch += 1
                    waited = time.monotonic()
                    first = await self._collect(schedule.specs(step), pending.pop(step))
                    batch = await schedule.collect(step, first, functools.partial(self._play,
                                                                                  version=min(versions.values())))
                    wait_s = time.monotonic() - waited
                    write_jsonl(self.out / "episodes.jsonl", batch.generated)
                    trained_at = versions
                    t0 = time.monotonic()
                    metrics, stale = await self._update(batch.train_on, trained_at)
                    self.watch.beat()
                    update_s = time.monotonic() - t0
                    versions = await cluster.versions()
                    t1 = time.monotonic()
                    syncs = await cluster.push_weights()
                    now = time.monotonic()
                    policies = cluster.policy_configs()
                    metrics.update(rollout_metrics(batch.generated, cfg.run.success_term, policies))
                    metrics.update(lag_metrics(batch.generated, trained_at, stale, policies))
                    metrics.update(batch.metrics)
                    metrics.update({"time/step_s": now - last, "time/wait_batch_s": wait_s, "time/update_s": update_s,
                                    "time/sync_s": now - t1, "time/sync_worker_max_s": max(syncs, default=0.0),
                                    "queue/batches_ahead": float(len(pending)), "queue/episodes_in_flight":
                                    float(self.in_flight), "learner/start_version": float(min(start_versions.values()))})
                    if len(cluster.groups) > 1:
                        metrics.update({f"policy/{n}/learner/start_version": float(v)
                                        for n, v in start_versions.items()})
                    metrics.update(rates.collect(await cluster.stats()))
                    metrics.update(host_metrics())
                    metrics.update(cluster.fault_metrics())
                    last = now
                    log.step(step + 1, metrics)
                    if log.save_due(step + 1, metrics):
                        await cluster.checkpoint(step + 1)
                    if log.done(step + 1, metrics):
                        break
        except BaseException as e:
            self._shutdown(pending, cluster, failing=e)
            raise
        self._shutdown(pending, cluster)
        return metrics

    @staticmethod
    def _shutdown(pending: dict[int, list[asyncio.Task]], cluster: Cluster, failing: BaseException | None = None
                  ) -> None:
        """Cancel what is in flight and stop the actors. When the run is already failing, a failure here is
        printed, not raised: the error that stopped the run (an actor's own exception) is the one to see."""
        for tasks in pending.values():
            for t in tasks:
                t.cancel()
        if failing is None:
            cluster.shutdown()
            return
        try:
            cluster.shutdown()
        except Exception as e:  # noqa: BLE001
            print(f"shutdown after {first_line(failing)} also failed: {first_line(e)}", flush=True)

    async def _update(self, episodes: list[Episode], trained_at: dict[str, int]) -> tuple[dict[str, float], int]:
        """Every policy's learner updates at once, each on its own agents' turns of the episodes within its lag
        bound. One policy: the learner's metrics as they are; several: under ``policy/<name>/``."""
        groups = self.cluster.groups
        single = len(groups) == 1
        calls, stale = [], 0
        for g in groups:
            fresh, over = within_lag(episodes, trained_at[g.name], self.lag, self.cfg.distributed.stale,
                                     None if single else g.name)
            stale += over
            calls.append(self.cluster.on_every_rank(g, "update", fresh))
        results = await asyncio.gather(*calls)
        if single:
            return results[0], stale
        metrics: dict[str, float] = {}
        for g, m in zip(groups, results):
            metrics.update({f"policy/{g.name}/{k}": v for k, v in m.items()})
        metrics["learner/version"] = results[0].get("learner/version", float(trained_at[groups[0].name]))
        return metrics, stale

    # -- rollouts ------------------------------------------------------------------------------------------
    async def _play(self, specs: list[EpisodeSpec], version: int) -> list[Episode]:
        return await self._collect(specs, self._dispatch(specs, version))

    def _dispatch(self, specs: list[EpisodeSpec], version: int) -> list[asyncio.Task]:
        return [asyncio.create_task(self._one(spec, version)) for spec in specs]

    async def _one(self, spec: EpisodeSpec, version: int) -> Episode:
        """One episode on the next live env actor and, for every policy, its next live rollout worker (round
        robin over those that are up). A dead env actor's episode is recorded as env_error here, a dead worker's
        as policy_error by `run_episode` inside the env actor; either way the actor is set aside until it
        answers again."""
        import ray

        cluster = self.cluster
        env_i = await cluster.env_pool.pick()
        workers = {g.name: await g.pool.pick() for g in cluster.groups}
        self.in_flight += 1
        try:
            episode = await cluster.envs[env_i].run.remote(
                spec, {g.name: (g.workers[workers[g.name]], workers[g.name]) for g in cluster.groups})
        except ray.exceptions.RayError as e:
            cluster.env_pool.failed(env_i)
            return failed_episode(self.cfg.env.id, spec, Status.ENV_ERROR,
                                  f"env actor {env_i} failed while running the episode: {first_line(e)}", version,
                                  env_i, next(iter(workers.values())))
        finally:
            self.in_flight -= 1
        if not episode.status.is_failure:
            self.watch.beat()
        if episode.status == Status.POLICY_ERROR:
            for g in cluster.groups:  # probed at once: a worker that answers is back immediately
                g.pool.failed(workers[g.name])
        return episode

    @staticmethod
    async def _collect(specs: list[EpisodeSpec], tasks: list[asyncio.Task]) -> list[Episode]:
        """The episodes of `specs`, in spec order; exactly one each, or the run stops (a driver bug)."""
        episodes = list(await asyncio.gather(*tasks))
        want = [(s.task.id, s.step, s.sample, s.tag) for s in specs]
        got = [(e.task.id, e.info.get("step"), e.info.get("sample"), e.info.get("round", "")) for e in episodes]
        if got != want:
            missing = sorted(set(want) - set(got))[:3]
            raise AccountingError(f"batch {specs[0].step}{specs[0].tag}: expected {len(want)} episodes in spec "
                                  f"order, got {len(got)} ({len(set(got))} distinct; missing e.g. {missing}).")
        return episodes


def within_lag(episodes: list[Episode], version: int, lag: int, stale: str, policy: str | None = None
               ) -> tuple[list[Episode], int]:
    """Episodes within the lag bound (all of them with ``stale=downweight``) and how many were over it.
    `policy`: judge by the version of that policy that started the episode (a multi-policy run)."""
    def started(e: Episode) -> int:
        return (e.info.get("policy_versions") or {}).get(policy, e.policy_version) if policy else e.policy_version

    over = [e for e in episodes if not e.status.is_failure and version - started(e) > lag]
    if stale == "downweight" or not over:
        return episodes, len(over)
    ids = {e.id for e in over}
    return [e for e in episodes if e.id not in ids], len(over)


def ray_line(step: int, m: dict[str, float]) -> str:
    return (f"update {step:4d}  reward {m['rollout/reward']:.3f}  success {m['rollout/success']:.3f}  "
            f"failed {int(m['rollout/failed'])}  lag {m['policy_lag/mean']:.2f}/{int(m['policy_lag/max'])}  "
            f"in flight {int(m['queue/episodes_in_flight'])}  sync {m['time/sync_s'] * 1000:.0f} ms  "
            f"step {m['time/step_s']:.2f}s")
