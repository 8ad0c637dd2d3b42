"""Gateway overhead: the same multi-turn workload direct through `VLLMPolicy.generate` and through the gateway.

    python bench/gateway_overhead.py [--episodes 16] [--turns 4] [--max-tokens 32] [--rounds 3]

Phase "direct": `episodes` concurrent conversations of `turns` turns, each turn `policy.generate(agent,
messages, previous)` as `run_episode` calls it. Phase "gateway": the same conversations, each an
`openai.AsyncOpenAI` client on its own session of a `Gateway` over that same engine (HTTP on 127.0.0.1, request
checks, history matching, tool-call parsing, recording). `--clients process` runs the clients in a separate
process, as `ProgramEnv` runs programs (it is imported and waiting before the clock starts); `--clients inline`
runs them on the gateway's own event loop, so their CPU time (and the GIL) competes with the server's. On the
tiny model, alternating phases per round; prints completion tokens/s of both and the median of per-round
ratios (goal: >= 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
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


CLIENT = r"""
import asyncio, json, sys
import openai
urls, turns = json.loads(sys.argv[1]), int(sys.argv[2])

async def one(e, url):
    client = openai.AsyncOpenAI(base_url=url, api_key="unused")
    messages = []
    for t in range(turns):
        messages.append({"role": "user", "content": f"Count from {(e + t) % 10}. Say the next number."})
        reply = (await client.chat.completions.create(model="agentrl", messages=messages)).choices[0].message
        messages.append(reply.model_dump(exclude_none=True))

async def main():
    await asyncio.gather(*(one(e, u) for e, u in enumerate(urls)))

sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()
asyncio.run(main())
"""


async def through_process(gateway: Gateway, episodes: int, turns: int) -> tuple[int, float]:
    """(completion tokens, seconds from "go" to the client process's exit)."""
    sessions = [gateway.open_session() for _ in range(episodes)]
    urls = json.dumps([gateway.base_url(s) for s in sessions])
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", CLIENT, urls, str(turns),
                                                   stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert await process.stdout.readline() == b"ready\n"
    started = time.monotonic()
    process.stdin.write(b"go\n")
    await process.stdin.drain()
    code = await process.wait()
    seconds = time.monotonic() - started
    assert code == 0, f"client process exited with {code}"
    for s in sessions:
        gateway.close_session(s)
        assert s.segments == 1 and len(s.turns) == turns
    return sum(len(t.completion_ids) for s in sessions for t in s.turns), seconds


async def timed(run) -> tuple[int, float]:
    started = time.monotonic()
    tokens = await run()
    return tokens, time.monotonic() - started


async def bench(args: argparse.Namespace) -> None:
    policy = VLLMPolicy(str(build_tiny_model()), max_tokens=args.max_tokens, max_model_len=1024, seed=0)
    try:
        async with Gateway(policy) as gateway:
            await direct(policy, 4, 2)  # warm-up: compile, fill caches
            await through_gateway(gateway, 4, 2)
            ratios = []
            for r in range(args.rounds):
                rates = {}
                tokens, seconds = await timed(lambda: direct(policy, args.episodes, args.turns))
                rates["direct"] = tokens / seconds
                if args.clients == "process":
                    tokens, seconds = await through_process(gateway, args.episodes, args.turns)
                else:
                    tokens, seconds = await timed(lambda: through_gateway(gateway, args.episodes, args.turns))
                rates["gateway"] = tokens / seconds
                ratios.append(rates["gateway"] / rates["direct"])
                print(f"round {r}: direct {rates['direct']:.0f} tok/s, gateway {rates['gateway']:.0f} tok/s, "
                      f"ratio {ratios[-1]:.3f}", flush=True)
            print(f"gateway/direct tokens/s ({args.clients} clients), median of {args.rounds} rounds: "
                  f"{statistics.median(ratios):.3f}")
    finally:
        policy.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", choices=("process", "inline"), default="process")
    asyncio.run(bench(parser.parse_args()))
