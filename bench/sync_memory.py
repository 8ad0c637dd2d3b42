"""The host weight sync's memory transient: a real vLLM CPU engine, a learner-side copy of the model, a few
`update_weights` calls, with both processes' PSS sampled every 20 ms during each (bench/mem_profile.py samples
every 0.5 s or so and can miss a sync of a second).

    python bench/sync_memory.py --model smollm2-135m --dtype float32 --chunk-mib 0      # the whole state at once
    python bench/sync_memory.py --model smollm2-135m --dtype float32                    # the default chunks

Prints, per sync: seconds, chunks, and each process's PSS before and its peak during the sync (GiB); and
whether the engine's greedy reply after the last sync equals the one after the first (the same weights).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time

import psutil

GIB = 2**30


def pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Peaks:
    """Samples the PSS of some processes on a thread; `peak()` is each one's highest since `reset()`."""

    def __init__(self, pids: dict[str, int], interval: float = 0.02):
        self.pids, self.interval = pids, interval
        self.high = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.high[name] = max(self.high[name], pss(pid))
            time.sleep(self.interval)

    def reset(self) -> dict[str, int]:
        now = {name: pss(pid) for name, pid in self.pids.items()}
        self.high = dict(now)
        return now

    def peak(self) -> dict[str, int]:
        time.sleep(2 * self.interval)
        return dict(self.high)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--dtype", default="float32", help="learner and engine dtype")
    ap.add_argument("--chunk-mib", type=float, default=None, help="weight_sync_chunk_mib (default: the engine's)")
    ap.add_argument("--syncs", type=int, default=3)
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM

    from agentrl.inference import VLLMPolicy
    from agentrl.models import resolve_model

    path = resolve_model(args.model)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, args.dtype))
    # without --chunk-mib the argument is not passed, so the script also measures code from before chunking
    chunk = {} if args.chunk_mib is None else {"weight_sync_chunk_bytes": int(args.chunk_mib * 2**20)}
    policy = VLLMPolicy(path, max_tokens=8, max_model_len=512, max_num_seqs=4, dtype=args.dtype, seed=0,
                        kv_cache_memory_bytes=64 * 2**20, **chunk)
    engine = [c.pid for c in psutil.Process().children(recursive=True) if "EngineCore" in " ".join(c.cmdline())
              or "VLLM" in c.name()]
    peaks = Peaks({"learner (this process)": psutil.Process().pid, **{f"engine {p}": p for p in engine}})
    state_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    print(f"model {args.model} {args.dtype}: {len(model.state_dict())} tensors, {state_bytes / GIB:.3f} GiB; "
          f"chunk bound {getattr(policy, 'weight_sync_chunk_bytes', 0) / 2**20:g} MiB (0: whole)")
    prompt = policy.chat.first([{"role": "user", "content": "Guess a number between 1 and 100."}])

    def reply() -> list[int]:
        return list(asyncio.run(policy.raw_generate(prompt, temperature=0.0)).outputs[0].token_ids)

    replies = []
    try:
        for k in range(args.syncs):
            before = peaks.reset()
            seconds = policy.update_weights(model.state_dict().items(), version=k + 1)
            high = peaks.peak()
            print(f"sync {k + 1}: {seconds:.2f} s, {getattr(policy, 'last_sync_chunks', 1)} chunk(s); " + "; ".join(
                f"{name} {before[name] / GIB:.2f} -> peak {high[name] / GIB:.2f} GiB "
                f"(+{(high[name] - before[name]) / GIB:.2f})" for name in before))
            replies.append(reply())
    finally:
        peaks.stop()
        policy.close()
    print(f"greedy reply after every sync the same: {all(r == replies[0] for r in replies)}")


if __name__ == "__main__":
    main()
