import json

import pytest

from agentrl.errors import SchemaError, TaskError
from agentrl.types import SCHEMA_VERSION, Episode, Status, Task, Turn, read_jsonl, write_jsonl


def make_episode(**kw) -> Episode:
    task = Task(id="t1", prompt="What is 2+2?", reference={"answer": "4"}, env_kwargs={"n": 3})
    turns = (
        Turn(agent="a", index=0, messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "4"}],
             context_messages=1, prompt_ids=[1, 2, 3], completion_ids=[7, 8], logprobs=[-0.5, -1.25],
             rewards={"env": 1.0, "fmt": None}, info={"k": [1, 2]}),
    )
    return Episode(task=task, env_id="games/X-v0", seed=3, turns=turns, outcome_rewards={"a": {"solved": 1.0}},
                   reward={"a": 2.0}, metrics={"turns": 1.0}, **kw)


def test_task_normalises_prompt_and_is_frozen():
    task = Task(id="x", prompt="hello")
    assert task.prompt == ({"role": "user", "content": "hello"},)
    with pytest.raises(AttributeError):
        task.id = "y"  # type: ignore[misc]


@pytest.mark.parametrize("bad", [{"id": ""}, {"id": "x", "prompt": [3]}, {"id": "x", "reference": [1]}])
def test_malformed_task_names_the_problem(bad):
    with pytest.raises(TaskError) as e:
        Task(**bad)
    assert "Task" in str(e.value)


def test_episode_jsonl_round_trip(tmp_path):
    eps = [make_episode(), make_episode(status=Status.ENV_ERROR, error="boom")]
    path = tmp_path / "eps.jsonl"
    assert write_jsonl(path, eps) == 2
    back = list(read_jsonl(path))
    assert [e.to_dict() for e in back] == [e.to_dict() for e in eps]
    assert back[0].turns[0].completion_ids == (7, 8)
    assert back[1].status is Status.ENV_ERROR and back[1].status.is_failure
    assert json.loads(path.read_text().splitlines()[0])["schema_version"] == SCHEMA_VERSION


def test_torn_last_line_is_skipped_but_corrupt_middle_line_raises(tmp_path):
    path = tmp_path / "eps.jsonl"
    write_jsonl(path, [make_episode()])
    with open(path, "a") as f:
        f.write('{"task": {"id"')  # a kill in the middle of a write
    assert len(list(read_jsonl(path))) == 1
    with open(path, "a") as f:
        f.write("\n" + make_episode().to_json() + "\n")
    with pytest.raises(SchemaError):
        list(read_jsonl(path))


def test_newer_schema_is_refused_with_upgrade_hint():
    d = make_episode().to_dict()
    d["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(SchemaError, match="Upgrade agentrl"):
        Episode.from_dict(d)


def test_logprobs_must_match_completion_length():
    with pytest.raises(SchemaError, match="one logprob per sampled token"):
        Turn(agent="a", index=0, messages=["x"], completion_ids=[1, 2], logprobs=[-1.0])


def test_nonfinite_rewards_serialise_as_not_applicable():
    ep = make_episode().replace(reward={"a": float("nan")})
    assert Episode.from_json(ep.to_json()).reward == {"a": None}


def test_status_failures():
    assert not Status.OK.is_failure and not Status.TRUNCATED.is_failure
    assert all(s.is_failure for s in (Status.ENV_ERROR, Status.POLICY_ERROR, Status.VERIFIER_ERROR, Status.TIMEOUT))
