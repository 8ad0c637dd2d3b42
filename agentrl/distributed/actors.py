"""The three actor kinds of a Ray run, and the proxy that lets an episode in one call a policy in another.

- `EnvActor` owns environment instances (and, through them, their sandboxes). It runs whole episodes with
  `run_episode`, so verifiers score next to the env's sandbox; the policy is a `RemotePolicy` that forwards each
  model call to a rollout worker. A dead env actor takes its in-flight episodes with it: the driver records
  each as ``env_error``.
- `RolloutWorker` owns one policy engine (`VLLMPolicy`, or `TorchSamplerPolicy` for exact reproducibility).
  Weight updates land *between* generation requests: `update_weights` closes a gate, waits until the requests
  in flight are done, loads the weights, reopens. Every turn comes back with the worker's incarnation (a fresh
  id per process start); an episode that sees its worker's incarnation change fails with ``policy_error``,
  because the engine state it was built on (weights version, prefix cache) is gone.
- `LearnerActor` owns the `Learner` and its checkpoints. It keeps a copy of the latest weights so a restarted
  rollout worker can fetch them while an update is running (the actor is threaded, `max_concurrency=2`).
  With several learner ranks (`distributed.learner_gpus` or `learner_ranks` > 1) a policy's learner is that
  many `LearnerActor`s, one rank each of a torch.distributed group (NCCL on GPUs, gloo on CPU), each with an
  `agentrl.distributed.gpu.FSDPLearner`: the driver starts them, asks rank 0 for a rendezvous address
  (`rendezvous`), then has every rank `join`. Every rank gets every `update`, `resume` and `save_to` call
  (they are collectives); only rank 0 keeps the host copy of the weights and answers `weights`/`version`.

Each actor takes plain config dicts (not live objects) and calls the run's `setup` hooks first, so a fresh
process on any node builds everything from names.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
import uuid
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentrl.errors import PolicyError
from agentrl.types import AgentID, Episode, Message, Status, Turn


def run_setup_hooks(hooks: Sequence[str]) -> None:
    from agentrl.registry import resolve

    for hook in hooks:
        resolve(hook)()


def _config(cfg_dict: dict[str, Any]) -> Any:
    from agentrl.config import from_dict
    from agentrl.distributed.config import RayTrainConfig

    cfg = from_dict(RayTrainConfig, cfg_dict)
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    run_setup_hooks(cfg.distributed.setup)
    return cfg


_process: Any = None


def _cpu_percent() -> float:
    """This actor process's CPU use since the previous call (100 = one core)."""
    global _process
    try:
        import psutil
    except ImportError:
        return float("nan")
    if _process is None:
        _process = psutil.Process()
    return float(_process.cpu_percent(interval=None))


def _rss_gb() -> float:
    """This actor process's resident memory in GiB (the vLLM engine core of a worker is a child: not counted)."""
    try:
        import psutil
    except ImportError:
        return float("nan")
    return psutil.Process().memory_info().rss / 2 ** 30


# -- the learner ---------------------------------------------------------------------------------------------
class LearnerActor:
    """One policy's learner. `update`, `resume` and `save_to` are called by the driver only; `weights` by anyone."""

    def __init__(self, cfg_dict: dict[str, Any], out_dir: str, policy: str = "main", rank: int = 0, ranks: int = 1):
        from agentrl.training.build import find_policy, trained_agents

        cfg = _config(cfg_dict)
        self.cfg, self.out = cfg, Path(out_dir)
        self.policy = find_policy(cfg, policy)
        self.agents = trained_agents(self.policy)
        self.rank, self.ranks = rank, ranks
        self._lock = threading.Lock()
        self._latest: tuple[int, list] = (0, [])
        if ranks == 1:  # one process: built at once (several ranks are built in `join`, all at the same time)
            self.learner = self._build()
            self._snapshot()

    def _build(self) -> Any:
        from agentrl.distributed.gpu import ShardingConfig, make_learner
        from agentrl.learner import Learner
        from agentrl.training.build import advantage_config, learner_args, rubric_for

        cfg, d = self.cfg, self.cfg.distributed
        path, config, advantage, loss = learner_args(cfg, self.policy, advantage_config(cfg, rubric_for(cfg)),
                                                     tis_cap=d.tis_cap if d.stale == "downweight" else None)
        if self.ranks == 1:
            return Learner(path, config, advantage, loss, device="cuda" if d.learner_gpus else "cpu")
        sharding = ShardingConfig(compute_dtype=d.learner_compute_dtype)
        return make_learner(path, config, advantage, loss, d.learner_gpus, sharding, ranks=self.ranks)

    # -- several ranks: rendezvous, then every rank joins the process group and builds its FSDP learner ------
    def node(self) -> str:
        """This rank's node address (the driver groups ranks by node to number them within it)."""
        import ray

        return ray.util.get_node_ip_address()

    def rendezvous(self) -> tuple[str, int]:
        """Rank 0: its node's address and a port free on it, for every rank's MASTER_ADDR/MASTER_PORT."""
        import socket

        host = self.node()
        with socket.socket() as s:
            s.bind((host, 0))
            return host, s.getsockname()[1]

    def join(self, master_addr: str, master_port: int, local_rank: int, timeout_s: float = 1800.0) -> int:
        """Join the policy's process group (blocks until every rank has joined) and build the sharded learner;
        returns its version. `timeout_s` bounds each collective (a rank stuck on a dead peer gives up)."""
        import datetime

        import torch
        import torch.distributed as dist

        os.environ.update(RANK=str(self.rank), WORLD_SIZE=str(self.ranks), LOCAL_RANK=str(local_rank),
                          MASTER_ADDR=master_addr, MASTER_PORT=str(master_port))
        backend = "nccl" if self.cfg.distributed.learner_gpus >= 1 else "gloo"
        if backend == "nccl" and not torch.cuda.is_available():
            from agentrl.errors import ConfigError

            raise ConfigError(f"learner rank {self.rank}: distributed.learner_gpus="
                              f"{self.cfg.distributed.learner_gpus:g} asks for a GPU per rank, but this process sees "
                              "no CUDA device (CUDA_VISIBLE_DEVICES="
                              f"{os.environ.get('CUDA_VISIBLE_DEVICES')!r}); set learner_gpus: 0 for CPU ranks.")
        dist.init_process_group(backend, rank=self.rank, world_size=self.ranks,
                                timeout=datetime.timedelta(seconds=timeout_s))
        with self._lock:
            self.learner = self._build()
            self._snapshot()
        return self.learner.version

    def _snapshot(self) -> None:
        """Every rank walks the weights (a collective when sharded); rank 0 keeps the host copy it serves."""
        weights = []
        for name, t in self.learner.export_weights():
            if self.rank == 0:
                weights.append((name, t.detach().to("cpu", copy=True)))
        if self.rank == 0:
            self._latest = (self.learner.version, weights)

    def resume(self, folder: str | None = None) -> int:
        """Load this policy from checkpoint `folder` (default: the newest under the run folder, if any);
        returns the step to continue from."""
        from agentrl.training.checkpoints import latest, load

        found = Path(folder) if folder else latest(self.out)
        if found is None:
            return 0
        with self._lock:
            step = load(self.learner, found, self.policy.name)
            self._snapshot()
        if self.rank:
            return step
        print(f"resuming policy {self.policy.name} from {found} (step {step}, version {self.learner.version})",
              flush=True)
        return step

    def update(self, episodes: list[Episode]) -> dict[str, float]:
        """One update on this policy's agents' turns (every agent's rewards still shape the advantages).
        ``learner/turns/<agent>``: how many turns of each agent the update trained on."""
        from agentrl.learner import build_samples

        started = time.monotonic()
        with self._lock:
            metrics = self.learner.update(episodes, agents=self.agents)
            self._snapshot()
        seconds = time.monotonic() - started
        turns: dict[str, float] = {}
        if not metrics.get("learner/skipped"):
            by_id = {e.id: e for e in episodes}
            for ep_id, i in build_samples(episodes, self.agents)[1]:
                key = f"learner/turns/{by_id[ep_id].turns[i].agent}"
                turns[key] = turns.get(key, 0.0) + 1
        return {**metrics, **turns, "learner/cpu_percent": _cpu_percent(), "learner/rss_gb": _rss_gb(),
                "learner/tokens_per_s": metrics.get("learner/tokens", 0.0) / max(seconds, 1e-9)}

    def weights(self) -> tuple[int, list]:
        return self._latest

    def version(self) -> int:
        return self.learner.version

    def save_to(self, folder: str) -> int:
        """Write this policy's checkpoint into `folder` (the driver's temporary checkpoint); returns the version."""
        with self._lock:
            self.learner.save(Path(folder) / self.policy.name)
            return self.learner.version

    def checkpoint(self, step: int) -> str:
        """A whole checkpoint of this learner alone (a single-policy run; with several ranks, called on all)."""
        from agentrl.training.checkpoints import save

        with self._lock:
            return str(save(self.learner, self.out, step, self.policy.name))


# -- rollout workers -----------------------------------------------------------------------------------------
class RolloutWorker:
    """One policy engine serving model calls from every env actor. An async actor: calls interleave."""

    def __init__(self, cfg_dict: dict[str, Any], index: int, learner: Any, policy: str = "main"):
        from agentrl.training.build import find_policy, model_path

        cfg = _config(cfg_dict)
        self.index, self.learner = index, learner
        self.incarnation = uuid.uuid4().hex[:12]
        self.policy = _build_policy(cfg, model_path(cfg, find_policy(cfg, policy)))
        self._open = asyncio.Event()  # the gate: closed while weights load
        self._open.set()
        self._caught_up = asyncio.Event()
        self._weights_lock = asyncio.Lock()
        self._in_flight = 0
        self._drained: asyncio.Event | None = None
        self.stats = {"requests": 0, "completion_tokens": 0, "busy_s": 0.0, "syncs": 0, "sync_s": 0.0,
                      "last_sync_s": 0.0, "started": time.monotonic()}

    async def _catch_up(self) -> None:
        """A resumed run, or a worker restarted mid-run: load the learner's newest weights before serving."""
        if self._caught_up.is_set():
            return
        async with self._weights_lock:
            if not self._caught_up.is_set():
                version, weights = await self.learner.weights.remote()
                if version > self.policy.version:
                    await asyncio.to_thread(self._sync, weights, version)
                self._caught_up.set()

    async def ready(self) -> dict[str, Any]:
        await self._catch_up()
        return {"incarnation": self.incarnation, "version": self.policy.version, "pid": os.getpid()}

    async def describe(self) -> tuple[str, int]:
        await self._catch_up()
        await self._open.wait()
        return self.incarnation, self.policy.version

    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None,
                       seed: int) -> tuple[Turn, str, int]:
        await self._catch_up()
        await self._open.wait()
        self._in_flight += 1
        started = time.monotonic()
        version = self.policy.version
        try:
            if isinstance(self.policy, _seedable()):
                turn = await self.policy.generate(agent, messages, previous, seed=seed)
            else:
                turn = await self.policy.generate(agent, messages, previous)
        except Exception:
            if _engine_dead(self.policy):
                self._exit_for_restart()
            raise
        finally:
            self._in_flight -= 1
            self.stats["busy_s"] += time.monotonic() - started
            if self._in_flight == 0 and self._drained is not None:
                self._drained.set()
        self.stats["requests"] += 1
        self.stats["completion_tokens"] += len(turn.completion_ids)
        return turn, self.incarnation, version

    async def update_weights(self, payload: tuple[int, list]) -> float:
        """Close the gate, let the requests in flight finish, load, reopen: no turn mixes two versions."""
        version, weights = payload
        await self._catch_up()
        async with self._weights_lock:
            if version <= self.policy.version:
                return 0.0
            self._open.clear()
            try:
                if self._in_flight:
                    self._drained = asyncio.Event()
                    await self._drained.wait()
                    self._drained = None
                return await asyncio.to_thread(self._sync, weights, version)
            finally:
                self._open.set()

    def _sync(self, weights: list, version: int) -> float:
        seconds = self.policy.update_weights(weights, version=version)
        self.stats["syncs"] += 1
        self.stats["sync_s"] += seconds
        self.stats["last_sync_s"] = seconds
        return seconds

    def get_stats(self) -> dict[str, Any]:
        return {**self.stats, "in_flight": self._in_flight, "version": self.policy.version,
                "incarnation": self.incarnation, "cpu_percent": _cpu_percent(), "rss_gb": _rss_gb(),
                "gate_closed": not self._open.is_set()}

    def close(self) -> None:
        self.policy.close()

    def _exit_for_restart(self) -> None:
        """The engine process died under this worker: nothing it serves can succeed again, and the actor still
        answers `ready`, so the driver would keep sending it episodes that fail. Exit the process shortly (the
        calls in flight fail with the engine's own error first) and let Ray restart the worker with a fresh
        engine; the driver's pool takes it back once it answers."""
        if getattr(self, "_exiting", False):
            return
        self._exiting = True
        print(f"rollout worker {self.index}: its engine died ({_engine_dead(self.policy)}); exiting so Ray restarts "
              "it with a fresh engine", flush=True)
        asyncio.get_running_loop().call_later(0.5, os._exit, 1)


def _engine_dead(policy: Any) -> str:
    """Why the policy's engine is dead ('' while it is alive): vLLM's AsyncLLM says so once its core is gone."""
    engine = getattr(policy, "engine", None)
    if engine is None or not getattr(engine, "errored", False):
        return ""
    return repr(getattr(engine, "dead_error", "engine core died"))


def _seedable() -> type:
    from agentrl.inference.torch_sampler import TorchSamplerPolicy

    return TorchSamplerPolicy


def _build_policy(cfg: Any, model: str) -> Any:
    """The worker's engine: the core's `make_engine`, plus what only Ray placement decides (GPUs, NCCL)."""
    from agentrl.training.build import make_engine

    engine_kwargs: dict[str, Any] = {}
    if cfg.distributed.gpus_per_rollout_worker >= 2:
        engine_kwargs["tensor_parallel_size"] = int(cfg.distributed.gpus_per_rollout_worker)
    if cfg.distributed.weight_sync == "nccl":
        engine_kwargs["worker_extension_cls"] = "agentrl.distributed.gpu.NCCLWeightReceiver"
    return make_engine(cfg, model, device="cuda" if cfg.distributed.gpus_per_rollout_worker else "cpu",
                       engine_kwargs=engine_kwargs)


class RemotePolicy:
    """A `Policy` that forwards every model call to one rollout worker, pinned to that worker's incarnation."""

    def __init__(self, worker: Any, worker_index: int, episode_seed: int):
        self.worker, self.worker_index, self.episode_seed = worker, worker_index, episode_seed
        self.incarnation: str | None = None
        self.version = 0
        self.versions: list[int] = []
        self._turns: dict[AgentID, int] = {}

    async def start(self, wait_for_restart: float = 300.0) -> None:
        """Pin the episode to the worker's current incarnation. Nothing has happened yet, so a worker that is
        restarting is waited for (up to `wait_for_restart` seconds) rather than failing the episode."""
        import ray

        deadline = time.monotonic() + wait_for_restart
        while True:
            try:
                self.incarnation, self.version = await self.worker.describe.remote()
                return
            except ray.exceptions.ActorUnavailableError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1.0)

    async def generate(self, agent: AgentID, messages: Sequence[Message], previous: Turn | None = None) -> Turn:
        k = self._turns.get(agent, 0)
        self._turns[agent] = k + 1
        seed = (self.episode_seed * 1_000_003 + zlib.crc32(agent.encode()) * 101 + k) % (2 ** 63)
        turn, incarnation, version = await self.worker.generate.remote(agent, list(messages), previous, seed)
        if incarnation != self.incarnation:
            raise PolicyError(f"rollout worker {self.worker_index} restarted during the episode (incarnation "
                              f"{self.incarnation} -> {incarnation}); its engine state is gone.")
        self.versions.append(version)
        return dataclasses.replace(turn, info={**turn.info, "sampled_version": version})


# -- env actors ----------------------------------------------------------------------------------------------
class EnvActor:
    """Runs up to `episodes_per_env_actor` episodes at once; each gets a fresh env instance from the registry.
    Each agent's turns go to the rollout worker of the policy that plays it (one worker per policy per episode)."""

    def __init__(self, cfg_dict: dict[str, Any], index: int):
        from agentrl import registry
        from agentrl.training.build import resolve_policies, rubric_for

        cfg = _config(cfg_dict)
        self.cfg, self.index = cfg, index
        self.rubric = rubric_for(cfg)
        self.max_turns = cfg.rollout.max_turns or registry.spec(cfg.env.id).max_turns
        self.policy_of = {agent: p.name for p in resolve_policies(cfg) for agent in p.agents}
        self._slots = asyncio.Semaphore(cfg.distributed.episodes_per_env_actor)
        self.stats = {"episodes": 0, "failed": 0, "running": 0, "waiting": 0, "env_s": 0.0,
                      "started": time.monotonic()}

    def ready(self) -> dict[str, Any]:
        return {"pid": os.getpid()}

    async def run(self, spec: Any, workers: dict[str, tuple[Any, int]]) -> Episode:
        """One episode of `spec` (an `agentrl.training.schedule.EpisodeSpec`). `workers`: {policy name: (rollout
        worker handle, its index)}."""
        from agentrl import registry
        from agentrl.rollout import run_episode

        self.stats["waiting"] += 1
        async with self._slots:
            self.stats["waiting"] -= 1
            self.stats["running"] += 1
            started = time.monotonic()
            remote = {name: RemotePolicy(handle, index, spec.seed) for name, (handle, index) in workers.items()}
            indices = {name: index for name, (_, index) in workers.items()}
            first = next(iter(indices.values()))
            try:
                try:
                    await asyncio.gather(*(r.start() for r in remote.values()))
                except Exception as e:  # a worker is gone for good (out of restarts)  # noqa: BLE001
                    return failed_episode(self.cfg.env.id, spec, Status.POLICY_ERROR,
                                          f"rollout worker {indices} unreachable: {e}", 0, self.index, first)
                env = registry.make(self.cfg.env.id, **self.cfg.env.kwargs)
                policy = next(iter(remote.values())) if len(remote) == 1 \
                    else {agent: remote[name] for agent, name in self.policy_of.items()}
                episode = await run_episode(
                    env, policy, spec.task, spec.seed, self.rubric, max_turns=self.max_turns,
                    turn_timeout=self.cfg.rollout.turn_timeout, episode_timeout=self.cfg.rollout.episode_timeout,
                    policy_version=min(r.version for r in remote.values()), group_id=spec.group_id)
            finally:
                self.stats["running"] -= 1
                self.stats["env_s"] += time.monotonic() - started
        self.stats["episodes"] += 1
        self.stats["failed"] += int(episode.status.is_failure)
        main = next(iter(remote.values()))
        info = {**episode.info, **spec.info(), "env_actor": self.index, "rollout_worker": first,
                "worker_incarnation": main.incarnation,
                "last_policy_version": max(main.versions, default=main.version)}
        if len(remote) > 1:
            info.update({"rollout_workers": indices, "policy_versions": {n: r.version for n, r in remote.items()},
                         "worker_incarnations": {n: r.incarnation for n, r in remote.items()}})
        return episode.replace(info=info)

    def get_stats(self) -> dict[str, Any]:
        return {**self.stats, "cpu_percent": _cpu_percent(), "rss_gb": _rss_gb()}


def failed_episode(env_id: str, spec: Any, status: Status, error: str, version: int, env_actor: int,
                   worker: int) -> Episode:
    """The record of an episode that infrastructure lost: kept and counted, never scored."""
    info = {**spec.info(), "env_actor": env_actor, "rollout_worker": worker}
    return Episode(task=spec.task, env_id=env_id, seed=spec.seed, status=status, error=error, policy_version=version,
                   group_id=spec.group_id, info=info)
