"""`train-ray` with its learner on 2 GPUs (two FSDP2 ranks over NCCL) against 1 GPU (the plain learner), same run.

    python bench/ray_fsdp_gpu.py                        # tiny model: the plumbing, 1 GPU then 2, and the ratio
    python bench/ray_fsdp_gpu.py --model small --steps 8
    python bench/ray_fsdp_gpu.py --device cpu           # a CPU smoke run of the script (learner_ranks, gloo)

Needs at least 2 CUDA GPUs (it stops with an error otherwise: it never falls back to CPU unless --device cpu
is given), Ray, torch and transformers; not vLLM: the rollout worker is the torch sampler
(`model.engine: torch`) with its forward passes on a GPU.

The two runs are identical except `distributed.learner_gpus` (1, then 2): synchronous schedule, the same
tasks, seeds and model. Printed per run (medians over the updates after --warmup):
- update: `time/update_s`, the driver's wall clock around one update (every rank's `update` call, the
  whole-batch metrics and the weight snapshot rank 0 keeps for the rollout workers);
- learner: `learner/update_s`, the learner's own update (packing, advantages, forward/backward, step);
- sync: `time/sync_s`, pushing the new weights to the rollout worker (object store + load into the sampler);
- step: `time/step_s`, generate + update + sync.
The last row is the 2-GPU run's value over the 1-GPU run's (for times, below 1.00x means the 2-GPU learner is
faster; for tokens/s, above 1.00x).
GPU placement: Ray is told one more GPU than the machine has, and leaves CUDA_VISIBLE_DEVICES alone
(RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES), so the rollout worker's sampler shares GPU 0 with learner rank 0
while the learner ranks take GPU 0 and GPU 1 (each rank picks its GPU by LOCAL_RANK).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

MODELS = {  # build_tiny_model kwargs (random weights; the tokenizer is trained on the spot and cached)
    "tiny": {},
    "small": {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "num_kv_heads": 4, "head_dim": 64,
              "vocab_size": 1024},
}
COLUMNS = (("update", "time/update_s"), ("learner", "learner/update_s"), ("sync", "time/sync_s"),
           ("step", "time/step_s"))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=sorted(MODELS), default="tiny")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2, help="updates left out of the medians")
    p.add_argument("--tasks", type=int, default=16, help="rollout.tasks_per_step")
    p.add_argument("--group", type=int, default=8, help="rollout.group_size")
    p.add_argument("--max-tokens", type=int, default=32)
    p.add_argument("--micro-batch", type=int, default=32)
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--json-out", default=None)
    return p.parse_args()


def require_gpus(device: str, needed: int = 2) -> int:
    import torch

    if device == "cpu":
        return 0
    found = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if found < needed:
        sys.exit(f"ray_fsdp_gpu: needs {needed} CUDA GPUs, this machine has {found} (torch {torch.__version__}, "
                 f"CUDA {torch.version.cuda}). It does not fall back to CPU; --device cpu runs the CPU smoke test.")
    return found


def start_ray(gpus: int) -> None:
    import ray

    from agentrl.distributed.cluster import QUIET, loopback_only

    noset = {"RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES": "1"} if gpus else {}
    os.environ.update(noset)
    loopback_only()
    ray.init(num_cpus=16, num_gpus=gpus + 1 if gpus else 0, namespace="agentrl-bench", include_dashboard=False,
             configure_logging=False, runtime_env={"env_vars": {**QUIET, **noset}}, _node_ip_address="127.0.0.1")


def overrides(args: argparse.Namespace, out: Path, learners: int) -> list[str]:
    learner = ([f"distributed.learner_gpus={learners}", "distributed.gpus_per_rollout_worker=1"]
               if args.device == "cuda" else [f"distributed.learner_ranks={learners}"])
    tiny = json.dumps(MODELS[args.model])
    return [f"run.out_dir={out}", f"run.steps={args.steps}", f"run.save_every={args.steps + 1}",
            "run.tensorboard=false", "run.log_every=1", "env.id=games/Echo-v0", "distributed.mode=sync",
            "model.engine=torch", "distributed.num_env_actors=2", "distributed.num_rollout_workers=1",
            f"model.tiny={tiny}", f"rollout.tasks_per_step={args.tasks}", f"rollout.group_size={args.group}",
            f"rollout.max_tokens={args.max_tokens}", "model.max_model_len=512", "learner.lr=0.0001",
            f"learner.micro_batch_size={args.micro_batch}", "algorithm.loss.entropy_coef=0.01", *learner]


def one_run(args: argparse.Namespace, out: Path, learners: int) -> dict[str, float]:
    from agentrl.config import load_config
    from agentrl.distributed.config import RayTrainConfig
    from agentrl.distributed.driver import train_ray

    cfg = load_config(RayTrainConfig, None, overrides(args, out, learners))
    train_ray(cfg)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()][args.warmup:]
    if not rows:
        sys.exit(f"ray_fsdp_gpu: no updates after --warmup {args.warmup}; raise --steps.")
    result = {name: statistics.median(r[key] for r in rows) for name, key in COLUMNS}
    result["tokens_per_s"] = statistics.median(r["learner/tokens_per_s"] for r in rows)
    result["updates"] = float(len(rows))
    return result


def main() -> None:
    args = parse()
    gpus = require_gpus(args.device)
    start_ray(gpus)
    import ray

    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="ray_fsdp_gpu-") as tmp:
            for learners in (1, 2):
                results[learners] = one_run(args, Path(tmp) / f"learner-{learners}", learners)
    finally:
        ray.shutdown()
    unit = "GPU" if args.device == "cuda" else "rank"
    print(f"\nmodel {args.model}, {args.tasks} x {args.group} episodes of <= {args.max_tokens} tokens per update, "
          f"medians over {int(results[1]['updates'])} updates after {args.warmup} warm-up")
    print(f"{'learner':>10} " + " ".join(f"{name + ' s':>10}" for name, _ in COLUMNS) + f" {'tokens/s':>10}")
    for learners, r in results.items():
        print(f"{learners} {unit + ('s' if learners > 1 else ''):<8} "
              + " ".join(f"{r[name]:>10.3f}" for name, _ in COLUMNS) + f" {r['tokens_per_s']:>10.0f}")
    print(f"{'2 / 1':>10} " + " ".join(f"{results[2][n] / max(results[1][n], 1e-9):>9.2f}x" for n, _ in COLUMNS)
          + f" {results[2]['tokens_per_s'] / max(results[1]['tokens_per_s'], 1e-9):>9.2f}x")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
