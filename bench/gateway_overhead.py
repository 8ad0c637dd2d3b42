"""Gateway overhead: the same multi-turn workload direct through `VLLMPolicy.generate` and through the gateway.

    python bench/gateway_overhead.py [--model tiny] [--episodes 16] [--turns 4] [--max-tokens 32] [--rounds 3]
                                     [--clients process|inline] [--client sdk|raw]

Phase "direct": `episodes` concurrent conversations of `turns` turns, each turn `policy.generate(agent,
messages, previous)` as `run_episode` calls it. Phase "gateway": the same conversations, each an
`openai.AsyncOpenAI` client on its own session of a `Gateway` over that same engine (HTTP on 127.0.0.1, request
checks, history matching, tool-call parsing, recording). `--clients process` runs the clients in a separate
process, as `ProgramEnv` runs programs (it is imported and waiting before the clock starts); `--clients inline`
runs them on the gateway's own event loop, so their CPU time (and the GIL) competes with the server's. On the
tiny model, alternating which phase goes first per round; prints completion tokens/s of both and the median of
per-round ratios (goal: >= 0.95), and per round the CPU milliseconds per turn of each phase (this process, its
engine core and the client process) and the peak number of turns in flight in the engine (the gateway passes
concurrent requests to the engine concurrently, so it batches them as the direct phase does). Each episode's
session and client are built before the clock starts, as a program builds its client once. `--client sdk`
(default) is the `openai` SDK; `--client raw` posts the same JSON with one `aiohttp` session, so the difference
between the two is the SDK's own CPU cost per request, not the gateway's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from typing import TYPE_CHECKING

import openai
import psutil

if TYPE_CHECKING:  # imported in bench(): the client process imports this module for its clients only
    from agentrl.gateway import Gateway


class Counted:
    """The policy, counting how many `generate` calls are in flight: the engine can only batch the turns that
    reach it together, so a gateway that serialised requests would show a peak of 1. `mean()` is the
    time-weighted mean while any is in flight: turns that arrive staggered (each HTTP round trip delays its
    episode's next turn a little) make smaller batches and more engine steps for the same tokens."""

    def __init__(self, policy):
        self.policy, self.in_flight, self.peak = policy, 0, 0
        self._since, self._area, self._busy = 0.0, 0.0, 0.0

    def _tick(self, delta: int) -> None:
        now = time.monotonic()
        if self.in_flight:
            self._area += self.in_flight * (now - self._since)
            self._busy += now - self._since
        self._since, self.in_flight = now, self.in_flight + delta
        self.peak = max(self.peak, self.in_flight)

    def mean(self) -> float:
        return self._area / self._busy if self._busy else 0.0

    def reset(self) -> None:
        self.peak, self._area, self._busy = 0, 0.0, 0.0

    async def generate(self, agent, messages, previous=None):
        self._tick(+1)
        try:
            return await self.policy.generate(agent, messages, previous)
        finally:
            self._tick(-1)


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


class RawClient:
    """The least an HTTP client can do: post the request's JSON on a kept-alive connection and parse the reply."""

    def __init__(self, base_url: str):
        import aiohttp
        self.url, self.http = base_url + "/chat/completions", aiohttp.ClientSession()

    async def chat(self, messages: list) -> dict:
        async with self.http.post(self.url, json={"model": "agentrl", "messages": messages}) as response:
            reply = (await response.json())["choices"][0]["message"]
        return {k: v for k, v in reply.items() if v is not None}

    async def close(self) -> None:
        await self.http.close()


class SDKClient:
    def __init__(self, base_url: str):
        self.client = openai.AsyncOpenAI(base_url=base_url, api_key="unused")

    async def chat(self, messages: list) -> dict:
        reply = (await self.client.chat.completions.create(model="agentrl", messages=messages)).choices[0].message
        return reply.model_dump(exclude_none=True)

    async def close(self) -> None:
        await self.client.close()


CLIENTS = {"sdk": SDKClient, "raw": RawClient}


def clients(gateway: Gateway, episodes: int, kind: str = "sdk") -> list:
    """One session and one client per episode, built before the clock starts: a program builds its client once
    (the `openai` client loads the CA bundle for its SSL context, about 60 ms of CPU each), and the direct
    phase is not charged for starting its episodes either."""
    out = []
    for _ in range(episodes):
        session = gateway.open_session()
        out.append((session, CLIENTS[kind](gateway.base_url(session))))
    return out


async def through_gateway(gateway: Gateway, episodes: int, turns: int, built: list | None = None) -> int:
    built = built or clients(gateway, episodes)

    async def one(e: int) -> int:
        session, client = built[e]
        messages = []
        for t in range(turns):
            messages.append(prompt(e, t))
            messages.append(await client.chat(messages))
        await client.close()
        gateway.close_session(session)
        assert session.segments == 1, "a conversation that only extends must stay one segment"
        return sum(len(t.completion_ids) for t in session.turns)

    return sum(await asyncio.gather(*(one(e) for e in range(episodes))))


CLIENT = r"""
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[4])
from gateway_overhead import CLIENTS, prompt
urls, turns, kind = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

async def one(e, client):
    messages = []
    for t in range(turns):
        messages.append(prompt(e, t))
        messages.append(await client.chat(messages))
    await client.close()

async def main(clients):
    await asyncio.gather(*(one(e, c) for e, c in enumerate(clients)))

async def build():
    return [CLIENTS[kind](u) for u in urls]  # built before "ready", once each (aiohttp wants a running loop)

loop = asyncio.new_event_loop()
clients = loop.run_until_complete(build())
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()
started = time.process_time()
loop.run_until_complete(main(clients))
sys.stdout.write(f"{time.process_time() - started}\n")
"""


async def through_process(gateway: Gateway, episodes: int, turns: int, kind: str = "sdk") -> tuple[int, float, float]:
    """(completion tokens, seconds from "go" to the client's last reply, the client's CPU seconds after "go")."""
    sessions = [gateway.open_session() for _ in range(episodes)]
    urls = json.dumps([gateway.base_url(s) for s in sessions])
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", CLIENT, urls, str(turns), kind,
                                                   os.path.dirname(os.path.abspath(__file__)),
                                                   stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert await process.stdout.readline() == b"ready\n"
    started = time.monotonic()
    process.stdin.write(b"go\n")
    await process.stdin.drain()
    client_cpu = float((await process.stdout.readline()).decode())
    seconds = time.monotonic() - started  # the workload is done; the client interpreter's exit is not charged
    code = await process.wait()
    assert code == 0, f"client process exited with {code}"
    for s in sessions:
        gateway.close_session(s)
        assert s.segments == 1 and len(s.turns) == turns
    return sum(len(t.completion_ids) for s in sessions for t in s.turns), seconds, client_cpu


def tree_cpu() -> float:
    """CPU seconds used so far by this process and its live children (the engine core): on a loaded machine
    wall time swings between rounds, CPU per turn much less. A client process reports its own."""
    me = psutil.Process()
    t = me.cpu_times()
    total = t.user + t.system
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            c = child.cpu_times()
            total += c.user + c.system
    return total


async def timed(run) -> tuple[int, float]:
    started = time.monotonic()
    tokens = await run()
    return tokens, time.monotonic() - started


async def bench(args: argparse.Namespace) -> None:
    from agentrl.gateway import Gateway
    from agentrl.inference import VLLMPolicy
    from agentrl.models import build_tiny_model

    model = str(build_tiny_model()) if args.model == "tiny" else args.model
    engine = VLLMPolicy(model, max_tokens=args.max_tokens, max_model_len=1024, seed=0)
    policy = Counted(engine)
    try:
        async with Gateway(policy) as gateway:
            await direct(policy, 4, 2)  # warm-up: compile, fill caches
            await through_gateway(gateway, 4, 2, clients(gateway, 4, args.client))
            ratios = []
            policy.reset()
            for r in range(args.rounds):
                rates, peaks, cpu = {}, {}, {}
                for phase in ("direct", "gateway") if r % 2 == 0 else ("gateway", "direct"):  # neither always first
                    cpu_before, client_cpu = tree_cpu(), 0.0
                    if phase == "direct":
                        tokens, seconds = await timed(lambda: direct(policy, args.episodes, args.turns))
                    elif args.clients == "process":
                        tokens, seconds, client_cpu = await through_process(gateway, args.episodes, args.turns,
                                                                            args.client)
                    else:
                        built = clients(gateway, args.episodes, args.client)
                        tokens, seconds = await timed(
                            lambda built=built: through_gateway(gateway, args.episodes, args.turns, built))
                    rates[phase], peaks[phase] = tokens / seconds, (policy.peak, policy.mean())
                    policy.reset()
                    cpu[phase] = 1000 * (tree_cpu() - cpu_before + client_cpu) / (args.episodes * args.turns)
                ratios.append(rates["gateway"] / rates["direct"])
                print(f"round {r}: direct {rates['direct']:.0f} tok/s, gateway {rates['gateway']:.0f} tok/s, "
                      f"ratio {ratios[-1]:.3f}; CPU ms per turn: direct {cpu['direct']:.1f}, gateway {cpu['gateway']:.1f}; "
                      f"turns in flight (peak, mean): direct {peaks['direct'][0]}, {peaks['direct'][1]:.1f}, "
                      f"gateway {peaks['gateway'][0]}, {peaks['gateway'][1]:.1f}", flush=True)
            print(f"gateway/direct tokens/s ({args.clients} clients, {args.client} HTTP client), median of {args.rounds} rounds: "
                  f"{statistics.median(ratios):.3f}")
    finally:
        engine.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", help="'tiny' (the 0.34 M-parameter test model) or a model folder")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", choices=("process", "inline"), default="process")
    parser.add_argument("--client", choices=tuple(CLIENTS), default="sdk",
                        help="the programs' HTTP client: the openai SDK, or raw JSON over aiohttp")
    asyncio.run(bench(parser.parse_args()))
