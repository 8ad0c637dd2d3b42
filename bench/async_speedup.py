"""Asynchronous vs synchronous Ray training on an env whose steps are slow: wall-clock per update.

    python bench/async_speedup.py                      # vLLM rollout worker, 1 s env steps, lag 2
    python bench/async_speedup.py --policy torch --step-delay 0.5 --updates 6

The same run twice on one local Ray (same config, seeds, actors and env slots), once with distributed.mode=sync and
once with mode=async; only the schedule differs. The env is `debug/SlowEcho-v0` (the quickstart Echo task behind
an `asyncio.sleep` per reset and step, with seeded jitter, as a sandboxed tool or simulator would take), so
episodes last 1-3 slow steps and a batch's slowest episode sets the pace of a synchronous step. Wall-clock per
update is the mean of `time/step_s` after the first update (which includes start-up and the first batch in both).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path


def run(mode: str, args: argparse.Namespace, out: Path) -> list[dict]:
    from agentrl.config import load_config
    from agentrl.distributed.config import RayTrainConfig
    from agentrl.distributed.driver import train_ray

    cfg = load_config(RayTrainConfig, None, [
        f"run.out_dir={out / mode}", f"run.steps={args.updates}", "run.save_every=1000", "run.tensorboard=false",
        "run.log_every=1", "env.id=debug/SlowEcho-v0",
        f"env.kwargs={{step_delay: {args.step_delay}, reset_delay: {args.reset_delay}, jitter: {args.jitter}}}",
        "distributed.setup=[agentrl.distributed.slow_env:register]", f"distributed.mode={mode}",
        f"distributed.max_policy_lag={args.lag}", f"distributed.num_env_actors={args.env_actors}",
        f"distributed.episodes_per_env_actor={args.slots}", "distributed.num_rollout_workers=1",
        f"model.engine={args.policy}", f"rollout.tasks_per_step={args.tasks}",
        f"rollout.group_size={args.group}", "rollout.max_tokens=2", "model.max_model_len=256",
        "learner.lr=0.001"])
    train_ray(cfg)
    return [json.loads(line) for line in (out / mode / "metrics.jsonl").read_text().splitlines()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", choices=("vllm", "torch"), default="vllm")
    p.add_argument("--updates", type=int, default=8)
    p.add_argument("--step-delay", type=float, default=1.0, help="seconds per env step")
    p.add_argument("--reset-delay", type=float, default=0.5, help="seconds per env reset")
    p.add_argument("--jitter", type=float, default=0.5, help="extra seeded uniform delay in [0, jitter] per call")
    p.add_argument("--lag", type=int, default=2, help="async: max policy lag")
    p.add_argument("--tasks", type=int, default=4)
    p.add_argument("--group", type=int, default=8)
    p.add_argument("--env-actors", type=int, default=2)
    p.add_argument("--slots", type=int, default=64, help="concurrent episodes per env actor (both modes)")
    args = p.parse_args()

    import ray

    ray.init(num_cpus=8, include_dashboard=False, configure_logging=False, namespace="agentrl-bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = {mode: run(mode, args, Path(tmp)) for mode in ("sync", "async")}
    finally:
        ray.shutdown()
    per_update = {m: statistics.mean(r["time/step_s"] for r in rs[1:]) for m, rs in rows.items()}
    lag = {m: max(r["policy_lag/max"] for r in rs) for m, rs in rows.items()}
    batch = args.tasks * args.group
    print(f"\nasync speedup: {args.updates} updates of {batch} episodes, env step {args.step_delay}s + reset "
          f"{args.reset_delay}s (+ jitter <= {args.jitter}s), policy {args.policy}, "
          f"{args.env_actors}x{args.slots} env slots, async lag <= {args.lag}")
    print(f"{'mode':<6} {'s/update':>9} {'max lag':>8} {'failed':>7}")
    for m in ("sync", "async"):
        failed = int(sum(r["rollout/failed"] for r in rows[m]))
        print(f"{m:<6} {per_update[m]:>9.2f} {int(lag[m]):>8d} {failed:>7d}")
    print(f"ratio sync/async: {per_update['sync'] / per_update['async']:.2f}x (goal >= 2.5x)")


if __name__ == "__main__":
    main()
