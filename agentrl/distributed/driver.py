"""The driver of a Ray run: starts the actors, schedules rollouts and updates, keeps the books.

    cluster  = learner (resumed from the newest checkpoint) + rollout workers + env actors
    for step in range(start, steps):
        dispatch every batch b <= step + lag not yet dispatched        (lag = 0 in sync mode)
        episodes = await batch `step`                                   (one record per (task, sample), failed or not)
        append them to episodes.jsonl; drop episodes older than the lag bound
        metrics  = await learner.update(episodes)                       (batches ahead keep generating meanwhile)
        push the new weights to every rollout worker                    (each lands between generation requests)
        log metrics; checkpoint every `save_every` updates

Batch `b` is always the tasks of `agentrl.train._tasks_for_step(b)` with the same per-episode seeds as the
single-process loop, and the learner trains on the batches in order, so a resumed run sees the same data
order and (in sync mode, with a reproducible policy) makes the same next update.
"""

from __future__ import annotations

import asyncio
import json
import threading
import os
import time
from pathlib import Path
from typing import Any

from agentrl.config import to_dict
from agentrl.distributed.actors import EnvActor, LearnerActor, RolloutWorker, failed_episode, run_setup_hooks
from agentrl.distributed.config import RayTrainConfig
from agentrl.distributed.metrics import ActorRates, batch_metrics
from agentrl.errors import AgentRLError, ConfigError
from agentrl.types import Episode, Status, Task, write_jsonl


QUIET = {"VLLM_LOGGING_LEVEL": "WARNING", "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error",
         "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


class AccountingError(AgentRLError):
    """A batch came back with an episode missing or twice: a bug in the driver, never a tolerated fault."""


def train_ray(cfg: RayTrainConfig) -> dict[str, float]:
    """Run a Ray training run to the end (or Ctrl-C); returns the last update's metrics."""
    return asyncio.run(Driver(cfg).run())


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
        if getattr(self.cfg, "policies", ()):
            raise ConfigError("train-ray trains one policy for every agent; multi-policy maps (`policies`) run "
                              "with `agentrl train` for now.")
        run_setup_hooks(self.cfg.distributed.setup)
        tasks = registry.tasks(self.cfg.env.id, self.cfg.env.split)
        self.cluster = cluster = Cluster(self.cfg, self.out)
        logger = None
        interrupt = _Interrupt() if threading.current_thread() is threading.main_thread() else None
        pending: dict[int, list[asyncio.Task]] = {}
        metrics: dict[str, float] = {}
        try:
            start = cluster.start()
            _trim_after(self.out, start)
            logger = _Logger(self.out, self.cfg.run.tensorboard)
            rates = ActorRates()
            version = start_version = await cluster.learner.version.remote()
            print(f"ray run: {self.cfg.distributed.mode} (max policy lag {self.lag}), {len(cluster.workers)} rollout "
                  f"workers, {len(cluster.envs)} env actors, steps {start}..{self.cfg.run.steps}", flush=True)
            next_batch, last = start, time.monotonic()
            for step in range(start, self.cfg.run.steps):
                while next_batch < self.cfg.run.steps and next_batch <= step + self.lag:
                    pending[next_batch] = self._dispatch(next_batch, tasks, version)
                    next_batch += 1
                waited = time.monotonic()
                episodes = await self._collect(step, pending.pop(step))
                wait_s = time.monotonic() - waited
                write_jsonl(self.out / "episodes.jsonl", episodes)
                trained_at = version
                train_on, stale = _fresh(episodes, trained_at, self.lag, self.cfg.distributed.stale)
                t0 = time.monotonic()
                metrics = await cluster.learner.update.remote(train_on)
                update_s = time.monotonic() - t0
                version = await cluster.learner.version.remote()
                t1 = time.monotonic()
                syncs = await cluster.push_weights()
                now = time.monotonic()
                metrics.update(batch_metrics(episodes, trained_at, self.cfg.run.success_term, stale))
                metrics.update({"time/step_s": now - last, "time/wait_batch_s": wait_s, "time/update_s": update_s,
                                "time/sync_s": now - t1, "time/sync_worker_max_s": max(syncs, default=0.0),
                                "queue/batches_ahead": float(len(pending)), "queue/episodes_in_flight":
                                float(self.in_flight), "learner/start_version": float(start_version)})
                metrics.update(rates.collect(await cluster.stats()))
                metrics.update({**cluster.env_pool.metrics("faults/env_actors"),
                                **cluster.worker_pool.metrics("faults/rollout_workers")})
                last = now
                logger.log(step + 1, metrics)
                if (step + 1) % self.cfg.run.log_every == 0 or step == start:
                    print(_line(step + 1, metrics), flush=True)
                done = (self.cfg.run.stop_at_success is not None
                        and metrics["rollout/success"] >= self.cfg.run.stop_at_success)
                stop = done or (interrupt is not None and interrupt.flag)
                if (step + 1) % self.cfg.run.save_every == 0 or step + 1 == self.cfg.run.steps or stop:
                    await cluster.learner.checkpoint.remote(step + 1)
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

    # -- rollouts ------------------------------------------------------------------------------------------
    def _dispatch(self, step: int, tasks: list[Task], version: int) -> list[asyncio.Task]:
        from agentrl.train import _tasks_for_step

        batch = _tasks_for_step(tasks, self.cfg, step)
        return [asyncio.create_task(self._one(step, task, k, version))
                for task in batch for k in range(self.cfg.rollout.group_size)]

    async def _one(self, step: int, task: Task, sample: int, version: int) -> Episode:
        """One episode on the next live env actor and rollout worker (round robin over those that are up). A dead
        env actor's episode is recorded as env_error here, a dead worker's as policy_error by `run_episode`
        inside the env actor; either way the actor is set aside until it answers again."""
        import ray

        cluster = self.cluster
        env_i, worker_i = await cluster.env_pool.pick(), await cluster.worker_pool.pick()
        seed = self.cfg.run.seed * 1_000_003 + step * 10_007 + sample  # as in agentrl.train: same seeds, same data
        self.in_flight += 1
        try:
            episode = await cluster.envs[env_i].run.remote(task, seed, step, sample, cluster.workers[worker_i],
                                                           worker_i)
        except ray.exceptions.RayError as e:
            cluster.env_pool.failed(env_i)
            return failed_episode(self.cfg.env.id, task, seed, step, sample, Status.ENV_ERROR,
                                  f"env actor {env_i} failed while running the episode: {_first_line(e)}", version,
                                  env_i, worker_i)
        finally:
            self.in_flight -= 1
        if episode.status == Status.POLICY_ERROR:
            cluster.worker_pool.failed(worker_i)  # probed at once: a worker that answers is back immediately
        return episode

    async def _collect(self, step: int, batch: list[asyncio.Task]) -> list[Episode]:
        episodes = list(await asyncio.gather(*batch))
        keys = [(e.task.id, e.info.get("sample")) for e in episodes]
        expected = self.cfg.rollout.tasks_per_step * self.cfg.rollout.group_size
        if len(set(keys)) != expected or len(keys) != expected or any(e.info.get("step") != step for e in episodes):
            raise AccountingError(f"batch {step}: expected {expected} distinct episodes, got {len(keys)} "
                                  f"({len(set(keys))} distinct).")
        return sorted(episodes, key=lambda e: (e.task.id, e.info["sample"]))


def _fresh(episodes: list[Episode], version: int, lag: int, stale: str) -> tuple[list[Episode], int]:
    """Episodes within the lag bound (all of them with ``stale=downweight``) and how many were over it."""
    over = [e for e in episodes if not e.status.is_failure and version - e.policy_version > lag]
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
    """Ray (local or joined), a placement group for the learner and rollout workers, and the actors."""

    def __init__(self, cfg: RayTrainConfig, out: Path):
        self.cfg, self.out = cfg, out
        self.started_ray = False
        self.learner: Any = None
        self.workers: list[Any] = []
        self.envs: list[Any] = []
        self.group: Any = None
        self.env_pool: ActorPool | None = None
        self.worker_pool: ActorPool | None = None

    def start(self) -> int:
        """Start everything; returns the step to continue from (the newest checkpoint's, or 0)."""
        import ray

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
        self.group = placement(d)
        restart = dict(max_restarts=d.max_actor_restarts, max_task_retries=0)
        self.learner = ray.remote(LearnerActor).options(
            name="learner", num_cpus=1, num_gpus=d.learner_gpus, max_concurrency=2,
            scheduling_strategy=scheduling(self.group, 0)).remote(cfg_dict, str(self.out))
        step = ray.get(self.learner.resume.remote()) if self.cfg.run.resume else 0
        self.workers = [ray.remote(RolloutWorker).options(
            name=f"rollout-{i}", num_cpus=d.cpus_per_actor, num_gpus=d.gpus_per_rollout_worker,
            scheduling_strategy=scheduling(self.group, 1 + i), **restart).remote(cfg_dict, i, self.learner)
            for i in range(d.num_rollout_workers)]
        self.envs = [ray.remote(EnvActor).options(name=f"env-{i}", num_cpus=d.cpus_per_actor, max_concurrency=10_000,
                                                  **restart).remote(cfg_dict, i)
                     for i in range(d.num_env_actors)]
        ray.get([a.ready.remote() for a in [*self.workers, *self.envs]])
        self.env_pool = ActorPool("env actor", self.envs)
        self.worker_pool = ActorPool("rollout worker", self.workers, on_recover=self._resync)
        return step

    async def _resync(self, worker: Any) -> None:
        """A worker that came back fetched the newest weights as it started; a push may have landed since."""
        await worker.update_weights.remote(self.learner.weights.remote())

    async def push_weights(self) -> list[float]:
        """The learner's newest weights to every worker; the payload goes through the object store once.
        A worker that is down is skipped: it fetches the newest weights itself when it comes back."""
        payload = self.learner.weights.remote()
        results = await asyncio.gather(*(w.update_weights.remote(payload) for w in self.workers),
                                       return_exceptions=True)
        return [r for r in results if isinstance(r, float)]

    async def stats(self) -> dict[str, dict[str, Any]]:
        """Each live actor's counters (an actor that is restarting is left out of this round)."""
        named = {**{f"rollout_worker/{i}": w for i, w in enumerate(self.workers)},
                 **{f"env_actor/{i}": e for i, e in enumerate(self.envs)}}

        async def one(actor: Any) -> Any:
            try:
                return await asyncio.wait_for(actor.get_stats.remote(), timeout=2.0)
            except Exception:
                return None

        results = await asyncio.gather(*(one(a) for a in named.values()))
        return {k: v for k, v in zip(named, results) if v is not None}

    def shutdown(self) -> None:
        import ray

        if not ray.is_initialized():
            return
        closing = [w.close.remote() for w in self.workers]
        try:
            ray.get(closing, timeout=60)
        except Exception:  # a dead or restarting worker has nothing to close
            pass
        for actor in [*self.workers, *self.envs, self.learner]:
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
            except Exception:  # restarting (ActorUnavailableError) or slow to start
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
