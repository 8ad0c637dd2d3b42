"""The driver of a Ray run: starts the actors, schedules rollouts and updates, keeps the books.

    cluster  = per policy: a learner (resumed from the newest checkpoint) + rollout workers; shared env actors
    for step in range(start, steps):
        dispatch every batch b <= step + lag not yet dispatched        (lag = 0 in sync mode)
        episodes = await batch `step`                                   (one record per (task, sample), failed or not)
        dynamic sampling (if on): refill rounds for groups whose rewards are all equal
        append them to episodes.jsonl; per policy, drop episodes older than the lag bound
        metrics  = await every learner.update(its agents' turns)       (batches ahead keep generating meanwhile)
        push each learner's new weights to its rollout workers         (each lands between generation requests)
        log metrics; checkpoint every `save_every` updates (every policy in one folder)

Batch `b` is always the tasks of `agentrl.train._tasks_for_step(b)` with the same per-episode seeds (and refill
draws) as the single-process loop, and the learners train on the batches in order, so a resumed run sees the
same data order and (in sync mode, with a reproducible policy) makes the same next update.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from agentrl.config import to_dict
from agentrl.distributed import policies
from agentrl.distributed.actors import EnvActor, LearnerActor, RolloutWorker, failed_episode, run_setup_hooks
from agentrl.distributed.config import RayTrainConfig
from agentrl.distributed.metrics import ActorRates, batch_metrics, host_metrics
from agentrl.errors import AgentRLError
from agentrl.train import PolicyConfig
from agentrl.types import Episode, Status, Task, write_jsonl

QUIET = {"VLLM_LOGGING_LEVEL": "WARNING", "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error",
         "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


class AccountingError(AgentRLError):
    """A batch came back with an episode missing or twice: a bug in the driver, never a tolerated fault."""


class LearnerRankError(AgentRLError):
    """A rank of a sharded learner died or failed. Its peers cannot go on without it (each holds only its shards
    and waits in collectives for the missing one), and one FSDP rank cannot be restarted alone: the run stops,
    and the same command resumes it from the newest checkpoint."""


def train_ray(cfg: RayTrainConfig) -> dict[str, float]:
    """Run a Ray training run to the end (or Ctrl-C); returns the last update's metrics."""
    return asyncio.run(Driver(cfg).run())


@dataclasses.dataclass
class PolicyGroup:
    """One trained policy on the cluster: its learner actor, its rollout workers and their pool."""

    config: PolicyConfig
    learner: Any = None  # rank 0 of `ranks`: the one that answers weights() and version()
    workers: list[Any] = dataclasses.field(default_factory=list)
    pool: ActorPool | None = None
    ranks: list[Any] = dataclasses.field(default_factory=list)  # every learner rank (one for a plain learner)

    @property
    def name(self) -> str:
        return self.config.name


class Driver:
    def __init__(self, cfg: RayTrainConfig):
        self.cfg = cfg
        self.lag = cfg.distributed.lag
        self.out = Path(cfg.run.out_dir).resolve()
        self.cluster: Cluster | None = None
        self.in_flight = 0

    async def run(self) -> dict[str, float]:
        from agentrl import registry
        from agentrl.train import _Interrupt, _Logger

        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "config.json").write_text(json.dumps(to_dict(self.cfg), indent=2))
        run_setup_hooks(self.cfg.distributed.setup)
        tasks = registry.tasks(self.cfg.env.id, self.cfg.env.split)
        self.cluster = cluster = Cluster(self.cfg, self.out, policies.resolve(self.cfg))
        logger = None
        interrupt = _Interrupt() if threading.current_thread() is threading.main_thread() else None
        pending: dict[int, list[asyncio.Task]] = {}
        metrics: dict[str, float] = {}
        try:
            start = cluster.start()
            _trim_after(self.out, start)
            logger = _Logger(self.out, self.cfg.run.tensorboard)
            rates = ActorRates()
            versions = start_versions = await cluster.versions()
            print(f"ray run: {self.cfg.distributed.mode} (max policy lag {self.lag}), policies "
                  f"{[g.name for g in cluster.groups]}, {len(cluster.groups[0].workers)} rollout workers per "
                  f"policy, {len(cluster.envs)} env actors, {self.cfg.distributed.ranks} learner rank(s) per policy, "
                  f"steps {start}..{self.cfg.run.steps}", flush=True)
            next_batch, last = start, time.monotonic()
            for step in range(start, self.cfg.run.steps):
                while next_batch < self.cfg.run.steps and next_batch <= step + self.lag:
                    pending[next_batch] = self._dispatch(next_batch, tasks, min(versions.values()))
                    next_batch += 1
                waited = time.monotonic()
                episodes = await self._collect(step, pending.pop(step))
                generated, train_on, sampling = await self._dynamic_sampling(step, episodes, tasks,
                                                                             min(versions.values()))
                wait_s = time.monotonic() - waited
                write_jsonl(self.out / "episodes.jsonl", generated)
                trained_at = versions
                t0 = time.monotonic()
                metrics, stale = await self._update(train_on, trained_at)
                update_s = time.monotonic() - t0
                versions = await cluster.versions()
                t1 = time.monotonic()
                syncs = await cluster.push_weights()
                now = time.monotonic()
                metrics.update(batch_metrics(generated, trained_at, self.cfg.run.success_term, stale,
                                             cluster.policy_configs()))
                metrics.update(sampling)
                metrics.update({"time/step_s": now - last, "time/wait_batch_s": wait_s, "time/update_s": update_s,
                                "time/sync_s": now - t1, "time/sync_worker_max_s": max(syncs, default=0.0),
                                "queue/batches_ahead": float(len(pending)), "queue/episodes_in_flight":
                                float(self.in_flight), "learner/start_version": float(min(start_versions.values()))})
                if len(cluster.groups) > 1:
                    metrics.update({f"policy/{n}/learner/start_version": float(v) for n, v in start_versions.items()})
                metrics.update(rates.collect(await cluster.stats()))
                metrics.update(host_metrics())
                metrics.update(cluster.fault_metrics())
                last = now
                logger.log(step + 1, metrics)
                if (step + 1) % self.cfg.run.log_every == 0 or step == start:
                    print(_line(step + 1, metrics), flush=True)
                done = (self.cfg.run.stop_at_success is not None
                        and metrics["rollout/success"] >= self.cfg.run.stop_at_success)
                stop = done or (interrupt is not None and interrupt.flag)
                if (step + 1) % self.cfg.run.save_every == 0 or step + 1 == self.cfg.run.steps or stop:
                    await cluster.checkpoint(step + 1)
                if stop:
                    break
        finally:
            for batch in pending.values():
                for t in batch:
                    t.cancel()
            if interrupt is not None:
                interrupt.restore()
            if logger is not None:
                logger.close()
            cluster.shutdown()
        return metrics

    async def _update(self, episodes: list[Episode], trained_at: dict[str, int]) -> tuple[dict[str, float], int]:
        """Every policy's learner updates at once, each on its own agents' turns of the episodes within its lag
        bound. One policy: the learner's metrics as they are; several: under ``policy/<name>/``."""
        from agentrl.algorithms.filters import apply_overlong_penalty

        a = self.cfg.algorithm
        if a.overlong_max_tokens is not None:  # as `agentrl train` does: the "overlong" turn term, before advantages
            episodes = apply_overlong_penalty(episodes, a.overlong_max_tokens, a.overlong_cache_tokens,
                                              weight=a.overlong_weight)
        groups = self.cluster.groups
        single = len(groups) == 1
        calls, stale = [], 0
        for g in groups:
            fresh, over = _fresh(episodes, trained_at[g.name], self.lag, self.cfg.distributed.stale,
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
    def _dispatch(self, step: int, tasks: list[Task], version: int) -> list[asyncio.Task]:
        from agentrl.train import _tasks_for_step

        batch = _tasks_for_step(tasks, self.cfg, step)
        return [asyncio.create_task(self._one(step, task, k, version))
                for task in batch for k in range(self.cfg.rollout.group_size)]

    async def _dynamic_sampling(self, step: int, episodes: list[Episode], tasks: list[Task], version: int
                                ) -> tuple[list[Episode], list[Episode], dict[str, float]]:
        """(everything generated, what to train on, sampling metrics), as `agentrl train` does it: groups whose
        rewards are all equal are dropped and seeded draws of fresh tasks refill them, round by round. The
        refill rounds run with the same seeds and group ids as in the single-process trainer."""
        import random

        from agentrl.algorithms.filters import GroupRefill

        r = self.cfg.rollout
        if not r.dynamic_sampling:
            return episodes, episodes, {}
        refill = GroupRefill(r.tasks_per_step, r.max_sampling_rounds)
        need = refill.add(episodes)
        rng = random.Random(self.cfg.run.seed * 104_729 + step)
        generated = list(episodes)
        while need:
            tag = f"r{refill.rounds}"
            chosen = rng.sample(tasks, need)
            more = list(await asyncio.gather(*(self._one(step, task, k, version, tag)
                                               for task in chosen for k in range(r.group_size))))
            self._check(step, more, need * r.group_size, tag)
            generated += sorted(more, key=lambda e: (e.task.id, e.info["sample"]))
            need = refill.add(more)
        return generated, refill.episodes, {"rollout/sampling_rounds": float(refill.rounds),
                                            "rollout/dropped_groups": float(refill.dropped),
                                            "rollout/kept_groups": float(refill.groups)}

    async def _one(self, step: int, task: Task, sample: int, version: int, tag: str = "") -> Episode:
        """One episode on the next live env actor and, for every policy, its next live rollout worker (round
        robin over those that are up). A dead env actor's episode is recorded as env_error here, a dead worker's
        as policy_error by `run_episode` inside the env actor; either way the actor is set aside until it
        answers again."""
        import zlib

        import ray

        cluster = self.cluster
        env_i = await cluster.env_pool.pick()
        workers = {g.name: await g.pool.pick() for g in cluster.groups}
        # as in agentrl.train: same seeds, same data (a refill round's seeds are offset by its tag)
        seed = self.cfg.run.seed * 1_000_003 + step * 10_007 + sample + (zlib.crc32(tag.encode()) % 9973 if tag else 0)
        self.in_flight += 1
        try:
            episode = await cluster.envs[env_i].run.remote(
                task, seed, step, sample, {g.name: (g.workers[workers[g.name]], workers[g.name])
                                           for g in cluster.groups}, tag)
        except ray.exceptions.RayError as e:
            cluster.env_pool.failed(env_i)
            return failed_episode(self.cfg.env.id, task, seed, step, sample, Status.ENV_ERROR,
                                  f"env actor {env_i} failed while running the episode: {_first_line(e)}", version,
                                  env_i, next(iter(workers.values())), tag)
        finally:
            self.in_flight -= 1
        if episode.status == Status.POLICY_ERROR:
            for g in cluster.groups:  # probed at once: a worker that answers is back immediately
                g.pool.failed(workers[g.name])
        return episode

    async def _collect(self, step: int, batch: list[asyncio.Task]) -> list[Episode]:
        episodes = list(await asyncio.gather(*batch))
        self._check(step, episodes, self.cfg.rollout.tasks_per_step * self.cfg.rollout.group_size)
        return sorted(episodes, key=lambda e: (e.task.id, e.info["sample"]))

    @staticmethod
    def _check(step: int, episodes: list[Episode], expected: int, tag: str = "") -> None:
        keys = [(e.task.id, e.info.get("sample")) for e in episodes]
        if (len(set(keys)) != expected or len(keys) != expected or
                any(e.info.get("step") != step or e.info.get("round", "") != tag for e in episodes)):
            raise AccountingError(f"batch {step}{tag}: expected {expected} distinct episodes, got {len(keys)} "
                                  f"({len(set(keys))} distinct).")


def _fresh(episodes: list[Episode], version: int, lag: int, stale: str, policy: str | None = None
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


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"


def _trim_after(out: Path, step: int) -> None:
    """Drop what a killed run wrote after its last checkpoint; the resumed run regenerates it exactly once."""
    for name, keep in (("episodes.jsonl", lambda row: _episode_step(row) < step),
                       ("metrics.jsonl", lambda row: row.get("step", 0) <= step)):
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


def _line(step: int, m: dict[str, float]) -> str:
    return (f"update {step:4d}  reward {m['rollout/reward']:.3f}  success {m['rollout/success']:.3f}  "
            f"failed {int(m['rollout/failed'])}  lag {m['policy_lag/mean']:.2f}/{int(m['policy_lag/max'])}  "
            f"in flight {int(m['queue/episodes_in_flight'])}  sync {m['time/sync_s'] * 1000:.0f} ms  "
            f"step {m['time/step_s']:.2f}s")


# -- the actors ----------------------------------------------------------------------------------------------
class Cluster:
    """Ray (local or joined), a placement group for the learners and rollout workers, and the actors: per policy
    a learner and `num_rollout_workers` workers; env actors shared by every policy."""

    def __init__(self, cfg: RayTrainConfig, out: Path, policy_map: tuple[PolicyConfig, ...]):
        self.cfg, self.out = cfg, out
        self.started_ray = False
        self.groups = [PolicyGroup(p) for p in policy_map]
        self.envs: list[Any] = []
        self.group: Any = None
        self.env_pool: ActorPool | None = None

    def policy_configs(self) -> tuple[PolicyConfig, ...]:
        return tuple(g.config for g in self.groups)

    def start(self) -> int:
        """Start everything; returns the step to continue from (the newest checkpoint's, or 0)."""
        import ray

        from agentrl.distributed.checkpoints import latest, step_of
        from agentrl.distributed.gpu import placement, scheduling

        d = self.cfg.distributed
        if not ray.is_initialized():
            # A local cluster binds to loopback: no traffic may leave this machine's 127.0.0.1.
            if d.address is None:
                loopback_only()
            local = {"num_cpus": d.num_cpus, "_node_ip_address": "127.0.0.1"} if d.address is None else {}
            ray.init(address=d.address, namespace=d.namespace, include_dashboard=False, configure_logging=False,
                     runtime_env={"env_vars": QUIET}, **local)
            self.started_ray = True
        cfg_dict = to_dict(self.cfg)
        single = len(self.groups) == 1
        # One policy: bundle 0 for the learner, then one per rollout worker, packed. Several policies: Ray places
        # each actor by its own resource request (the placement group's layout is one learner's).
        self.group = placement(d) if single else None

        def place(index: int) -> dict[str, Any]:
            return {"scheduling_strategy": scheduling(self.group, index)} if self.group is not None else {}

        restart = {"max_restarts": d.max_actor_restarts, "max_task_retries": 0}
        names = {g.name: policies.actor_names(g.name, single, d.num_rollout_workers) for g in self.groups}
        for g in self.groups:  # learner rank r sits in bundle r (no restarts: a lost rank ends the run)
            g.ranks = [ray.remote(LearnerActor).options(
                name=names[g.name][0] if r == 0 else f"{names[g.name][0]}-rank-{r}",
                num_cpus=1 if single else d.cpus_per_actor, num_gpus=d.gpus_per_learner_rank, max_concurrency=2,
                **place(r)).remote(cfg_dict, str(self.out), g.name, r, d.ranks) for r in range(d.ranks)]
            g.learner = g.ranks[0]
        if d.ranks > 1:
            for g in self.groups:
                self._join(g)
        # Resume before any worker starts: a worker loads its learner's weights as it comes up.
        found = latest(self.out) if self.cfg.run.resume else None
        if found:
            calls = [[r.resume.remote(str(found)) for r in g.ranks] for g in self.groups]  # every policy at once
            steps = [self._wait_ranks(g, refs, "resume")[0] for g, refs in zip(self.groups, calls)]
        else:
            steps = [0]
        for g in self.groups:
            g.workers = [ray.remote(RolloutWorker).options(
                name=name, num_cpus=d.cpus_per_actor, num_gpus=d.gpus_per_rollout_worker, **place(d.ranks + i),
                **restart).remote(cfg_dict, i, g.learner, g.name) for i, name in enumerate(names[g.name][1])]
        self.envs = [ray.remote(EnvActor).options(name=f"env-{i}", num_cpus=d.cpus_per_actor, max_concurrency=10_000,
                                                  **restart).remote(cfg_dict, i)
                     for i in range(d.num_env_actors)]
        ray.get([a.ready.remote() for g in self.groups for a in g.workers] + [a.ready.remote() for a in self.envs])
        self.env_pool = ActorPool("env actor", self.envs)
        for g in self.groups:
            g.pool = ActorPool("rollout worker" if single else f"rollout worker of policy {g.name}", g.workers,
                               on_recover=lambda worker, learner=g.learner: self._resync(worker, learner))
        return step_of(found) if found else steps[0]

    def _join(self, g: PolicyGroup) -> None:
        """Rank 0 picks the rendezvous (its node's address, a free port there); every rank joins the process
        group and builds its shard of the learner. Ranks are numbered within their node for LOCAL_RANK."""
        import ray

        nodes = ray.get([r.node.remote() for r in g.ranks])
        host, port = ray.get(g.ranks[0].rendezvous.remote())
        local = [nodes[:i].count(node) for i, node in enumerate(nodes)]
        self._wait_ranks(g, [r.join.remote(host, port, local[i]) for i, r in enumerate(g.ranks)], "start")

    def _wait_ranks(self, g: PolicyGroup, refs: list[Any], what: str) -> list[Any]:
        """Every rank's answer, failing as soon as one rank fails (its peers would wait for it in a collective)."""
        import ray

        if len(refs) == 1:
            return ray.get(refs)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                ray.get(ready[0])
            except Exception as e:
                raise self.rank_failure(g, refs.index(ready[0]), what, e) from e
        return ray.get(refs)

    async def on_every_rank(self, g: PolicyGroup, method: str, *args: Any) -> Any:
        """Call `method` on every learner rank of policy `g` at once (the same arguments, through the object
        store once); returns rank 0's answer. A rank that fails fails the call at once, naming the rank."""
        import ray

        if len(g.ranks) == 1:
            return await getattr(g.learner, method).remote(*args)
        shared = [ray.put(a) for a in args]
        calls = {asyncio.ensure_future(self._rank_call(r, method, shared)): i for i, r in enumerate(g.ranks)}
        done, pending = await asyncio.wait(calls, return_when=asyncio.FIRST_EXCEPTION)
        if any(t.exception() is not None for t in done):
            # A dead rank's peers fail too (a closed connection in a collective), sometimes first: give them a
            # moment, then name a rank that died over one that only lost its peer.
            if pending:
                more, pending = await asyncio.wait(pending, timeout=5.0)
                done |= more
            for t in pending:
                t.cancel()
            failed = sorted((t for t in done if t.exception() is not None),
                            key=lambda t: (not isinstance(t.exception(), ray.exceptions.RayActorError), calls[t]))
            raise self.rank_failure(g, calls[failed[0]], method, failed[0].exception()) from failed[0].exception()
        return next(t for t, i in calls.items() if i == 0).result()

    @staticmethod
    async def _rank_call(rank: Any, method: str, args: list[Any]) -> Any:
        return await getattr(rank, method).remote(*args)

    def rank_failure(self, g: PolicyGroup, rank: int, what: str, e: BaseException) -> BaseException:
        """The error that stops the run: a config problem as itself (every rank has the same one), anything else
        as a `LearnerRankError` naming the rank and where the run resumes from."""
        import ray

        from agentrl.distributed.checkpoints import latest
        from agentrl.errors import ConfigError

        if isinstance(getattr(e, "cause", None), ConfigError):
            return e.cause
        died = isinstance(e, ray.exceptions.RayActorError)
        found = latest(self.out)
        where = f"the newest checkpoint ({found})" if found else "the start (no checkpoint was written yet)"
        return LearnerRankError(
            f"learner rank {rank} of {len(g.ranks)} (policy {g.name!r}) {'died' if died else 'failed'} during "
            f"{what}: {_first_line(e)}. A sharded learner cannot go on without one of its ranks, so the run stops; "
            f"run the same command again to resume from {where} (run.resume=true). See the Ray logs of that rank "
            "for why it stopped.")

    async def _resync(self, worker: Any, learner: Any) -> None:
        """A worker that came back fetched the newest weights as it started; a push may have landed since."""
        await worker.update_weights.remote(learner.weights.remote())

    async def versions(self) -> dict[str, int]:
        async def version(g: PolicyGroup) -> int:
            try:
                return await g.learner.version.remote()
            except Exception as e:
                if len(g.ranks) > 1:
                    raise self.rank_failure(g, 0, "version", e) from e
                raise

        found = await asyncio.gather(*(version(g) for g in self.groups))
        return {g.name: v for g, v in zip(self.groups, found)}

    async def push_weights(self) -> list[float]:
        """Each learner's newest weights to its policy's workers; a payload goes through the object store once.
        A worker that is down is skipped: it fetches the newest weights itself when it comes back."""
        calls = []
        for g in self.groups:
            payload = g.learner.weights.remote()
            calls += [w.update_weights.remote(payload) for w in g.workers]
        results = await asyncio.gather(*calls, return_exceptions=True)
        return [r for r in results if isinstance(r, float)]

    async def checkpoint(self, step: int) -> None:
        """Every policy into one temporary folder, then renamed: all policies of a checkpoint share an update."""
        from agentrl.distributed import checkpoints

        tmp = checkpoints.begin(self.out, step)
        versions = await asyncio.gather(*(self.on_every_rank(g, "save_to", str(tmp)) for g in self.groups))
        checkpoints.commit(self.out, step, tmp, {g.name: v for g, v in zip(self.groups, versions)})

    def fault_metrics(self) -> dict[str, float]:
        out = self.env_pool.metrics("faults/env_actors")
        if len(self.groups) == 1:
            return {**out, **self.groups[0].pool.metrics("faults/rollout_workers")}
        for g in self.groups:
            out.update(g.pool.metrics(f"faults/{g.name}/rollout_workers"))
        out["faults/rollout_workers_recoveries"] = sum(g.pool.recoveries for g in self.groups)
        out["faults/rollout_workers_down"] = sum(g.pool.up.count(False) for g in self.groups)
        return out

    async def stats(self) -> dict[str, dict[str, Any]]:
        """Each live actor's counters (an actor that is restarting is left out of this round)."""
        single = len(self.groups) == 1
        named = {f"rollout_worker/{i}" if single else f"rollout_worker/{g.name}/{i}": w
                 for g in self.groups for i, w in enumerate(g.workers)}
        named.update({f"env_actor/{i}": e for i, e in enumerate(self.envs)})

        async def one(actor: Any) -> Any:
            try:
                return await asyncio.wait_for(actor.get_stats.remote(), timeout=2.0)
            except Exception:  # noqa: BLE001
                return None

        results = await asyncio.gather(*(one(a) for a in named.values()))
        return {k: v for k, v in zip(named, results) if v is not None}

    def shutdown(self) -> None:
        import ray

        if not ray.is_initialized():
            return
        workers = [w for g in self.groups for w in g.workers]
        closing = [w.close.remote() for w in workers]
        try:
            ray.get(closing, timeout=60)
        except Exception:  # a dead or restarting worker has nothing to close  # noqa: BLE001, S110
            pass
        for actor in [*workers, *self.envs, *(r for g in self.groups for r in g.ranks)]:
            if actor is not None:
                ray.kill(actor, no_restart=True)
        if self.group is not None:
            from ray.util.placement_group import remove_placement_group

            remove_placement_group(self.group)
        if self.started_ray:
            ray.shutdown()


class ActorPool:
    """Round robin over the actors that are up. An actor reported as failed is set aside and probed (its
    `ready` method) until it answers, which it does once Ray has restarted it; then it rejoins."""

    def __init__(self, kind: str, actors: list[Any], on_recover: Any = None, probe_every: float = 1.0):
        self.kind, self.actors, self.on_recover, self.probe_every = kind, actors, on_recover, probe_every
        self.up = [True] * len(actors)
        self.gone = [False] * len(actors)  # out of restarts
        self.recoveries = 0
        self._next = 0
        self._changed = asyncio.Event()
        self._probes: dict[int, asyncio.Task] = {}

    async def pick(self) -> int:
        while not any(self.up):
            if all(self.gone):
                raise AgentRLError(f"every {self.kind} is gone (out of restarts: distributed.max_actor_restarts); "
                                   "see the Ray logs for why they died.")
            self._changed.clear()
            await self._changed.wait()
        while not self.up[self._next % len(self.actors)]:
            self._next += 1
        chosen = self._next % len(self.actors)
        self._next += 1
        return chosen

    def failed(self, index: int) -> None:
        if self.up[index]:
            self.up[index] = False
            self._probes[index] = asyncio.create_task(self._probe(index))

    async def _probe(self, index: int) -> None:
        import ray

        actor = self.actors[index]
        while True:
            try:
                await asyncio.wait_for(actor.ready.remote(), timeout=30)
                if self.on_recover is not None:
                    await self.on_recover(actor)
                break
            except ray.exceptions.ActorDiedError:
                self.gone[index] = True
                self._changed.set()
                return
            except Exception:  # restarting (ActorUnavailableError) or slow to start  # noqa: BLE001
                await asyncio.sleep(self.probe_every)
        self.up[index] = True
        self.recoveries += 1
        self._changed.set()

    def metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_down": float(self.up.count(False)), f"{prefix}_recoveries": float(self.recoveries)}


def loopback_only() -> None:
    """Keep a local Ray cluster on 127.0.0.1.

    On Linux Ray replaces 127.0.0.1 with the machine's routable address (so other nodes could join); a local
    cluster needs no such address. Ray reads this switch at call time in this process, and the processes it
    starts read it from the environment.
    """
    from ray._private import ray_constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
