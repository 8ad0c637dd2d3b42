"""Tools from methods and JSON documents, per-tool validation, rendering and errors returned as text."""

import pytest

from agentrl.environments.tool_use import (
    Tool,
    ToolEnv,
    ToolResult,
    ToolSchemaError,
    format_tool_call,
    normalise_schema,
    render_str,
    tools_from_object,
    truncate,
)
from agentrl.types import Task, Turn
from agentrl.verifiers.tools import no_tool_errors, tool_call_format


class Bank:
    def __init__(self):
        self.accounts = {"a": 10}

    def deposit(self, account: str, amount: int) -> dict:
        """Put money in.

        Args:
            account: the account id.
            amount: how much.
        """
        self.accounts[account] += amount
        return {"account": account, "balance": self.accounts[account]}

    def lookup(self, account: str):
        if account not in self.accounts:
            return "Error: no such account"
        return self.accounts[account]


def test_dialect_types_map_to_json_schema():
    doc = {"name": "f", "description": "d", "parameters": {"type": "dict", "properties": {
        "x": {"type": "float"}, "pair": {"type": "tuple", "items": {"type": "int"}}, "m": {"type": "any"}},
        "required": ["x"]}}
    tool = Tool.from_document(doc, lambda **kw: kw)
    props = tool.parameters["properties"]
    assert tool.parameters["type"] == "object" and props["x"] == {"type": "number"}
    assert props["pair"] == {"type": "array", "items": {"type": "integer"}} and props["m"] == {}
    assert normalise_schema({"type": ["String", "null"]}) == {"type": ["string", "null"]}


@pytest.mark.parametrize("doc, fragment", [
    ("{not json", "not valid JSON"), ({"description": "x"}, 'no "name"'),
    ({"name": "f", "parameters": {"type": "dict", "properties": {"x": {"type": "quaternion"}}}}, "unknown type"),
    ({"name": "f", "parameters": {"type": "dict", "properties": {}, "required": ["y"]}}, "required names ['y']"),
])
def test_bad_schema_is_a_clear_error(doc, fragment):
    with pytest.raises(ToolSchemaError) as e:
        Tool.from_document(doc, lambda **kw: kw)
    assert fragment in str(e.value)


async def test_methods_of_the_episode_domain_and_documents_naming_methods():
    tools = tools_from_object(Bank, include=["deposit"])
    assert tools[0].schema["function"]["parameters"]["required"] == ["account", "amount"]
    doc = {"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "dict", "properties": {"account": {"type": "str"}}, "required": ["account"]}}}
    env = ToolEnv([*tools, Tool.from_document(doc, "lookup", is_error=lambda r: str(r).startswith("Error"))], Bank)
    await env.reset(Task(id="t"), 0)
    r = await env.step({"assistant": format_tool_call("deposit", {"account": "a", "amount": 5})
                        + format_tool_call("lookup", {"account": "zz"})})
    info = r.infos["assistant"]
    assert [m["content"] for m in r.obs["assistant"]] == ['{"account": "a", "balance": 15}',
                                                          "Error: no such account"]
    assert [c["ok"] for c in info["tool_calls"]] == [True, False] and info["tool_errors"] == ["Error: no such account"]
    assert tool_call_format(info) == 0.0 and env.state() == {"accounts": {"a": 15}}


async def test_validation_modes_decide_whether_the_tool_runs():
    seen = []

    def put(value: int) -> str:
        seen.append(value)
        return "ok"

    for mode, ok, expected in [("strict", False, []), ("coerce", True, [5]), ("none", True, ["5"])]:
        seen.clear()
        env = ToolEnv([Tool.from_function(put, validation=mode)])
        await env.reset(Task(id="t"), 0)
        r = await env.step({"assistant": format_tool_call("put", {"value": "5"})})
        assert r.infos["assistant"]["tool_calls"][0]["ok"] is ok and seen == expected, mode
    with pytest.raises(ToolSchemaError, match="validation must be one of"):
        Tool.from_function(put, validation="lenient")


async def test_kwargs_need_a_schema_and_rendering_is_per_env():
    def echo(**kw):
        return ToolResult({"got": kw}) if kw.get("ok", True) else ToolResult("Failure: said no", is_error=True)

    with pytest.raises(TypeError, match="pass parameters"):
        Tool.from_function(echo)
    tool = Tool.from_function(echo, parameters={"type": "dict", "properties": {"ok": {"type": "bool"}}})
    env = ToolEnv([tool], render=truncate(render_str, 12))
    await env.reset(Task(id="t"), 0)
    r = await env.step({"assistant": format_tool_call("echo", {}) + format_tool_call("echo", {"ok": False})})
    assert [m["content"] for m in r.obs["assistant"]] == ["{'got': {}}", "Failure: ..."]
    assert r.infos["assistant"]["tool_errors"] == ["Failure: ..."]
    final = await env.step({"assistant": "done"})
    turns = [Turn("assistant", 0, [{"role": "assistant", "content": "x"}], info=r.infos["assistant"]),
             Turn("assistant", 1, [{"role": "assistant", "content": "done"}], info=final.infos["assistant"])]
    assert no_tool_errors(turns) == 0.0
