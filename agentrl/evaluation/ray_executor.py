"""`RayExecutor`: the episodes of an evaluation run inside Ray env actors, streamed back as they finish.

    driver (agentrl eval)                          Ray actors (EvalActor x `actors`)
    plan, skip finished, RunStore  --- job --->    EpisodeRunner(spec): registry.make(env), the episode's policy,
    append each episode as it      <-- Episode --  run_episode (the env's sandbox and its verifiers live here)
    arrives, progress bar, report

Each actor builds its own `EpisodeRunner` from the run's spec (names only: env id, policy string), so it works
in a fresh process on any node. Episodes come back to the driver, which writes them with the same `RunStore` as
the in-process executor: resume, summary and reports do not depend on the executor (the executor is not part
of the run's spec, like `concurrency`).

Policies: ``scripted`` and OpenAI-compatible URLs are built per episode inside the actor. A local model
(``--policy tiny`` or a checkpoint) loads one vLLM engine per actor; serve it once (``vllm serve`` /
``python -m vllm.entrypoints.openai.api_server``) and pass its URL instead when several actors share a machine.

An actor that dies takes its in-flight episodes with it; each is recorded as ``env_error`` (counted as a
failure, never as reward 0), as in the Ray trainer. Without `address`, a local cluster is started on
127.0.0.1 only and shut down afterwards; with one, the executor joins that cluster and leaves it running.
Envs registered at run time (not through an entry point) must be registered in each actor too: pass
``setup=("package.module:function",)`` hooks, called in every actor before it builds its runner.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agentrl.errors import ConfigError
from agentrl.evaluation.plan import EvalSpec, Job
from agentrl.types import Episode, Status

_QUIET = {"VLLM_LOGGING_LEVEL": "WARNING", "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error",
          "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


class EvalActor:
    """One Ray actor: plays the jobs it is sent with its own `EpisodeRunner` (many at once, asyncio)."""

    def __init__(self, spec_dict: dict[str, Any], index: int, setup: Sequence[str] = ()):
        from agentrl.evaluation.runner import EpisodeRunner
        from agentrl.registry import resolve

        for hook in setup:
            resolve(hook)()
        self.index = index
        self.runner = EpisodeRunner(EvalSpec.from_dict(spec_dict))

    def ready(self) -> int:
        return os.getpid()

    async def run(self, job: Job) -> Episode:
        episode = await self.runner.run(job)
        where = {**episode.info["eval"], "actor": self.index, "pid": os.getpid()}  # provenance, not a result
        return episode.replace(info={**episode.info, "eval": where})

    def close(self) -> None:
        self.runner.close()


@dataclasses.dataclass(frozen=True)
class RayExecutor:
    """Episodes in `actors` Ray actors, at most `concurrency` in flight overall, yielded as they finish.

    `address`: a running cluster to join (None: start a local one on 127.0.0.1 with `num_cpus` logical CPUs,
    default the machine's count). `cpus_per_actor` is the Ray resource each actor reserves.
    """

    actors: int = 2
    concurrency: int = 8
    address: str | None = None
    num_cpus: int | None = None
    cpus_per_actor: float = 1.0
    setup: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.actors < 1:
            raise ConfigError(f"--ray-actors must be >= 1, got {self.actors}.")
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be >= 1, got {self.concurrency}.")

    async def run(self, jobs: Sequence[Job], runner: Any) -> AsyncIterator[Episode]:
        import ray

        started = self._connect(ray)
        actors: list[Any] = []
        try:
            actors = self._start_actors(ray, runner.spec)
            async for episode in self._dispatch(jobs, actors, runner.spec):
                yield episode
        finally:
            await _stop(ray, actors)
            if started:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Join or start Ray; True when this executor started it (and must shut it down)."""
        if ray.is_initialized():
            return False
        local: dict[str, Any] = {}
        if self.address is None:
            from agentrl.distributed.cluster import loopback_only

            loopback_only()  # a local cluster stays on 127.0.0.1
            needed = int(self.actors * self.cpus_per_actor + 0.999)
            local = {"num_cpus": self.num_cpus or max(os.cpu_count() or 1, needed), "_node_ip_address": "127.0.0.1"}
        try:
            ray.init(address=self.address, include_dashboard=False, configure_logging=False,
                     runtime_env={"env_vars": _QUIET}, **local)
        except Exception as e:
            where = f"join the Ray cluster at {self.address}" if self.address else "start a local Ray cluster"
            raise ConfigError(f"could not {where} ({_first_line(e)}). Ray waits 30 s for its node to register, "
                              "which a heavily loaded machine can miss: retry, or use --executor local.") from e
        return True

    def _start_actors(self, ray: Any, spec: EvalSpec) -> list[Any]:
        per_actor = -(-self.concurrency // self.actors)  # ceil: the actors together take `concurrency` episodes
        cls = ray.remote(EvalActor).options(num_cpus=self.cpus_per_actor, max_concurrency=per_actor)
        actors = [cls.remote(spec.to_dict(), i, tuple(self.setup)) for i in range(self.actors)]
        try:
            ray.get([a.ready.remote() for a in actors])
        except Exception as e:
            raise ConfigError(f"an evaluation actor failed to start: {_first_line(e)}. Check the spec "
                              "(env id, policy) and, for envs registered at run time, the setup hooks.") from e
        return actors

    async def _dispatch(self, jobs: Sequence[Job], actors: list[Any], spec: EvalSpec) -> AsyncIterator[Episode]:
        queue = list(reversed(jobs))
        load = [0] * len(actors)
        running: dict[asyncio.Future, tuple[Job, int]] = {}
        try:
            while queue or running:
                while queue and len(running) < self.concurrency:
                    job = queue.pop()
                    index = load.index(min(load))  # the least busy actor
                    load[index] += 1
                    running[asyncio.ensure_future(actors[index].run.remote(job))] = (job, index)
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                finished = []
                for future in done:
                    job, index = running.pop(future)
                    load[index] -= 1
                    finished.append(_result(future, job, index, spec))
                for episode in sorted(finished, key=lambda e: (e.task.id, e.seed)):
                    yield episode
        finally:
            for future in running:
                future.cancel()


def _result(future: asyncio.Future, job: Job, index: int, spec: EvalSpec) -> Episode:
    try:
        return future.result()
    except Exception as e:  # the actor died (or Ray lost the task): the episode is lost, and counted as such  # noqa: BLE001
        return Episode(task=job.task, env_id=spec.env_id, seed=job.seed, status=Status.ENV_ERROR,
                       error=f"evaluation actor {index} failed: {_first_line(e)}", group_id=job.task.id,
                       info={"eval": {"sample": job.sample, "policy": spec.policy}})


async def _stop(ray: Any, actors: list[Any]) -> None:
    if not actors:
        return
    try:
        await asyncio.wait_for(asyncio.gather(*(a.close.remote() for a in actors), return_exceptions=True), 60)
    except TimeoutError:
        pass  # an actor stuck in its close is killed below all the same
    for actor in actors:
        ray.kill(actor, no_restart=True)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[-1] if text else ''}"
