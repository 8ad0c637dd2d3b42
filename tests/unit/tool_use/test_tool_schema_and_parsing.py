"""Tools as typed functions (schema, validation, timeouts) and the tool-call parser (fuzzed through the env)."""

import asyncio
import json
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentrl.environments.tool_use import Tool, ToolCallError, ToolEnv, format_tool_call, parse_tool_calls
from agentrl.types import Task


def book(domain: dict, flight: str, seats: int, cabin: Literal["economy", "business"] = "economy",
         note: str | None = None) -> str:
    """Book seats on a flight.

    Args:
        flight: the flight number, e.g. "HAT001".
        seats: how many seats.
        cabin: the cabin class.
    Returns:
        A confirmation.
    """
    domain.setdefault("booked", []).append((flight, seats, cabin))
    return f"booked {seats} on {flight}"


async def slow(seconds: float) -> str:
    """Sleep, then answer.

    Args:
        seconds: how long to sleep.
    """
    await asyncio.sleep(seconds)
    return "done"


def test_schema_from_signature_and_docstring():
    schema = Tool.from_function(book).schema
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "book" and fn["description"] == "Book seats on a flight."
    props = fn["parameters"]["properties"]
    assert "domain" not in props
    assert props["flight"] == {"type": "string", "description": 'the flight number, e.g. "HAT001".'}
    assert props["seats"]["type"] == "integer"
    assert props["cabin"]["enum"] == ["economy", "business"] and props["cabin"]["default"] == "economy"
    assert props["note"] == {"type": "string", "default": None}
    assert fn["parameters"]["required"] == ["flight", "seats"]
    json.dumps(schema)  # the schema is plain JSON


def test_bad_arguments_explain_the_fix():
    tool = Tool.from_function(book)
    with pytest.raises(ToolCallError) as e:
        tool.check_arguments({"flight": 7, "extra": 1})
    msg = str(e.value)
    assert "missing required argument(s) ['seats']" in msg and "unknown argument(s) ['extra']" in msg
    assert "'flight' should be of type string" in msg and "seats: integer" in msg


async def test_async_tool_timeout_becomes_a_tool_error():
    tool = Tool.from_function(slow, timeout=0.05)
    assert await tool.call(None, {"seconds": 0.0}) == "done"
    with pytest.raises(ToolCallError, match="did not finish within 0.05 s"):
        await tool.call(None, {"seconds": 1.0})


def test_parse_hermes_blocks_parallel_and_text():
    text = "Let me check.\n" + format_tool_call("a", {"x": 1}) + format_tool_call("b", {})
    parsed = parse_tool_calls(text)
    assert [c.name for c in parsed.calls] == ["a", "b"] and parsed.calls[0].arguments == {"x": 1}
    assert parsed.errors == () and parsed.text == "Let me check."


def test_parse_openai_style_and_plain_json():
    openai = {"tool_calls": [{"id": "c1", "type": "function",
                              "function": {"name": "f", "arguments": json.dumps({"q": "x"})}}]}
    parsed = parse_tool_calls(json.dumps(openai))
    assert parsed.calls[0].name == "f" and parsed.calls[0].arguments == {"q": "x"} and parsed.calls[0].id == "c1"
    parsed = parse_tool_calls('```json\n[{"name": "g", "arguments": {}}]\n```')
    assert [c.name for c in parsed.calls] == ["g"]
    assert not parse_tool_calls("The answer is {42}.").has_calls
    assert not parse_tool_calls('{"answer": 42}').has_calls  # JSON that is not a call is a plain reply


@pytest.mark.parametrize("text, fragment", [
    ("<tool_call>{not json}</tool_call>", "not valid JSON"),
    ("<tool_call>{\"arguments\": {}}</tool_call>", "no \"name\" string"),
    ("<tool_call>{\"name\": \"f\", \"arguments\": \"[1\"}</tool_call>", "not valid JSON"),
    ("<tool_call>{\"name\": \"f\", \"arguments\": [1]}</tool_call>", "must be a JSON object"),
    ("<tool_call>{\"name\": \"f\"", "never closed"),
])
def test_malformed_calls_become_errors(text, fragment):
    parsed = parse_tool_calls(text)
    assert parsed.calls == () and any(fragment in e for e in parsed.errors), parsed.errors


def _env():
    return ToolEnv([book, slow], domain=lambda task, seed: {}, max_turns=50, tool_timeout=0.5)


fragments = st.sampled_from(["<tool_call>", "</tool_call>", "{", "}", "[", "]", '"name"', '"arguments"', ":", ",",
                             '"book"', '"slow"', '"flight"', '"seats"', "null", "1", "-2.5", '"x"', "true",
                             '"function"', '"tool_calls"', "```", " ", "\n", "\\", '"'])
replies = st.one_of(st.text(max_size=60), st.lists(fragments, max_size=25).map("".join),
                    st.builds(lambda n, a: format_tool_call(n, a), st.sampled_from(["book", "slow", "nope", ""]),
                              st.dictionaries(st.sampled_from(["flight", "seats", "cabin", "seconds", "zz"]),
                                              st.one_of(st.integers(), st.text(max_size=5), st.none(),
                                                        st.floats(allow_nan=False, max_value=0.01),
                                                        st.lists(st.integers(), max_size=2)), max_size=4)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(replies, min_size=1, max_size=4))
def test_fuzzed_replies_never_raise_out_of_the_env(texts):
    async def play():
        env = _env()
        obs = await env.reset(Task(id="fuzz", prompt="book a flight"), 0)
        for text in texts:
            if not obs:
                break
            result = await env.step({"assistant": text})
            info = result.infos["assistant"]
            for m in result.obs.get("assistant", []):
                assert m["role"] == "tool" and isinstance(m["content"], str)
            if result.obs:  # every problem was answered by a tool message
                assert len(result.obs["assistant"]) == len(info["tool_calls"]) + info["parse_errors"]
            obs = result.obs
        await env.close()

    asyncio.run(play())
