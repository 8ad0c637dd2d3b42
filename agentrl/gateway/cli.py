"""`agentrl gateway`: serve a model through the OpenAI-compatible gateway until Ctrl-C.

    agentrl gateway --model PATH [--engine vllm|torch] [--port 8000] [--out episodes.jsonl]

It prints one session's base URL (more from ``POST /sessions``); ``DELETE /sessions/KEY`` ends a session
and appends its episode to `--out`; on exit every open session's episode is appended too.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from agentrl.types import write_jsonl


def add_cli(sub: Any) -> None:
    p = sub.add_parser("gateway", help="serve a model behind an OpenAI-compatible API that records episodes",
                       description="Serve /v1/chat/completions on 127.0.0.1 with a local policy; every session is "
                                   "an episode of token-exact turns (see docs/gateway.md).")
    p.add_argument("--model", required=True, help="model folder or name (`tiny` builds the tiny random model)")
    p.add_argument("--engine", choices=("vllm", "torch"), default="vllm", help="rollout engine (default vllm)")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free port)")
    p.add_argument("--max-tokens", type=int, default=256, help="reply length limit per request")
    p.add_argument("--max-model-len", type=int, default=2048, help="context length; longer prompts truncate")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--served-name", default="agentrl", help="the model name /v1/models reports")
    p.add_argument("--out", default="gateway_episodes.jsonl", help="where closed sessions' episodes go")
    p.set_defaults(func=_cmd_gateway)


def _policy(args: argparse.Namespace) -> Any:
    from agentrl.models import build_tiny_model

    model = str(build_tiny_model()) if args.model == "tiny" else args.model
    common = {"max_tokens": args.max_tokens, "max_model_len": args.max_model_len, "temperature": args.temperature}
    if args.engine == "torch":
        from agentrl.inference.torch_sampler import TorchSamplerPolicy

        return TorchSamplerPolicy(model, **common)
    from agentrl.inference.vllm import VLLMPolicy

    return VLLMPolicy(model, **common)


def _cmd_gateway(args: argparse.Namespace) -> int:
    from agentrl.gateway.server import Gateway

    policy = _policy(args)
    out = Path(args.out)
    gateway = Gateway(policy, port=args.port, model=args.served_name,
                      on_close=lambda s: write_jsonl(out, [s.episode()]))

    async def serve() -> None:
        async with gateway:
            session = gateway.open_session()
            print(f"gateway on {gateway.url}\n  OPENAI_BASE_URL={gateway.base_url(session)}\n"
                  f"  OPENAI_API_KEY={session.key}\n  more sessions: POST {gateway.url}/sessions", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    finally:
        n = write_jsonl(out, [s.episode() for s in gateway.sessions.values() if s.turns])
        print(f"gateway: wrote {n} open session(s) to {out}", flush=True)
        close = getattr(policy, "close", None)
        if close is not None:
            close()
    return 0
