import pytest

from agentrl.errors import ConfigError
from agentrl.evaluation import EvalSpec
from agentrl.evaluation.store import EPISODES, RunStore, read_episodes, repair_tail
from agentrl.types import Episode, Task


def episode(task_id, sample, seed=1):
    return Episode(task=Task(id=task_id), env_id="games/Echo-v0", seed=seed, info={"eval": {"sample": sample}})


def test_repair_tail_cuts_only_a_torn_last_line(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n{"c"')
    assert repair_tail(path) == 4
    assert path.read_text() == '{"a": 1}\n{"b": 2}\n'
    assert repair_tail(path) == 0
    path.write_text('{"no newline at all"')
    repair_tail(path)
    assert path.read_text() == ""


def test_duplicate_keys_are_read_once(tmp_path):
    spec = EvalSpec("games/Echo-v0")
    with RunStore(tmp_path, spec) as store:
        store.append([episode("t1", 0), episode("t1", 1), episode("t1", 0), episode("t2", 0)])
    keys = [(e.task.id, e.info["eval"]["sample"]) for e in read_episodes(tmp_path / EPISODES)]
    assert keys == [("t1", 0), ("t1", 1), ("t2", 0)]


def test_a_second_writer_is_refused(tmp_path):
    spec = EvalSpec("games/Echo-v0")
    with RunStore(tmp_path, spec), pytest.raises(ConfigError, match="another `agentrl eval` process"):  # noqa: SIM117
        with RunStore(tmp_path, spec):
            pass
    with RunStore(tmp_path, spec):  # released after the first one closed
        pass
