"""Learner throughput on a GPU: agentrl's FSDP2 learner against TRL's GRPOTrainer, same model, same batch.

    python bench/learner_gpu.py --model 0.5b                         # one GPU: ours, then TRL, and the ratio
    torchrun --nproc-per-node 2 bench/learner_gpu.py --model 0.5b    # ours over 2 GPUs (TRL is not run)
    python bench/learner_gpu.py --model tiny --device cpu            # a CPU smoke run of the whole script

What is timed (CUDA-synchronised wall clock per optimizer update, median over --steps after --warmup):
- agentrl: `FSDPLearner.update(episodes)` with its own passes: packing the episodes into sequences, GRPO
  advantages, forward+backward over micro-batches, gradient clip, AdamW step. With one optimizer step per batch
  (on-policy) it runs no separate scoring pass: the training forward's detached logprobs are the PPO anchor.
  On one GPU the model is not FSDP-wrapped (`ShardingConfig.shard_single_rank`): bf16 autocast, fp32 master.
- agentrl +scoring: the same with a no-grad scoring pass forced first: TRL's passes, the like-for-like number.
- --variants picks which learners of ours run: `plain` (full logits under autocast, the earlier learner),
  `fused` (`LearnerConfig.fused_head`: logprobs straight from the last hidden state, the vocabulary projection
  done in chunks so the [tokens, vocab] logits never exist at once) and `compiled` (fused plus
  `LearnerConfig.compile`: each decoder layer under torch.compile; the default on CUDA).
- TRL: one optimizer step of `GRPOTrainer.train()` (its own loop, loss and accumulation). Its generation is
  replaced by the same precomputed batch (prompt ids, completion ids, GRPO advantages); the override also runs
  TRL's own no-grad old-logprob pass, as TRL does whenever it generates with vLLM (its importance-sampling
  correction needs them).
Both: random-initialised Qwen2-architecture model, float32 master weights and AdamW state, bfloat16 compute
(ours: autocast on one GPU, FSDP2 MixedPrecisionPolicy over several; TRL: bf16 autocast through accelerate),
SDPA attention, the same activation-checkpointing setting, the same micro-batch unless --ours-micro-batch.
tokens/s counts every token of every sequence (prompt + completion) per second of update; peak memory is
torch.cuda.max_memory_allocated over the timed steps.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch

MODELS = {  # Qwen2.5-0.5B / -1.5B shapes (parameter counts with tied embeddings: 494M / 1.54B)
    "0.5b": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24, "num_attention_heads": 14,
                 "num_key_value_heads": 2, "vocab_size": 151936},
    "1.5b": {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
                 "num_key_value_heads": 2, "vocab_size": 151936},
    "tiny": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
                 "num_key_value_heads": 1, "vocab_size": 512},
}
GROUP_SIZE = 8


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=sorted(MODELS), default="0.5b")
    p.add_argument("--sequences", type=int, default=64, help="global batch (sequences per update)")
    p.add_argument("--prompt-len", type=int, default=512)
    p.add_argument("--completion-len", type=int, default=512)
    p.add_argument("--micro-batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--ours-micro-batch", type=int, default=None,
                   help="agentrl's micro-batch (default: --micro-batch); TRL always runs --micro-batch")
    p.add_argument("--scoring-pass", choices=["own", "both", "forced"], default="both",
                   help="ours with its own passes (on-policy: no separate scoring pass), with TRL's (a forced "
                        "no-grad scoring pass first, the like-for-like number), or both runs")
    p.add_argument("--variants", default="compiled",
                   help="comma-separated learner variants of ours: plain (logits + autocast, the earlier learner), "
                        "fused (LearnerConfig.fused_head: logprobs from the hidden state in chunks), compiled "
                        "(fused + LearnerConfig.compile: torch.compile per decoder layer; the GPU default)")
    p.add_argument("--profile", action="store_true", help="print the top CUDA kernels of one update of ours")
    p.add_argument("--activation-checkpointing", action="store_true")
    p.add_argument("--which", choices=["both", "ours", "trl"], default="both")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--json-out", default=None)
    return p.parse_args()


# -- the shared inputs -----------------------------------------------------------------------------------------
def save_random_model(name: str, folder: Path) -> int:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(**MODELS[name], tie_word_embeddings=True, max_position_embeddings=4096,
                      attn_implementation="sdpa")
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg)
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def synthetic_batch(args: argparse.Namespace) -> dict:
    """Token ids, rewards and GRPO advantages for `sequences` sequences in groups of GROUP_SIZE."""
    vocab = MODELS[args.model]["vocab_size"]
    rng = random.Random(0)
    rows = []
    for i in range(args.sequences):
        prompt = [rng.randrange(3, vocab) for _ in range(args.prompt_len)]
        completion = [rng.randrange(3, vocab) for _ in range(args.completion_len)]
        rows.append((i // GROUP_SIZE, prompt, completion, rng.random()))
    return {"rows": rows}


def episodes_of(batch: dict) -> list:
    from agentrl.types import Episode, Task, Turn

    out = []
    for i, (group, prompt, completion, reward) in enumerate(batch["rows"]):
        turn = Turn(agent="a", index=0, messages=["synthetic"], prompt_ids=prompt, completion_ids=completion,
                    logprobs=[-1.0] * len(completion))
        out.append(Episode(task=Task(id=f"g{group}"), env_id="bench/Synthetic-v0", seed=i, turns=(turn,),
                           reward={"a": reward}))
    return out


def grpo_advantages(batch: dict) -> list[float]:
    rewards = [r[3] for r in batch["rows"]]
    out = []
    for g in range(0, len(rewards), GROUP_SIZE):
        group = rewards[g: g + GROUP_SIZE]
        mean, std = statistics.fmean(group), statistics.pstdev(group)
        out += [(r - mean) / (std + 1e-6) for r in group]
    return out


# -- timing ---------------------------------------------------------------------------------------------------
def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def reset_memory(device: str) -> None:
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")


def summary(name: str, times: list[float], tokens: int, device: str, world: int) -> dict:
    median = statistics.median(times)
    return {"name": name, "world": world, "step_s": median, "step_s_all": times, "tokens": tokens,
            "tokens_per_s": tokens / median, "peak_gib": peak_gib(device)}


VARIANTS = {"plain": {"fused_head": False, "compile": False}, "fused": {"fused_head": True, "compile": False},
            "compiled": {"fused_head": True, "compile": None}}


def run_ours(args: argparse.Namespace, model_dir: Path, batch: dict, forced_scoring: bool, variant: str) -> dict:
    import torch.distributed as dist

    from agentrl.algorithms import AdvantageConfig, LossConfig
    from agentrl.distributed.gpu import FSDPLearner, ShardingConfig
    from agentrl.learner import LearnerConfig

    class Scored(FSDPLearner):
        """TRL's passes: a no-grad scoring pass for the old logprobs, then forward+backward (same values: with
        one optimizer step per batch the old logprobs equal the training forward's detached ones)."""

        on_policy = False

    config = LearnerConfig(lr=1e-6, micro_batch_size=args.ours_micro_batch or args.micro_batch, dtype="float32",
                           **VARIANTS[variant])
    sharding = ShardingConfig(compute_dtype="bfloat16" if args.device == "cuda" else None,
                              activation_checkpointing=args.activation_checkpointing)
    learner = (Scored if forced_scoring else FSDPLearner)(
        model_dir, config, AdvantageConfig("grpo"), LossConfig(aggregation="token_mean", clip_high=0.28), sharding)
    episodes = episodes_of(batch)
    times = []
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            reset_memory(args.device)
        sync(args.device)
        dist.barrier()
        started = time.perf_counter()
        metrics = learner.update(episodes)
        sync(args.device)
        dist.barrier()
        if step >= args.warmup:
            times.append(time.perf_counter() - started)
    tokens = args.sequences * (args.prompt_len + args.completion_len)
    name = f"ours {variant}" + (" +scoring" if forced_scoring else "")
    out = summary(name, times, tokens, args.device, dist.get_world_size())
    out["micro_batch"] = config.micro_batch_size
    out["last_loss_metrics"] = {k: v for k, v in metrics.items() if k.startswith(("loss/", "learner/grad"))}
    if args.profile and not forced_scoring and args.device == "cuda":
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            learner.update(episodes)
            sync(args.device)
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=18, max_name_column_width=60))
    del learner
    reset_memory(args.device)
    return out


def run_trl(args: argparse.Namespace, model_dir: Path, batch: dict) -> dict:
    from datasets import Dataset
    from datasets.table import InMemoryTable
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    advantages = grpo_advantages(batch)
    accumulation = args.sequences // args.micro_batch
    rows = batch["rows"]

    class PrecomputedGRPO(GRPOTrainer):
        """GRPOTrainer with generation replaced by the benchmark's fixed batch (see the module docstring)."""

        def _generate_and_score_completions(self, inputs):
            device = self.accelerator.device
            at = [(self._bench_next + i) % len(rows) for i in range(len(inputs))]
            self._bench_next += len(inputs)
            chosen, picked = [rows[i] for i in at], [advantages[i] for i in at]
            prompt_ids = torch.tensor([r[1] for r in chosen], device=device)
            completion_ids = torch.tensor([r[2] for r in chosen], device=device)
            prompt_mask, completion_mask = torch.ones_like(prompt_ids), torch.ones_like(completion_ids)
            with torch.no_grad():
                old, _, _ = self._get_per_token_logps_and_entropies(
                    self.model, torch.cat([prompt_ids, completion_ids], 1),
                    torch.cat([prompt_mask, completion_mask], 1), completion_ids.size(1),
                    batch_size=self.args.per_device_train_batch_size)
            return {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
                    "completion_mask": completion_mask, "old_per_token_logps": old,
                    "advantages": torch.tensor(picked, device=device),
                    "num_items_in_batch": completion_mask.sum()}

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []

        def on_step_begin(self, *a, **k):
            if len(self.times) == args.warmup:
                reset_memory(args.device)
            sync(args.device)
            self.started = time.perf_counter()

        def on_step_end(self, *a, **k):
            sync(args.device)
            self.times.append(time.perf_counter() - self.started)

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")
    steps = args.warmup + args.steps
    prompts = ["synthetic"] * (args.sequences // GROUP_SIZE * (steps + 1))  # the rows only drive TRL's loop
    dataset = Dataset(InMemoryTable.from_pydict({"prompt": prompts}), fingerprint="agentrl-bench")
    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=args.micro_batch,
        gradient_accumulation_steps=accumulation, num_generations=GROUP_SIZE, max_steps=steps,
        learning_rate=1e-6, bf16=args.device == "cuda", gradient_checkpointing=args.activation_checkpointing,
        beta=0.0, loss_type="dapo", epsilon_high=0.28, max_completion_length=args.completion_len,
        logging_steps=1, report_to="none", save_strategy="no", use_cpu=args.device == "cpu",
        dataloader_num_workers=0, seed=0)
    timer = StepTimer()
    trainer = PrecomputedGRPO(model=model, reward_funcs=[lambda completions, **_: [0.0] * len(completions)],
                              args=config, train_dataset=dataset, processing_class=_tokenizer(),
                              callbacks=[timer])
    trainer._bench_next = 0
    trainer.train()
    tokens = args.sequences * (args.prompt_len + args.completion_len)
    out = summary("TRL GRPOTrainer", timer.times[args.warmup:], tokens, args.device, 1)
    del trainer, model
    reset_memory(args.device)
    return out


def _tokenizer():
    """TRL wants a tokenizer for pad/eos ids only (generation is replaced); the GPU box has no hub access."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({"<pad>": 0, "<eos>": 1, "synthetic": 2}, unk_token="<pad>"))
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>")


def main() -> None:
    import torch.distributed as dist

    args = parse()
    if args.sequences % GROUP_SIZE or args.sequences % args.micro_batch:
        raise SystemExit(f"--sequences must be a multiple of the group size {GROUP_SIZE} and of --micro-batch.")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here: use --device cpu (with --model tiny) for a smoke run.")
    if not dist.is_initialized():
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29511")
        dist.init_process_group("nccl" if args.device == "cuda" else "gloo",
                                rank=int(os.environ.get("RANK", "0")), world_size=int(os.environ.get("WORLD_SIZE", "1")))
    rank, world = dist.get_rank(), dist.get_world_size()
    model_dir = Path(tempfile.gettempdir()) / f"agentrl-bench-{args.model}"
    if rank == 0:
        params = save_random_model(args.model, model_dir)
    dist.barrier()
    batch = synthetic_batch(args)
    results = []
    if args.which in ("both", "ours"):
        variants = [v.strip() for v in args.variants.split(",") if v.strip()]
        if not variants or set(variants) - set(VARIANTS):
            raise SystemExit(f"--variants takes a comma-separated subset of {sorted(VARIANTS)}, got {args.variants!r}.")
        for variant in variants:
            for forced in {"own": [False], "forced": [True], "both": [False, True]}[args.scoring_pass]:
                results.append(run_ours(args, model_dir, batch, forced, variant))
    dist.destroy_process_group()  # TRL (accelerate) brings its own process state
    if args.which in ("both", "trl") and world == 1:
        results.append(run_trl(args, model_dir, batch))
    if rank != 0:
        return
    device = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    setup = (f"{device} x{world}, model {args.model} ({params / 1e6:.0f}M params), {args.sequences} seqs x "
             f"({args.prompt_len}+{args.completion_len}) tokens, micro-batch {args.micro_batch}, "
             f"activation checkpointing {'on' if args.activation_checkpointing else 'off'}, torch {torch.__version__}")
    print(f"\n{setup}")
    print(f"{'learner':<26}{'micro':>6}{'GPUs':>5}{'step s':>10}{'tokens/s':>12}{'peak GiB':>10}")
    for r in results:
        print(f"{r['name']:<26}{r.get('micro_batch', args.micro_batch):>6}{r['world']:>5}{r['step_s']:>10.3f}"
              f"{r['tokens_per_s']:>12.0f}{r['peak_gib']:>10.2f}")
    trl = [r for r in results if r["name"].startswith("TRL")]
    for r in results if trl else []:
        if r is not trl[0]:
            print(f"ratio {r['name']}/TRL tokens/s: {r['tokens_per_s'] / trl[0]['tokens_per_s']:.2f}x; "
                  f"peak memory: {r['peak_gib'] / trl[0]['peak_gib']:.2f}x")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"setup": setup, "params": params, "results": results}, indent=1))


if __name__ == "__main__":
    main()
