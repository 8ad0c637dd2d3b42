"""`agentrl train`: the synchronous on-policy loop on one machine (a rollout engine + a torch learner per policy).

    parts    = prepare(cfg)                                  the env's tasks and rubric, the policy map, every check
    start    = resume_point(out)                             newest checkpoint; logs trimmed back to it
    for step in range(start, steps):
        batch    = schedule.collect(step, run(schedule.specs(step)))   seeded tasks x group_size, refills
        append batch.generated to episodes.jsonl             (nothing is lost if the run dies)
        metrics  = learn(policies, batch.train_on)           each policy: learner.update, then weights -> engine
        log.step(metrics)                                    progress bar, metrics.jsonl, TensorBoard
        checkpoint every `save_every` steps, and on Ctrl-C or success

The schedule, checkpoints, run log and config are the training core (agentrl.training), shared with `agentrl
train-ray`; this file holds only what is particular to one process: the engines and learners live here, and
episodes run as coroutines of this process (on the engine's own loop when one vLLM engine plays them all).
Every episode records the version of the weights that played it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from agentrl.config import load_config, to_dict
from agentrl.inference.weight_sync import trim_memory
from agentrl.training import checkpoints, memwatch
from agentrl.training.build import RunParts, learner_args, make_engine, prepare, trained_agents
from agentrl.training.config import PolicyConfig, TrainConfig
from agentrl.training.runlog import RunLog, final_line
from agentrl.training.schedule import EpisodeSpec, Schedule, StepBatch, eval_metrics, eval_specs, rollout_metrics
from agentrl.types import Episode, write_jsonl

__all__ = ["TrainConfig", "train"]


@dataclasses.dataclass
class Slot:
    """One trained policy in this process: its config, its learner and the engine that samples from it."""

    config: PolicyConfig
    learner: Any
    engine: Any

    @classmethod
    def start(cls, cfg: TrainConfig, policy: PolicyConfig, parts: RunParts, resume_from: Path | None) -> Slot:
        from agentrl.learner import Learner, learner_device

        learner = Learner(*learner_args(cfg, policy, parts.advantage), device=learner_device(cfg.learner.device))
        if resume_from is not None:
            checkpoints.load(learner, resume_from, policy.name)
        model = resume_from / policy.name / "model" if resume_from is not None else learner.model_path
        engine = make_engine(cfg, str(model))
        engine.version = learner.version
        return cls(policy, learner, engine)


def train(cfg: TrainConfig) -> dict[str, float]:
    """Run training; returns the last step's metrics. Blocking; wraps the async loop. Under the memory-stall
    watchdog (`run.memory_floor_gib`): a run that thrashes for want of memory raises MemoryStallError."""
    from agentrl import rollout

    engines = max(1, len(cfg.policies)) + int(cfg.selfplay.enabled)  # self-play adds the opponents' engine
    watch = memwatch.for_run(cfg, lambda: rollout.turns_completed, engines)
    return asyncio.run(memwatch.watched(_train(cfg, watch), watch))


async def _train(cfg: TrainConfig, watch: memwatch.MemoryWatch | None = None) -> dict[str, float]:
    # vLLM's per-request INFO lines and its per-sync weight-loading warnings would drown the progress lines.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    out = Path(cfg.run.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(to_dict(cfg), indent=2))
    parts = prepare(cfg)
    schedule = Schedule(parts.tasks, cfg)
    found, start = checkpoints.resume_point(out, cfg.run.resume, [p.name for p in parts.policies])
    slots: list[Slot] = []
    arena = None
    metrics: dict[str, float] = {}
    try:
        for policy in parts.policies:
            slots.append(Slot.start(cfg, policy, parts, found))
        if found is not None:
            print(f"resuming from {found} (step {start}, policy versions "
                  f"{ {s.config.name: s.learner.version for s in slots} })", flush=True)
        run = Runner(cfg, parts, slots)
        if cfg.selfplay.enabled:
            from agentrl.selfplay import start_arena

            arena = start_arena(cfg, slots[0].learner, slots[0].engine, parts.tasks, run.with_policy, out, found,
                                start)
        with RunLog(out, cfg.run, start) as log:
            step = start
            for step in range(start, cfg.run.steps):
                if parts.eval_tasks and step % cfg.run.eval_every == 0:
                    log.eval(step, await evaluate(run, parts, step, out))
                t0 = time.monotonic()
                if arena is not None:
                    batch = StepBatch(*await arena.play_step(schedule.tasks_for_step(step), step))
                else:
                    batch = await schedule.collect(step, await run(schedule.specs(step)), run)
                write_jsonl(out / "episodes.jsonl", batch.generated)
                rollout_s = time.monotonic() - t0
                metrics = learn(slots, batch.train_on)
                if watch is not None:
                    watch.beat()
                metrics.update(rollout_metrics(batch.generated, cfg.run.success_term, parts.policies))
                metrics.update(batch.metrics)
                if arena is not None:
                    metrics.update(await arena.after_update(step + 1))
                metrics.update({"time/rollout_s": rollout_s, "time/step_s": time.monotonic() - t0,
                                "throughput/tokens_per_s": metrics["rollout/completion_tokens"] / max(rollout_s, 1e-9)})
                log.step(step + 1, metrics)
                if log.save_due(step + 1, metrics):
                    save(slots, out, step + 1, league=arena.league.to_dict() if arena is not None else None)
                if log.done(step + 1, metrics):
                    break
            if parts.eval_tasks and metrics and not log.interrupted:
                log.eval(step + 1, await evaluate(run, parts, step + 1, out))
    finally:
        for slot in slots:
            slot.engine.close()
        if arena is not None:
            arena.opponent_engine.close()
    return metrics


class Runner:
    """Plays episode specs as coroutines of this process: a fresh env per episode, every agent's turns through the
    engine of the policy that plays it. Each episode carries the version of the weights that played it."""

    def __init__(self, cfg: TrainConfig, parts: RunParts, slots: list[Slot]):
        self.cfg, self.parts, self.slots = cfg, parts, slots
        self.policy: Any = slots[0].engine if len(slots) == 1 else \
            {agent: s.engine for s in slots for agent in s.config.agents}

    async def __call__(self, specs: list[EpisodeSpec]) -> list[Episode]:
        return await self.with_policy(specs, self.policy)

    async def with_policy(self, specs: list[EpisodeSpec], policy: Any) -> list[Episode]:
        """The specs played by `policy` (one policy or {agent: policy}), in spec order. When one vLLM engine
        plays every agent, the round runs on that engine's own loop (`VLLMPolicy.hosted`: no thread hop a turn)."""
        async def play() -> list[Episode]:
            return list(await asyncio.gather(*(self.one(s, policy) for s in specs)))

        host = _host(policy)
        return await host(play()) if host is not None else await play()

    async def one(self, spec: EpisodeSpec, policy: Any) -> Episode:
        from agentrl import registry
        from agentrl.rollout import run_episode

        r = self.cfg.rollout
        versions = {s.config.name: s.engine.version for s in self.slots}
        env = registry.make(self.cfg.env.id, **self.cfg.env.kwargs)
        episode = await run_episode(env, policy, spec.task, spec.seed, self.parts.rubric,
                                    max_turns=self.parts.max_turns, turn_timeout=r.turn_timeout,
                                    episode_timeout=r.episode_timeout, policy_version=min(versions.values()),
                                    group_id=spec.group_id)
        info = {**episode.info, **spec.info()}
        if len(versions) > 1:
            info["policy_versions"] = versions
        return episode.replace(info=info)


def _host(policy: Any) -> Any:
    """`hosted` of the one engine behind `policy` (a policy, a sampling view, or a dict of them), else None."""
    engines = list(policy.values()) if isinstance(policy, dict) else [policy]
    owners = {id(getattr(e, "engine_policy", e)) for e in engines}
    return getattr(engines[0], "hosted", None) if len(owners) == 1 else None


async def evaluate(run: Runner, parts: RunParts, step: int, out: Path) -> dict[str, float]:
    """Every held-out task once, played by the current weights at `run.eval_temperature`."""
    cfg = run.cfg

    def view(engine: Any) -> Any:  # the torch engine has no per-call sampling: it evaluates at its own settings
        with_sampling = getattr(engine, "with_sampling", None)
        return with_sampling(temperature=cfg.run.eval_temperature) if with_sampling else engine

    policy = view(run.policy) if not isinstance(run.policy, dict) else {a: view(e) for a, e in run.policy.items()}
    episodes = await run.with_policy(eval_specs(parts.eval_tasks, step, cfg.run.seed), policy)
    write_jsonl(out / "eval_episodes.jsonl", episodes)
    return eval_metrics(episodes, cfg.run.success_term)


def learn(slots: list[Slot], episodes: list[Episode]) -> dict[str, float]:
    """Update every policy on its agents' turns, then sync its weights into its engine."""
    metrics: dict[str, float] = {}
    sync_s = 0.0
    for slot in slots:
        sleeps = getattr(slot.engine, "sleep_mode", False)
        if sleeps:
            metrics["time/sleep_s"] = metrics.get("time/sleep_s", 0.0) + slot.engine.sleep()
        m = slot.learner.update(episodes, agents=trained_agents(slot.config))
        if slot.learner.device.type == "cpu":
            # the update's freed gradients and activations go back to the system before the weight sync and
            # the next rollouts, instead of staying with the C allocator (docs/reliability.md)
            trim_memory()
        if sleeps:
            metrics["time/wake_s"] = metrics.get("time/wake_s", 0.0) + slot.engine.wake()
        t = time.monotonic()
        # a skipped update (nothing to train on) leaves the weights as the engine has them; a host sync is a
        # transient of several copies of the weights (docs/reliability.md), so it is not paid for nothing
        if slot.learner.version != slot.engine.version:
            slot.engine.update_weights(slot.learner.export_weights(), version=slot.learner.version)
        sync_s += time.monotonic() - t
        metrics["sync/cuda_ipc"] = float(getattr(slot.engine, "last_sync_path", "") == "cuda-ipc")
        prefix = "" if len(slots) == 1 else f"policy/{slot.config.name}/"
        metrics.update({f"{prefix}{k}": v for k, v in m.items()})
    metrics["time/sync_s"] = sync_s
    metrics.setdefault("learner/version", float(slots[0].learner.version))
    return metrics


def save(slots: list[Slot], out: Path, step: int, league: dict | None = None) -> None:
    tmp = checkpoints.begin(out, step)
    for slot in slots:
        slot.learner.save(tmp / slot.config.name)
    checkpoints.commit(out, step, tmp, {s.config.name: s.learner.version for s in slots}, league)


# -- CLI ---------------------------------------------------------------------------------------------------
def add_cli(sub: Any) -> None:
    p = sub.add_parser("train", help="train a policy with GRPO-family RL",
                       description="Train with the synchronous on-policy loop. Config files hold overrides only; "
                                   "KEY=VALUE arguments override them (e.g. run.steps=50 "
                                   "algorithm.advantage.estimator=rloo).")
    p.add_argument("--config", help="YAML/TOML config file (e.g. launch/configs/quickstart.yaml)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    cfg = load_config(TrainConfig, args.config, args.overrides)
    if args.print_config:
        print(json.dumps(to_dict(cfg), indent=2))
        return 0
    metrics = train(cfg)
    if metrics:
        print(final_line(metrics))
    return 0
