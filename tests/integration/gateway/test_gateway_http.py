"""The gateway over real HTTP with a scripted policy (no model): the OpenAI format, tools, streaming, sessions,
segments, error bodies, and the program env's statuses. Seconds, no engine."""

from __future__ import annotations

import json
import os
import sys

import httpx
import openai
import pytest

from agentrl.environments.external import ProgramEnv, ProgramRubric
from agentrl.errors import ContextOverflowError
from agentrl.gateway import Gateway
from agentrl.policy_contract import ScriptedPolicy, assistant_turn
from agentrl.rollout import run_episode
from agentrl.types import Status, Task

TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {
    "a": {"type": "integer"}, "b": {"type": "integer"}}}}}]
CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'


class Recorder:
    """A scripted policy that remembers what `generate` got, so tests can see how the session chained turns."""

    def __init__(self, replies):
        self.replies, self.calls = list(replies), []

    async def generate(self, agent, messages, previous=None):
        self.calls.append((list(messages), previous))
        text = self.replies[(len(self.calls) - 1) % len(self.replies)]
        return assistant_turn(agent, messages, previous, text, prompt_ids=[len(self.calls)], completion_ids=[7],
                              logprobs=[-0.5])


class Overflow:
    async def generate(self, agent, messages, previous=None):
        raise ContextOverflowError("the prompt has 99 tokens and max_model_len is 10")


async def test_tool_calls_streaming_and_chained_turns():
    policy = Recorder([CALL, "the answer is 5"])
    async with Gateway(policy) as gateway:
        session = gateway.open_session()
        client = openai.AsyncOpenAI(base_url=gateway.base_url(session), api_key="unused")
        assert [m.id for m in (await client.models.list()).data] == ["agentrl"]
        messages = [{"role": "user", "content": "2 + 3?"}]
        first = await client.chat.completions.create(model="agentrl", messages=messages, tools=TOOLS)
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        call = choice.message.tool_calls[0]
        assert (call.function.name, json.loads(call.function.arguments)) == ("add", {"a": 2, "b": 3})
        assert first.usage.prompt_tokens == 1 and first.usage.completion_tokens == 1
        messages += [choice.message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": "5"}]
        stream = await client.chat.completions.create(model="agentrl", messages=messages, tools=TOOLS, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == "the answer is 5"
    # the second request extended the first: the policy got the previous turn and only the tool result is new
    (conv1, prev1), (conv2, prev2) = policy.calls
    assert prev1 is None and prev2 is session.turns[0]
    assert conv1[0]["role"] == "system" and "<tools>" in conv1[0]["content"]
    assert conv2[:len(conv1) + 1] == [*conv1, {"role": "assistant", "content": CALL}]
    assert conv2[len(conv1) + 1:] == [{"role": "tool", "content": "5"}]
    assert [t.info["segment"] for t in session.turns] == [0, 0] and session.segments == 1
    assert session.turns[1].messages == ({"role": "tool", "content": "5"},
                                         {"role": "assistant", "content": "the answer is 5"})


async def test_rewritten_history_starts_a_marked_segment():
    policy = Recorder(["one", "two", "three"])
    async with Gateway(policy) as gateway:
        session = gateway.open_session()
        client = openai.AsyncOpenAI(base_url=gateway.base_url(session), api_key="x")
        history = [{"role": "user", "content": "hi"}]
        r = await client.chat.completions.create(model="m", messages=history)
        history += [{"role": "assistant", "content": r.choices[0].message.content}, {"role": "user", "content": "go"}]
        await client.chat.completions.create(model="m", messages=history)
        summary = [{"role": "user", "content": "summary: we said one and two. go on"}]  # the program rewrote it
        await client.chat.completions.create(model="m", messages=summary)
    segments = [t.info["segment"] for t in session.turns]
    assert segments == [0, 0, 1]
    assert [t.info.get("segment_start", False) for t in session.turns] == [True, False, True]
    assert [prev is None for _, prev in policy.calls] == [True, False, True]
    assert policy.calls[2][0] == summary


async def test_bad_input_gets_openai_error_bodies_naming_the_problem():
    async with Gateway(Recorder(["ok"])) as gateway:
        session = gateway.open_session()
        url = gateway.base_url(session) + "/chat/completions"
        async with httpx.AsyncClient() as http:
            cases = {
                "n": {"messages": [{"role": "user", "content": "x"}], "n": 2},
                "messages": {"messages": []},
                "messages[0]": {"messages": [{"role": "wizard", "content": "x"}]},
                "bogus": {"messages": [{"role": "user", "content": "x"}], "bogus": 1},
                "tools": {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web"}]},
            }
            for param, body in cases.items():
                r = await http.post(url, json=body)
                assert r.status_code == 400, param
                error = r.json()["error"]
                assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]
            r = await http.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
            assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
            for bad in (f"{gateway.url}/s/not-a-session/v1/chat/completions", f"{gateway.url}/v1/chat/completions"):
                r = await http.post(bad, json={"messages": [{"role": "user", "content": "x"}]},
                                    headers={"Authorization": "Bearer wrong"})
                assert r.status_code == 401 and r.json()["error"]["code"] == "unknown_session"
            # the key works as a bearer token on the plain /v1 path too
            r = await http.post(f"{gateway.url}/v1/chat/completions", json={"messages": [{"role": "user",
                                "content": "x"}]}, headers={"Authorization": f"Bearer {session.key}"})
            assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ok"
            gateway.close_session(session)
            r = await http.post(url, json={"messages": [{"role": "user", "content": "x"}]})
            assert r.status_code == 401  # a closed session's key names nothing any more
    assert len(session.turns) == 1


async def test_context_overflow_truncates_the_episode():
    async with Gateway(Overflow()) as gateway:
        session = gateway.open_session()
        client = openai.AsyncOpenAI(base_url=gateway.base_url(session), api_key="x", max_retries=0)
        with pytest.raises(openai.BadRequestError) as e:
            await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert e.value.code == "context_length_exceeded"
    assert session.status is Status.TRUNCATED and session.episode().status is Status.TRUNCATED


# -- the program env ----------------------------------------------------------------------------------------
def said_five(text):
    return float("5" in text)


async def play(program, policy, **kwargs):
    env = ProgramEnv(program, **kwargs)
    env.bind_policy(policy)
    return await run_episode(env, policy, Task(id="t", prompt="2 + 3?"), 0, ProgramRubric(outcome=[said_five]))


async def two_turns(ctx):
    client = openai.AsyncOpenAI(base_url=ctx.base_url, api_key=ctx.api_key)
    messages = list(ctx.task.prompt)
    for _ in range(2):
        r = await client.chat.completions.create(model=ctx.model, messages=messages, tools=TOOLS)
        messages.append(r.choices[0].message.model_dump(exclude_none=True))
        messages += [{"role": "tool", "tool_call_id": c.id, "content": "5"} for c in r.choices[0].message.tool_calls or ()]
    return "done"


async def test_program_env_records_the_programs_turns_and_scores_them():
    episode = await play(two_turns, Recorder([CALL, "it is 5"]))
    assert episode.status is Status.OK and len(episode.turns) == 2
    assert episode.reward == {"agent": 1.0} and episode.metrics["turns"] == 2.0
    assert episode.turns[1].prompt_ids == (2,) and episode.info["program"]["segments"] == 1


PROGRAMS = {
    "crash": ([sys.executable, "-c", "raise SystemExit('boom')"], Status.ENV_ERROR, "boom"),
    "never calls the model": ([sys.executable, "-c", "print('hi')"], Status.ENV_ERROR, "without calling the model"),
    "hangs": ([sys.executable, "-c", "import time; time.sleep(60)"], Status.TIMEOUT, "time limit"),
    "missing binary": (["/nonexistent/agent"], Status.ENV_ERROR, "cannot start"),
}


@pytest.mark.parametrize("case", PROGRAMS)
async def test_program_failures_become_statuses(case):
    argv, status, words = PROGRAMS[case]
    episode = await play(argv, ScriptedPolicy(replies=["5"]), timeout=2.0)
    assert episode.status is status and words in episode.error and not episode.reward


async def test_the_episode_time_limit_kills_the_program(tmp_path):
    pid_file = tmp_path / "pid"
    script = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    env = ProgramEnv([sys.executable, "-c", script], timeout=60)
    policy = ScriptedPolicy(replies=["5"])
    env.bind_policy(policy)
    episode = await run_episode(env, policy, Task(id="t", prompt="x"), 0, ProgramRubric(), episode_timeout=1.5)
    assert episode.status is Status.TIMEOUT
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)  # killed and reaped by close()


async def test_a_function_that_raises_is_an_env_error_and_overflow_is_truncated():
    async def broken(ctx):
        raise ValueError("parse error in the harness")

    episode = await play(broken, ScriptedPolicy(replies=["5"]))
    assert episode.status is Status.ENV_ERROR and "parse error" in episode.error
    episode = await play(two_turns, Overflow())
    assert episode.status is Status.TRUNCATED and "max_model_len" in episode.error and not episode.turns


async def test_a_subprocess_program_gets_the_session_in_its_environment():
    script = ("import json, os, urllib.request as u\n"
              "t = json.loads(os.environ['AGENTRL_TASK'])\n"
              "assert 'reference' not in t\n"
              "req = u.Request(os.environ['OPENAI_BASE_URL'] + '/chat/completions', data=json.dumps("
              "{'model': os.environ['AGENTRL_MODEL'], 'messages': t['prompt']}).encode(), headers={"
              "'Content-Type': 'application/json'})\n"
              "print(json.loads(u.urlopen(req).read())['choices'][0]['message']['content'])\n")
    episode = await play([sys.executable, "-c", script], ScriptedPolicy(replies=["5"]))
    assert episode.status is Status.OK and episode.reward == {"agent": 1.0}
    assert episode.turns[0].messages == ({"role": "user", "content": "2 + 3?"}, {"role": "assistant", "content": "5"})


def test_gateway_is_listed_by_the_cli():
    from agentrl.cli import build_parser

    args = build_parser().parse_args(["gateway", "--model", "tiny", "--engine", "torch", "--port", "0"])
    assert args.command == "gateway" and args.engine == "torch"
