"""The actors of a Ray run and how the driver reaches them.

`Cluster` starts Ray (local on loopback, or joined), places each policy's learner ranks and rollout workers in a
placement group, starts the env actors shared by every policy, and answers for them: versions, weight pushes,
checkpoints, fault counts, per-actor stats, shutdown. `ActorPool` hands out the live actors round robin and takes
back the ones Ray restarts. A lost learner rank stops the run with `LearnerRankError` (its peers cannot go on).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path
from typing import Any

from agentrl.config import to_dict
from agentrl.distributed.actors import EnvActor, LearnerActor, RolloutWorker
from agentrl.distributed.config import RayTrainConfig
from agentrl.errors import AgentRLError
from agentrl.training.config import PolicyConfig

QUIET = {"VLLM_LOGGING_LEVEL": "WARNING", "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error",
         "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
# A local cluster runs only the actors it is asked for. Ray's defaults keep up to num_cpus idle workers
# alive (each a ~200 MiB Python process) and prestart some for the first driver: on a machine with 3 GiB
# free that was a large part of the chaos test's memory (docs/reliability.md). An idle worker is then ended
# after Ray's idle timeout (1 s); an actor's process is not idle.
LOCAL_SYSTEM_CONFIG = {"prestart_worker_first_driver": False, "num_workers_soft_limit": 0}


class LearnerRankError(AgentRLError):
    """A rank of a sharded learner died or failed. Its peers cannot go on without it (each holds only its shards
    and waits in collectives for the missing one), and one FSDP rank cannot be restarted alone: the run stops,
    and the same command resumes it from the newest checkpoint."""


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

    def start(self, resume_from: Path | None) -> None:
        """Start everything; every learner resumes from `resume_from` (a checkpoint folder) when given."""
        import ray

        from agentrl.distributed.gpu import placement, scheduling

        d = self.cfg.distributed
        if not ray.is_initialized():
            # A local cluster binds to loopback: no traffic may leave this machine's 127.0.0.1.
            if d.address is None:
                loopback_only()
            local = {"num_cpus": d.num_cpus, "_node_ip_address": "127.0.0.1",
                     "_system_config": LOCAL_SYSTEM_CONFIG} if d.address is None else {}
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
        names = {g.name: actor_names(g.name, single, d.num_rollout_workers) for g in self.groups}
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
        if resume_from is not None:
            calls = [[r.resume.remote(str(resume_from)) for r in g.ranks] for g in self.groups]  # every policy at once
            for g, refs in zip(self.groups, calls):
                self._wait_ranks(g, refs, "resume")
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

        from agentrl.errors import ConfigError
        from agentrl.training.checkpoints import latest

        if isinstance(getattr(e, "cause", None), ConfigError):
            return e.cause
        died = isinstance(e, ray.exceptions.RayActorError)
        found = latest(self.out)
        where = f"the newest checkpoint ({found})" if found else "the start (no checkpoint was written yet)"
        return LearnerRankError(
            f"learner rank {rank} of {len(g.ranks)} (policy {g.name!r}) {'died' if died else 'failed'} during "
            f"{what}: {first_line(e)}. A sharded learner cannot go on without one of its ranks, so the run stops; "
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
        from agentrl.training import checkpoints

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



def first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"




def actor_names(policy: str, single: bool, workers: int) -> tuple[str, list[str]]:
    """Ray actor names: ``learner`` and ``rollout-<i>`` for one policy, ``learner-<p>``/``rollout-<p>-<i>`` else."""
    if single:
        return "learner", [f"rollout-{i}" for i in range(workers)]
    return f"learner-{policy}", [f"rollout-{policy}-{i}" for i in range(workers)]
