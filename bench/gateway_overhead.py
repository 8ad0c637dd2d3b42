"""Gateway overhead: the same multi-turn workload direct through `VLLMPolicy.generate` and through the gateway.

    python bench/gateway_overhead.py [--episodes 16] [--turns 4] [--max-tokens 32] [--rounds 3]

Phase "direct": `episodes` concurrent conversations of `turns` turns, each turn `policy.generate(agent,
messages, previous)` as `run_episode` calls it. Phase "gateway": the same conversations, each an
`openai.AsyncOpenAI` client on its own session of a `Gateway` over that same engine (HTTP on 127.0.0.1, request
checks, history matching, tool-call parsing, recording). Both in one process, on the tiny model, alternating
phases per round; prints completion tokens/s of both and the median of per-round ratios (goal: >= 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import openai

from agentrl.gateway import Gateway
from agentrl.inference import VLLMPolicy
from agentrl.models import build_tiny_model


def prompt(e: int, t: int) -> dict:
    return {"role": "user", "content": f"Count from {(e + t) % 10}. Say the next number."}


async def direct(policy, episodes: int, turns: int) -> int:
    async def one(e: int) -> int:
        messages, previous, n = [], None, 0
        for t in range(turns):
            messages.append(prompt(e, t))
            previous = await policy.generate("agent", list(messages), previous)
            messages.append(previous.messages[-1])
            n += len(previous.completion_ids)
        return n

    return sum(await asyncio.gather(*(one(e) for e in range(episodes))))


async def through_gateway(gateway: Gateway, episodes: int, turns: int) -> int:
    async def one(e: int) -> int:
        session = gateway.open_session()
        client = openai.AsyncOpenAI(base_url=gateway.base_url(session), api_key=session.key)
        messages = []
        for t in range(turns):
            messages.append(prompt(e, t))
            reply = (await client.chat.completions.create(model="agentrl", messages=messages)).choices[0].message
            messages.append(reply.model_dump(exclude_none=True))
        await client.close()
        gateway.close_session(session)
        assert session.segments == 1, "a conversation that only extends must stay one segment"
        return sum(len(t.completion_ids) for t in session.turns)

    return sum(await asyncio.gather(*(one(e) for e in range(episodes))))


async def bench(args: argparse.Namespace) -> None:
    policy = VLLMPolicy(str(build_tiny_model()), max_tokens=args.max_tokens, max_model_len=1024, seed=0)
    try:
        async with Gateway(policy) as gateway:
            await direct(policy, 4, 2)  # warm-up: compile, fill caches
            await through_gateway(gateway, 4, 2)
            ratios = []
            for r in range(args.rounds):
                rates = {}
                for name, run in (("direct", lambda: direct(policy, args.episodes, args.turns)),
                                  ("gateway", lambda: through_gateway(gateway, args.episodes, args.turns))):
                    started = time.monotonic()
                    tokens = await run()
                    rates[name] = tokens / (time.monotonic() - started)
                ratios.append(rates["gateway"] / rates["direct"])
                print(f"round {r}: direct {rates['direct']:.0f} tok/s, gateway {rates['gateway']:.0f} tok/s, "
                      f"ratio {ratios[-1]:.3f}", flush=True)
            print(f"gateway/direct tokens/s, median of {args.rounds} rounds: {statistics.median(ratios):.3f}")
    finally:
        policy.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(bench(parser.parse_args()))
