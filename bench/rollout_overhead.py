"""Rollout overhead: multi-turn episodes through agentrl versus raw vLLM generate on the same token workload.

    python bench/rollout_overhead.py [--episodes 32] [--turns 4] [--max-tokens 32] [--repeats 2]

Phase "agentrl": `run_episode` with `VLLMPolicy` on a small multi-turn env (chat template, token-exact prompt
building, env steps, rubric, records). Phase "raw": the very same prompts (the token ids the agentrl phase
sent) through the same engine's `generate`, each forced to produce exactly as many tokens as the agentrl
phase sampled, turns of an episode in sequence and episodes concurrently, as agentrl runs them. The prefix
cache is reset before every phase so neither profits from the other; rounds are repeated and the median
of per-round ratios is reported, since other work on a shared machine makes single rounds noisy. Prints generated tokens/s of both and
their ratio (goal: >= 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from agentrl.env import StepResult
from agentrl.models import build_tiny_model
from agentrl.rollout import run_episode
from agentrl.types import Task


class EchoCountEnv:
    """Single agent; each step shows a new short instruction; ends after `turns` steps."""

    possible_agents = ("player",)

    def __init__(self, turns: int):
        self.turns = turns
        self.step_count = 0

    async def reset(self, task: Task, seed: int):
        self.step_count = 0
        return {"player": [{"role": "user", "content": f"Count from {seed % 10}. Say the next number."}]}

    async def step(self, actions):
        self.step_count += 1
        done = self.step_count >= self.turns
        obs = {} if done else {"player": [{"role": "user", "content": f"Now add {self.step_count}. What is it?"}]}
        return StepResult(obs=obs, rewards={"player": float(len(actions["player"]) % 2)},
                          terminated={"player": done})

    async def close(self):
        pass


async def agentrl_phase(policy, episodes: int, turns: int):
    task = Task(id="count")
    started = time.perf_counter()
    results = await asyncio.gather(*(run_episode(EchoCountEnv(turns), policy, task, seed=i, max_turns=turns + 1)
                                     for i in range(episodes)))
    seconds = time.perf_counter() - started
    bad = [e for e in results if e.status.is_failure]
    if bad:
        raise RuntimeError(f"{len(bad)} episodes failed: {bad[0].error}")
    return seconds, results


async def raw_phase(policy, workload):
    async def replay(turns):
        for prompt_ids, n in turns:
            out = await policy.raw_generate(prompt_ids, max_tokens=n, min_tokens=n, ignore_eos=True, logprobs=0)
            assert len(out.outputs[0].token_ids) == n
    started = time.perf_counter()
    await asyncio.gather(*(replay(t) for t in workload))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default=None, help="model folder or name (default: the tiny model)")
    args = parser.parse_args()

    from agentrl.inference import VLLMPolicy

    model = args.model or str(build_tiny_model())
    with VLLMPolicy(model, max_tokens=args.max_tokens, max_model_len=2048, max_num_seqs=args.episodes) as policy:
        reset_cache = lambda: policy._call(policy.engine.reset_prefix_cache())
        _, warm = asyncio.run(agentrl_phase(policy, args.episodes, args.turns))
        workload = [[(list(t.prompt_ids), len(t.completion_ids)) for t in e.turns] for e in warm]
        ours, raw, ratios = [], [], []
        for round_ in range(args.repeats):
            # Alternate which phase runs first: on a shared machine, load drifts between phases. The raw phase
            # always replays the latest agentrl workload; each rate uses its own phase's token count.
            phases = ["raw", "agentrl"] if round_ % 2 else ["agentrl", "raw"]
            for phase in phases:
                reset_cache()
                if phase == "agentrl":
                    seconds, episodes = asyncio.run(agentrl_phase(policy, args.episodes, args.turns))
                    workload = [[(list(t.prompt_ids), len(t.completion_ids)) for t in e.turns] for e in episodes]
                    tokens = sum(n for turns in workload for _, n in turns)
                    prompt_tokens = sum(len(p) for turns in workload for p, _ in turns)
                    ours.append(tokens / seconds)
                else:
                    raw.append(sum(n for turns in workload for _, n in turns) / asyncio.run(raw_phase(policy, workload)))
            ratios.append(ours[-1] / raw[-1])
            print(f"  round {round_} ({' then '.join(phases)}): {len(episodes)} episodes, "
                  f"{sum(len(e.turns) for e in episodes)} turns, {tokens} generated / {prompt_tokens} prompt tokens: "
                  f"agentrl {ours[-1]:.0f} tok/s, raw vLLM {raw[-1]:.0f} tok/s, ratio {ratios[-1]:.3f}", flush=True)
    a, r = statistics.median(ours), statistics.median(raw)
    print(f"agentrl multi-turn rollouts: {a:.0f} generated tokens/s")
    print(f"raw vLLM generate, same workload: {r:.0f} generated tokens/s")
    print(f"ratio agentrl/raw (median of per-round ratios): {statistics.median(ratios):.3f} (goal >= 0.95)")


if __name__ == "__main__":  # vLLM spawns its engine process: the guard is required
    main()
