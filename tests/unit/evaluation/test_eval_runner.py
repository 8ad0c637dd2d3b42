import asyncio
import json

import pytest

from agentrl.errors import ConfigError
from agentrl.evaluation import AsyncioExecutor, EvalSpec, comparable, evaluate, evaluate_async, plan_jobs
from agentrl.evaluation.store import EPISODES, episode_key, read_episodes

FLAKY_ENV = "test/FlakyGuess-v0"  # registered by conftest.py

SPEC = EvalSpec(FLAKY_ENV, tasks="test", samples=4)


class StopAfter:
    """An executor that plays `n` episodes and then dies, as a killed process would."""

    def __init__(self, n):
        self.n = n

    async def run(self, jobs, runner):
        async for episode in AsyncioExecutor(3).run(jobs, runner):
            if self.n == 0:
                raise KeyboardInterrupt
            self.n -= 1
            yield episode


def test_failures_are_counted_not_scored(tmp_path):
    summary = evaluate(SPEC, tmp_path, concurrency=4, progress=False)
    episodes = read_episodes(tmp_path / EPISODES)
    failed = [e for e in episodes if e.status.is_failure]
    assert failed and all(e.status.value == "policy_error" for e in failed)
    assert all(e.seed % 7 == 0 for e in failed)
    o = summary["overall"]
    assert o["episodes"] == 24 and o["failures"] == {"policy_error": len(failed)}
    assert o["scored"] == 24 - len(failed)
    scored = [e for e in episodes if not e.status.is_failure]
    solved = sum(e.outcome_rewards["player"]["solved"] for e in scored)
    assert o["success_rate"] == pytest.approx(solved / len(scored))  # not diluted by the failures
    assert 0 < o["success_rate"] < 1
    assert o["turns_mean"] == pytest.approx(sum(len(e.turns) for e in episodes) / 24)
    for t in summary["tasks"].values():
        assert t["episodes"] == 4 and t["scored"] + sum(t["failures"].values()) == 4


def test_same_seed_same_episodes(tmp_path):
    a = evaluate(SPEC, tmp_path / "a", concurrency=1, progress=False)
    b = evaluate(SPEC, tmp_path / "b", concurrency=6, progress=False)
    assert comparable(a) == comparable(b)
    texts = lambda d: sorted((episode_key(e), [t.text for t in e.turns]) for e in read_episodes(d / EPISODES))
    assert texts(tmp_path / "a") == texts(tmp_path / "b")


@pytest.mark.parametrize("stop_after", [0, 5, 17])
def test_interrupted_run_resumes_to_the_same_report(tmp_path, stop_after):
    reference = evaluate(SPEC, tmp_path / "ref", progress=False)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        asyncio.run(evaluate_async(SPEC, run, executor=StopAfter(stop_after), progress=False))
    assert len(read_episodes(run / EPISODES)) == stop_after
    # a kill mid-write leaves a torn line; resuming must drop it, not choke on it
    with open(run / EPISODES, "a") as f:
        f.write('{"task": {"id": "guess-te')
    resumed = evaluate(SPEC, run, progress=False)
    assert comparable(resumed) == comparable(reference)
    lines = (run / EPISODES).read_text().splitlines()
    keys = [episode_key(e) for e in read_episodes(run / EPISODES)]
    assert len(lines) == len(keys) == 24 == len(set(keys))
    assert set(keys) == {j.key for j in plan_jobs(SPEC)}
    assert json.loads((run / "summary.json").read_text())["overall"]["complete"] is True


def test_rerunning_a_finished_run_plays_nothing(tmp_path):
    evaluate(SPEC, tmp_path, progress=False)
    before = (tmp_path / EPISODES).read_bytes()

    class Refuse:
        async def run(self, jobs, runner):
            raise AssertionError(f"asked to play {len(jobs)} episodes")
            yield

    asyncio.run(evaluate_async(SPEC, tmp_path, executor=Refuse(), progress=False))
    assert (tmp_path / EPISODES).read_bytes() == before


def test_different_settings_in_the_same_folder_are_refused(tmp_path):
    evaluate(EvalSpec(FLAKY_ENV, tasks="test/:2"), tmp_path, progress=False)
    with pytest.raises(ConfigError, match="different settings.*samples: 1 -> 2"):
        evaluate(EvalSpec(FLAKY_ENV, tasks="test/:2", samples=2), tmp_path, progress=False)


def test_env_without_scripted_policy_is_a_clear_error(tmp_path):
    from agentrl import registry
    from agentrl.environments import guess_number

    registry.register("test/NoScript-v0", guess_number.GuessNumberEnv, tasks=guess_number.tasks, override=True)
    with pytest.raises(ConfigError, match="no scripted policy"):
        evaluate(EvalSpec("test/NoScript-v0", tasks="test/:1"), tmp_path, progress=False)
