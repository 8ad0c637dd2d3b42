"""Rollout overhead: multi-turn episodes through agentrl versus raw vLLM generate on the same token workload.

    python bench/rollout_overhead.py [--episodes 32] [--turns 4] [--max-tokens 32] [--repeats 5] [--model DIR]
                                     [--max-num-seqs N] [--no-hop] [--cached-bound] [--text-in-engine]

Phase "agentrl": `run_episode` with `VLLMPolicy` on a small multi-turn env (chat template, token-exact prompt
building, env steps, rubric, records), the round awaited through `VLLMPolicy.hosted` as the trainers do (it
runs on the engine's own loop). Phase "agentrl-hop" (reported, not in the ratio) plays the same episodes from
the caller's loop, each turn crossing to the engine's thread and back. Two raw baselines replay the very same
prompts (the token ids the agentrl phase sent) through the same engine's `generate`, on the engine's loop,
each forced to produce exactly as many tokens as the agentrl phase sampled:

- "sequential": turns of an episode in sequence, episodes concurrently, as agentrl runs them (prefix cache
  reset first, as for agentrl);
- "batched": every prompt of every turn submitted at once, with the prefix cache already holding what a
  multi-turn run has cached when it sends that turn (the turn before's prompt and completion, an untimed
  one-token pass fills it): the same prefill and decode work as the multi-turn run, with no turn waiting for
  another, so no multi-turn rollout of this workload can beat it;
- "cached" (reported, not in the ratio; `--cached-bound`): the same, with each turn's whole prompt cached
  (decode alone). Earlier versions used this as the limit, but a multi-turn run must prefill each turn's new
  messages (the env's observation and the template), so it bounds decode, not rollouts.

The ratio is agentrl over the faster of sequential and batched (the limit), so it stays <= 1 up to timing noise
by construction. Rounds alternate phase order (load drifts on a shared machine); medians are reported.
Goal: >= 0.95.

Each round also prints the decode steps the workload needs at least, counted from its token counts with the
engine's `max_num_seqs` slots: a multi-turn rollout can never take fewer than its longest episode (turns wait
for each other), the batched run never fewer than its longest single turn; both never fewer than total / slots.
Their quotient is the best ratio any multi-turn rollout could reach if every decode step cost the same. With as
many episodes as slots (`--max-num-seqs` defaults to `--episodes`) the longest episode dominates and caps the
ratio well below 1 for every rollout system, raw sequential included; with more episodes than slots (as in
training, where a step's rollouts queue for the engine) the slots stay full and the cap goes to ~1.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import statistics
import time

from agentrl.env import StepResult
from agentrl.inference.vllm import TOKENS_ONLY
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


LAGS: dict[str, list[float]] = {}


async def lag_watched(phase: str, coro):
    """Await `coro` on the engine's loop while a 5 ms ticker measures how late the loop wakes it: the mean
    lateness (ms) says how busy the loop was (vLLM's output handling plus, in the agentrl phase, the episodes)."""
    late, done = [], asyncio.Event()

    async def tick():
        while not done.is_set():
            due = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            late.append(time.perf_counter() - due)

    ticker = asyncio.create_task(tick())
    try:
        return await coro
    finally:
        done.set()
        await ticker
        LAGS.setdefault(phase, []).append(1000 * statistics.fmean(late) if late else 0.0)


def _hop_note(rates) -> str:
    return f" (hop {rates['agentrl-hop'][-1]:.0f})" if rates["agentrl-hop"] else ""


def _cached_note(rates) -> str:
    return f" (whole prompts cached {rates['cached'][-1]:.0f})" if rates["cached"] else ""


def decode_step_bounds(workload, slots: int) -> tuple[int, int]:
    """Least decode steps for (multi-turn, batched) replays of `workload` on `slots` sequence slots."""
    total = sum(n for turns in workload for _, n in turns)
    floor = -(-total // slots)
    longest_episode = max(sum(n for _, n in turns) for turns in workload)
    longest_turn = max(n for turns in workload for _, n in turns)
    return max(floor, longest_episode), max(floor, longest_turn)


async def agentrl_phase(policy, episodes: int, turns: int, hosted: bool = True):
    task = Task(id="count")

    async def play():
        return await asyncio.gather(*(run_episode(EchoCountEnv(turns), policy, task, seed=i, max_turns=turns + 1)
                                      for i in range(episodes)))

    started = time.perf_counter()
    results = await (policy.hosted(lag_watched("agentrl", play())) if hosted else play())
    seconds = time.perf_counter() - started
    bad = [e for e in results if e.status.is_failure]
    if bad:
        raise RuntimeError(f"{len(bad)} episodes failed: {bad[0].error}")
    # the batched bound caches each turn's history as the turn before's prompt + completion: check the premise
    for e in results:
        for prev, turn in itertools.pairwise(e.turns):
            history = list(prev.prompt_ids) + list(prev.completion_ids)
            if list(turn.prompt_ids[:len(history)]) != history:
                raise RuntimeError("a turn's prompt does not start with the turn before's prompt and completion")
    return seconds, results


async def _exact(policy, prompt_ids, n):
    # the same output processing as the agentrl phase's requests (tokens only, or vLLM's text with --text-in-engine)
    extra = {} if policy._text_in_engine else TOKENS_ONLY
    out = await policy.raw_generate(prompt_ids, max_tokens=n, min_tokens=n, ignore_eos=True, logprobs=0, **extra)
    assert len(out.outputs[0].token_ids) == n


async def sequential_phase(policy, workload):
    async def replay(turns):
        for prompt_ids, n in turns:
            await _exact(policy, prompt_ids, n)

    async def play():
        started = time.perf_counter()
        await asyncio.gather(*(replay(t) for t in workload))
        return time.perf_counter() - started

    return await policy.hosted(lag_watched("sequential", play()))


def cached_prefixes(workload, whole: bool) -> list[list[int]]:
    """What the prefix cache holds when each turn is sent: with `whole`, the turn's own prompt; else (what a
    multi-turn run has) the turn before's prompt and completion, which token-exact prompts start with."""
    if whole:
        return [list(p) for turns in workload for p, _ in turns]
    return [list(p[:len(prev) + n]) for turns in workload for (prev, n), (p, _) in itertools.pairwise(turns)]


async def batched_phase(policy, workload, whole_prompts_cached: bool = False):
    flat = [turn for turns in workload for turn in turns]

    async def play():
        # untimed: fills the prefix cache
        await asyncio.gather(*(_exact(policy, p, 1) for p in cached_prefixes(workload, whole_prompts_cached)))
        started = time.perf_counter()
        await lag_watched("cached" if whole_prompts_cached else "batched",
                          asyncio.gather(*(_exact(policy, p, n) for p, n in flat)))
        return time.perf_counter() - started

    return await policy.hosted(play())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-num-seqs", type=int, default=None,
                        help="engine sequence slots (default: --episodes, every episode has one)")
    parser.add_argument("--model", default=None, help="model folder or name (default: the tiny model)")
    parser.add_argument("--eager", action="store_true", help="enforce_eager=True (default: CUDA graphs on a GPU)")
    parser.add_argument("--cached-bound", action="store_true",
                        help="also run the 'cached' phase (whole prompts cached: a decode-only bound, reported)")
    parser.add_argument("--text-in-engine", action="store_true",
                        help="every phase has vLLM detokenize and build per-token logprob objects (before 2026-12-06)")
    parser.add_argument("--no-hop", action="store_true",
                        help="skip the agentrl-hop phase (reported only, not in the ratio): more rounds per minute")
    args = parser.parse_args()

    from agentrl.inference import VLLMPolicy

    model = args.model or str(build_tiny_model())
    with VLLMPolicy(model, max_tokens=args.max_tokens, max_model_len=2048, max_num_seqs=args.max_num_seqs or args.episodes,
                    enforce_eager=args.eager or None) as policy:
        print(f"engine: enforce_eager={policy.engine_args['enforce_eager']} dtype={policy.engine_args['dtype']} "
              f"kv_cache_memory_bytes={policy.engine_args.get('kv_cache_memory_bytes')}", flush=True)
        policy._text_in_engine = policy._text_in_engine or args.text_in_engine
        print(f"output processing: {'vLLM text and logprob objects' if policy._text_in_engine else 'tokens only'}",
              flush=True)
        reset_cache = lambda: policy._call(policy.engine.reset_prefix_cache())
        _, warm = asyncio.run(agentrl_phase(policy, args.episodes, args.turns))
        workload = [[(list(t.prompt_ids), len(t.completion_ids)) for t in e.turns] for e in warm]
        asyncio.run(batched_phase(policy, workload))  # warm-up of the raw paths too
        if not args.no_hop:
            asyncio.run(agentrl_phase(policy, args.episodes, args.turns, hosted=False))  # warm-up of the hop path
        rates = {"agentrl": [], "agentrl-hop": [], "sequential": [], "batched": [], "cached": []}
        ratios, caps = [], []
        for round_ in range(args.repeats):
            # Alternate which phase runs first; the raw phases replay the latest agentrl workload.
            phases = ["sequential", "batched", "agentrl-hop", "agentrl"] if round_ % 2 else \
                ["agentrl", "agentrl-hop", "sequential", "batched"]
            if args.no_hop:
                phases.remove("agentrl-hop")
            if args.cached_bound:
                phases.insert(phases.index("batched") + 1, "cached")
            for phase in phases:
                reset_cache()
                gc.collect()  # no phase pays for the garbage of the one before it
                if phase == "agentrl-hop":
                    seconds, hop = asyncio.run(agentrl_phase(policy, args.episodes, args.turns, hosted=False))
                    rates[phase].append(sum(len(t.completion_ids) for e in hop for t in e.turns) / seconds)
                    continue
                if phase == "agentrl":
                    seconds, episodes = asyncio.run(agentrl_phase(policy, args.episodes, args.turns))
                    workload = [[(list(t.prompt_ids), len(t.completion_ids)) for t in e.turns] for e in episodes]
                    tokens = sum(n for turns in workload for _, n in turns)
                    prompt_tokens = sum(len(p) for turns in workload for p, _ in turns)
                else:
                    run = {"sequential": sequential_phase, "batched": batched_phase,
                           "cached": lambda *a: batched_phase(*a, whole_prompts_cached=True)}[phase]
                    seconds = asyncio.run(run(policy, workload))
                rates[phase].append(sum(n for turns in workload for _, n in turns) / seconds)
            limit = max(rates["sequential"][-1], rates["batched"][-1])
            ratios.append(rates["agentrl"][-1] / limit)
            print(f"  round {round_} ({' then '.join(phases)}): {len(episodes)} episodes, "
                  f"{sum(len(e.turns) for e in episodes)} turns, {tokens} generated / {prompt_tokens} prompt tokens: "
                  f"agentrl {rates['agentrl'][-1]:.0f} tok/s{_hop_note(rates)}, "
                  f"raw sequential {rates['sequential'][-1]:.0f}, "
                  f"raw batched {rates['batched'][-1]:.0f}{_cached_note(rates)}, ratio {ratios[-1]:.3f}", flush=True)
            multi, flat = decode_step_bounds(workload, policy.engine_args["max_num_seqs"])
            caps.append(flat / multi)
            print("    engine loop lateness of a 5 ms timer (ms): " + ", ".join(
                f"{k} {v[-1]:.2f}" for k, v in LAGS.items() if k in phases), flush=True)
            print(f"    least decode steps on {policy.engine_args['max_num_seqs']} slots: multi-turn {multi}, "
                  f"batched {flat}: cap on the ratio at equal step cost {caps[-1]:.3f}; "
                  f"median ratio so far {statistics.median(ratios):.3f} over {len(ratios)} rounds", flush=True)
    median = {k: statistics.median(v) for k, v in rates.items() if v}
    print(f"agentrl multi-turn rollouts: {median['agentrl']:.0f} generated tokens/s"
          + (f" (from the caller's loop, a thread hop a turn: {median['agentrl-hop']:.0f})" if "agentrl-hop" in median
             else ""))
    print(f"raw vLLM generate, same workload, turns in sequence: {median['sequential']:.0f} generated tokens/s")
    print(f"raw vLLM generate, same workload, all at once, each turn's history cached: {median['batched']:.0f} "
          "generated tokens/s")
    if "cached" in median:
        print(f"raw vLLM generate, all at once, whole prompts cached (decode only, reported): {median['cached']:.0f} "
              "generated tokens/s")
    print(f"ratio agentrl/limit (median of per-round ratios against the faster raw run): "
          f"{statistics.median(ratios):.3f} (goal >= 0.95); the workload's own cap (median): "
          f"{statistics.median(caps):.3f}")


if __name__ == "__main__":  # vLLM spawns its engine process: the guard is required
    main()
