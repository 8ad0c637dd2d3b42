import json
import sys
import textwrap

import pytest

from agentrl.errors import ConfigError
from agentrl.evaluation import EvalSpec, evaluate
from agentrl.evaluation.compare import compare
from agentrl.evaluation.rescore import rescore
from agentrl.evaluation.store import EPISODES, read_episodes

FLAKY_ENV = "test/FlakyGuess-v0"
SPEC = EvalSpec(FLAKY_ENV, tasks="test", samples=3)


@pytest.fixture
def rubric_module(tmp_path, monkeypatch):
    (tmp_path / "my_rubrics.py").write_text(textwrap.dedent("""
        from agentrl.verifiers import Rubric, reward

        def few_turns(turns):
            return float(len(turns) <= 2)

        def short():
            return Rubric(outcome=[reward(few_turns, name="success")], env_weight=0.0)

        def broken():
            return Rubric(outcome=[lambda turns: 1 / 0])
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_rubrics"
    sys.modules.pop("my_rubrics", None)


def test_rescore_recomputes_rewards_without_generating(tmp_path, rubric_module):
    run = tmp_path / "run"
    evaluate(SPEC, run, progress=False)
    original = (run / EPISODES).read_bytes()
    summary = rescore(run, f"{rubric_module}:short", tmp_path / "new")
    assert (run / EPISODES).read_bytes() == original  # never modified
    old = {e.id: e for e in read_episodes(run / EPISODES)}
    new = read_episodes(tmp_path / "new" / EPISODES)
    assert len(new) == len(old)
    for e in new:
        assert [t.text for t in e.turns] == [t.text for t in old[e.id].turns]  # same trajectories
        if e.status.is_failure:
            assert e.status == old[e.id].status
            continue
        assert set(e.outcome_rewards["player"]) == {"success"}  # the old rubric's `solved` is gone
        assert e.reward["player"] == float(len(e.turns) <= 2)
    scored = [e for e in new if not e.status.is_failure]
    assert summary["overall"]["success_rate"] == pytest.approx(sum(len(e.turns) <= 2 for e in scored) / len(scored))
    assert summary["run"]["rubric"] == f"{rubric_module}:short"
    # the default rubric gives back the original numbers
    again = rescore(run, None, tmp_path / "same")
    original_summary = json.loads((run / "summary.json").read_text())
    assert again["overall"]["success_rate"] == original_summary["overall"]["success_rate"]
    assert again["tasks"] == original_summary["tasks"] or _same_but_timing(again, original_summary)


def _same_but_timing(a, b):
    from agentrl.evaluation import comparable

    return comparable(a["tasks"]) == comparable(b["tasks"])


def test_a_broken_rubric_gives_verifier_errors_not_zeros(tmp_path, rubric_module):
    evaluate(SPEC, tmp_path / "run", progress=False)
    summary = rescore(tmp_path / "run", f"{rubric_module}:broken", tmp_path / "new")
    assert summary["overall"]["scored"] == 0 and summary["overall"]["success_rate"] is None
    assert summary["overall"]["failures"]["verifier_error"] > 0


def test_bad_rubric_names(tmp_path):
    evaluate(EvalSpec(FLAKY_ENV, tasks="test/:1"), tmp_path / "run", progress=False)
    with pytest.raises(ConfigError, match="module:function"):
        rescore(tmp_path / "run", "nocolon", tmp_path / "x")
    with pytest.raises(ConfigError, match="never overwrites"):
        rescore(tmp_path / "run", None, tmp_path / "run")
    with pytest.raises(ConfigError, match="not an evaluation run folder"):
        rescore(tmp_path, None)


def test_compare_pairs_tasks_and_tests_the_difference(tmp_path, rubric_module):
    evaluate(SPEC, tmp_path / "a", progress=False)
    rescore(tmp_path / "a", f"{rubric_module}:short", tmp_path / "b")
    same = compare(tmp_path / "a", tmp_path / "a")
    for metric in same["metrics"].values():
        assert metric["mean_diff"] == 0 and metric["paired_bootstrap"]["p_value"] == 1.0
        assert metric["sign_test"]["ties"] == metric["tasks"]
    diff = compare(tmp_path / "a", tmp_path / "b")
    sr = diff["metrics"]["success_rate"]
    per_task = [t["success_rate"]["diff"] for t in diff["tasks"].values() if t["success_rate"]["diff"] is not None]
    assert sr["mean_diff"] == pytest.approx(sum(per_task) / len(per_task))
    assert sr["sign_test"]["b_better"] == sum(d > 0 for d in per_task)
    with pytest.raises(ConfigError, match="no summary.json"):
        compare(tmp_path, tmp_path / "a")
