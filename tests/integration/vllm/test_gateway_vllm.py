"""A plain `openai`-client program, run as a subprocess by `ProgramEnv`, talks to the real vLLM engine through the
gateway: several turns with tools, tool calls and tool results, a rewritten history and a streamed reply. Every
recorded turn's ids and logprobs are vLLM's own; turns chain token-exactly within a segment and not across one."""

from __future__ import annotations

import itertools
import sys

import pytest

from agentrl.environments.external import ProgramEnv, ProgramRubric
from agentrl.learner import build_samples, chains
from agentrl.rollout import run_episode
from agentrl.types import Status, Task

pytestmark = pytest.mark.vllm

PROGRAM = r'''
import json, os
import openai

client = openai.OpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY come from the environment
tools = [{"type": "function", "function": {"name": "add"}}]

def ask(messages, **kw):
    r = client.chat.completions.create(model=os.environ["AGENTRL_MODEL"], messages=messages, **kw)
    return r.choices[0].message

messages = [{"role": "user", "content": "add 2 and 3"}]
reply = ask(messages, tools=tools)
messages += [reply.model_dump(exclude_none=True), {"role": "user", "content": "again"}]
ask(messages, tools=tools)
# the harness compacts its history: a summary, a replayed tool call and its result
messages = [{"role": "user", "content": "summary: add"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
             "function": {"name": "add", "arguments": json.dumps({"a": 2, "b": 3})}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "5"}]
reply = ask(messages)
messages += [reply.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": "c2", "content": "ok"}]
reply = ask(messages)
messages += [reply.model_dump(exclude_none=True), {"role": "user", "content": "end"}]
stream = client.chat.completions.create(model="agentrl", messages=messages, stream=True)
print("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
'''


async def test_openai_program_turns_are_vllm_token_exact(tiny_policy, engine_outputs, tmp_path):
    script = tmp_path / "agent.py"
    script.write_text(PROGRAM)
    env = ProgramEnv([sys.executable, str(script)], timeout=120)
    env.bind_policy(tiny_policy)
    episode = await run_episode(env, tiny_policy, Task(id="add", prompt="add"), 0, ProgramRubric())
    assert episode.status is Status.OK, episode.error
    turns = episode.turns
    assert len(turns) == 5 and [t.info["segment"] for t in turns] == [0, 0, 1, 1, 1]
    for turn in turns:
        out = engine_outputs[turn.info["request_id"]]
        assert list(turn.prompt_ids) == list(out.prompt_token_ids)
        assert list(turn.completion_ids) == list(out.outputs[0].token_ids)
        assert list(turn.logprobs) == [out.outputs[0].logprobs[i][tok].logprob
                                       for i, tok in enumerate(out.outputs[0].token_ids)]
        assert len(turn.completion_ids) >= 1
    assert [chains(a, b) for a, b in itertools.pairwise(turns)] == [True, False, True, True]
    # the first prompt is the chat template over the tools message and the user's message
    first = tiny_policy.chat.first([{"role": "system", "content": turns[0].messages[0]["content"]},
                                    {"role": "user", "content": "add 2 and 3"}])
    assert list(turns[0].prompt_ids) == first and "<tools>" in turns[0].messages[0]["content"]
    # the rewritten history renders the replayed tool call in the Hermes format, the tool result as a tool message
    assert turns[2].messages[1]["content"] == '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'
    assert turns[2].messages[2] == {"role": "tool", "content": "5"}
    assert env.result.stdout.strip() == turns[4].text.strip()  # the streamed reply is the recorded one
    samples, _ = build_samples([episode])
    assert len(samples) == 2  # one training sequence per segment
