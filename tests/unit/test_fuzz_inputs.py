"""Fuzzed inputs (hypothesis, derandomized so CI is reproducible): configs, task files, episode JSONL,
tool-call replies and web actions. Nothing may crash with anything but an AgentRLError, and that error must
say what to fix (it names the bad key, file or line, and is more than a bare type name)."""

import json
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentrl.config import from_dict, load_config
from agentrl.environments.swe.tasks import load_instances
from agentrl.environments.tool_use.parsing import parse_tool_calls
from agentrl.environments.web.actions import Action, BadAction, parse_action
from agentrl.errors import AgentRLError
from agentrl.training.config import TrainConfig
from agentrl.types import Episode, Task, Turn, read_jsonl

FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KEYS = st.sampled_from(["model", "learner", "lr", "steps", "env", "seed", "batch_size", "rollout", "x", ""])
SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=20)
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                       max_leaves=12)


def _explains(err: AgentRLError) -> None:
    message = str(err)
    assert len(message) > 25 and message != type(err).__name__, message


@FUZZ
@given(st.dictionaries(KEYS | st.text(max_size=8), JSONISH, max_size=6))
def test_train_config_from_any_mapping(data):
    try:
        cfg = from_dict(TrainConfig, data)
    except AgentRLError as e:
        _explains(e)
    else:
        assert isinstance(cfg, TrainConfig)


@FUZZ
@given(st.text(alphabet=string.printable, max_size=200), st.sampled_from([".yaml", ".toml", ".json"]),
       st.lists(st.text(alphabet=string.ascii_letters + "=.[]01 ", max_size=20), max_size=3))
def test_config_files_and_overrides(tmp_path_factory, text, suffix, overrides):
    path = Path(tmp_path_factory.mktemp("cfg")) / f"c{suffix}"
    path.write_text(text)
    try:
        load_config(TrainConfig, path, overrides)
    except AgentRLError as e:
        _explains(e)


def _episode_line() -> dict:
    task = Task(id="t", prompt=({"role": "user", "content": "hi"},), reference={"a": 1})
    turn = Turn(agent="a", index=0, messages=({"role": "assistant", "content": "x"},))
    return json.loads(Episode(task=task, env_id="games/Echo-v0", seed=0, turns=(turn,)).to_json())


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["drop", "set", "nest"]), st.sampled_from(
    ["task", "turns", "seed", "status", "env_id", "reward", "schema_version", "id", "metrics"]), JSONISH), max_size=3))
def test_mutated_episode_json(mutations):
    data = _episode_line()
    for op, key, value in mutations:
        if op == "drop":
            data.pop(key, None)
        elif op == "set":
            data[key] = value
        elif isinstance(data.get("turns"), list) and data["turns"] and isinstance(data["turns"][0], dict):
            data["turns"][0][key] = value
    try:
        episode = Episode.from_dict(data)
    except AgentRLError as e:
        _explains(e)
    else:
        assert Episode.from_json(episode.to_json()) == episode


@FUZZ
@given(st.lists(st.text(max_size=60) | st.just(json.dumps(_episode_line())), min_size=1, max_size=4))
def test_episode_jsonl_files(tmp_path_factory, lines):
    path = Path(tmp_path_factory.mktemp("eps")) / "episodes.jsonl"
    path.write_text("\n".join(lines))
    try:
        episodes = list(read_jsonl(path))
    except AgentRLError as e:
        _explains(e)
        assert str(path) in str(e)
    else:
        assert all(isinstance(e, Episode) for e in episodes)


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["instance_id", "repo", "base_commit", "problem_statement",
                                                 "FAIL_TO_PASS", "PASS_TO_PASS", "test_patch", "patch", "image",
                                                 "test_cmd", "version"]), JSONISH, max_size=11) | JSONISH,
                max_size=3), st.booleans())
def test_swe_task_files(tmp_path_factory, rows, as_list):
    path = Path(tmp_path_factory.mktemp("swe")) / ("tasks.json" if as_list else "tasks.jsonl")
    path.write_text(json.dumps(rows) if as_list else "\n".join(json.dumps(r) for r in rows))
    try:
        load_instances(path)
    except AgentRLError as e:
        _explains(e)


TOOLISH = st.text(alphabet=string.printable + "<>{}\"'[]:,é\u0000", max_size=120)


@FUZZ
@given(st.lists(TOOLISH | st.sampled_from(["<tool_call>", "</tool_call>", '{"name": "add", "arguments": ',
                                           '{"a": 1}', "}", "[", "]", "null", '"arguments": "x"']), max_size=8))
def test_tool_call_replies_never_raise(parts):
    result = parse_tool_calls("".join(parts))
    assert all(isinstance(c.name, str) and isinstance(c.arguments, dict) for c in result.calls)
    assert all(isinstance(e, str) and len(e) > 10 for e in result.errors)


@FUZZ
@given(st.lists(TOOLISH | st.sampled_from(["click(", "type(", "select(", "goto(", "answer(", "press(", "scroll(",
                                           ")", "3", '"', ", ", "stop()", "back()", "-1", "99999999999999999999"]),
                max_size=8))
def test_web_actions_never_raise(parts):
    action = parse_action("".join(parts))
    assert isinstance(action, (Action, BadAction))
    if isinstance(action, BadAction):
        assert len(action.reason) > 10
