"""OpenAIPolicy: against a real `vllm serve` (OpenAI-compatible) on 127.0.0.1, and against a tiny local stub
for the error paths a real server will not produce on demand (503 then success, malformed answers)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from aiohttp import web

from agentrl.errors import PolicyError
from agentrl.inference import OpenAIPolicy
from agentrl.inference.openai import tool_call_text

# Async fixtures live on the session loop (pyproject's default); the tests must run on that loop too.
pytestmark = pytest.mark.asyncio(loop_scope="session")

ADD_TOOL = {"type": "function", "function": {
    "name": "add", "description": "Add two integers.",
    # Small enums keep the forced call short even for a random model.
    "parameters": {"type": "object", "properties": {"a": {"enum": [1, 2, 3]}, "b": {"enum": [4, 5]}},
                   "required": ["a", "b"]}}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tiny_model_dir, tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_model_dir),
           "--served-model-name", "tiny", "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "256",
           "--enforce-eager", "--dtype", "float32",
           # the KV cache in bytes (16 MiB: 64 full sequences of the tiny model), not a fraction of what the host
           # reports; the model in the engine's process (no second worker): the suite's memory bar is ~3 GiB
           "--kv-cache-memory-bytes", str(16 * 2**20), "--distributed-executor-backend", "uni",
           "--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"vllm serve exited early; see {log.name}"
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(1)
        else:
            raise TimeoutError(f"vllm serve did not come up in 400 s; see {log.name}")
        yield url + "/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.vllm
async def test_real_server_reply_and_forced_tool_call(vllm_server):
    policy = OpenAIPolicy(vllm_server, "tiny", tools=[ADD_TOOL], max_tokens=160, temperature=1.0, seed=3)
    try:
        messages = [{"role": "user", "content": "What is 2 + 3?"}]
        plain = await policy.generate("agent", messages)
        assert plain.messages == (messages[0], plain.messages[-1]) and plain.messages[-1]["role"] == "assistant"
        assert plain.context_messages == 1 and not plain.completion_ids

        policy.sampling["tool_choice"] = {"type": "function", "function": {"name": "add"}}
        turn = await policy.generate("agent", messages)
        assert "tool_calls" in turn.messages[-1], f"no tool call in {turn.messages[-1]}"
        calls = turn.messages[-1]["tool_calls"]
        assert len(calls) == 1 and calls[0]["function"]["name"] == "add"
        arguments = json.loads(calls[0]["function"]["arguments"])
        assert turn.text.endswith(f"<tool_call>{json.dumps({'name': 'add', 'arguments': arguments})}</tool_call>")
    finally:
        await policy.close()


@pytest.mark.vllm
async def test_real_server_token_ids_fill_the_token_fields(vllm_server):
    policy = OpenAIPolicy(vllm_server, "tiny", max_tokens=5, logprobs=True, return_token_ids=True)
    try:
        turn = await policy.generate("agent", [{"role": "user", "content": "hi"}])
        assert len(turn.completion_ids) == len(turn.logprobs) >= 1 and turn.prompt_ids[0] == 1  # <|im_start|>
    finally:
        await policy.close()


@pytest.mark.vllm
async def test_real_server_http_error_names_status_and_body(vllm_server):
    policy = OpenAIPolicy(vllm_server, "no-such-model", max_retries=0)
    try:
        with pytest.raises(PolicyError, match=r"HTTP 404.*no-such-model"):
            await policy.generate("agent", [{"role": "user", "content": "hi"}])
    finally:
        await policy.close()


# -- error paths against a stub (no engine) -------------------------------------------------------------------
@pytest.fixture
async def stub():
    """A local chat-completions stub whose answers the test queues up."""
    answers: list[tuple[int, dict]] = []
    seen: list[dict] = []

    async def handle(request):
        seen.append(await request.json())
        status, body = answers.pop(0)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/v1", answers, seen
    await runner.cleanup()


def _reply(content, tool_calls=None):
    return {"choices": [{"message": {"role": "assistant", "content": content, "tool_calls": tool_calls},
                         "finish_reason": "tool_calls" if tool_calls else "stop"}]}


async def test_retries_5xx_then_parses_tool_calls(stub):
    url, answers, seen = stub
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 1, \"b\": 2}"}}
    answers.extend([(503, {"error": "busy"}), (429, {"error": "slow down"}), (200, _reply(None, [call]))])
    policy = OpenAIPolicy(url, "m", tools=[ADD_TOOL], backoff=0.01, temperature=0.5)
    turn = await policy.generate("agent", [{"role": "user", "content": "1+2"}])
    await policy.close()
    assert len(seen) == 3 and seen[0]["tools"] == [ADD_TOOL] and seen[0]["temperature"] == 0.5
    assert turn.text == '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'
    assert turn.messages[-1]["tool_calls"] == [call] and turn.finish_reason == "tool_calls"


async def test_retries_are_bounded(stub):
    url, answers, _ = stub
    answers.extend([(500, {"error": "boom"})] * 3)
    policy = OpenAIPolicy(url, "m", max_retries=2, backoff=0.01)
    with pytest.raises(PolicyError, match="HTTP 500.*boom"):
        await policy.generate("agent", ["hi"])
    await policy.close()


async def test_unreachable_server_is_a_clear_error():
    policy = OpenAIPolicy(f"http://127.0.0.1:{_free_port()}/v1", "m", max_retries=1, backoff=0.01)
    with pytest.raises(PolicyError, match="cannot reach .*Is the server running"):
        await policy.generate("agent", ["hi"])
    await policy.close()


async def test_tool_call_text_keeps_malformed_arguments_verbatim():
    call = {"function": {"name": "f", "arguments": "{not json"}}
    assert tool_call_text(call) == '<tool_call>{"name": "f", "arguments": "{not json"}</tool_call>'
