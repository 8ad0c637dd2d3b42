"""`rescore --live` replays the saved replies through a fresh env: tampered env records are recomputed,
diverging observations are flagged, and a replay the env cannot follow is a failure, not a score."""

import dataclasses
import json

import pytest

from agentrl.errors import ConfigError
from agentrl.evaluation import EvalSpec, evaluate
from agentrl.evaluation.rescore import rescore
from agentrl.evaluation.store import EPISODES, episode_key, read_episodes
from agentrl.types import Episode

SPEC = EvalSpec("games/GuessNumber-v0", tasks="test/:6", samples=2)


def _rewrite(run, change) -> None:
    """Apply `change(episode) -> episode` to every saved episode of the run, in place."""
    path = run / EPISODES
    episodes = read_episodes(path)
    path.write_text("".join(change(e).to_json() + "\n" for e in episodes))


def _claim_unsolved(e: Episode) -> Episode:
    """What a corrupted or forged record looks like: the env's step rewards and infos say nothing was solved."""
    turns = tuple(dataclasses.replace(t, rewards={"env": 0.0}, info={**t.info, "valid": False}) for t in e.turns)
    return e.replace(turns=turns, reward={a: 0.0 for a in e.reward},
                     outcome_rewards={a: {"solved": 0.0} for a in e.outcome_rewards})


def test_live_rescore_recomputes_what_the_env_said(tmp_path):
    run = tmp_path / "run"
    truth = evaluate(SPEC, run, progress=False)
    assert truth["overall"]["success_rate"] == 1.0  # bisection solves every task
    _rewrite(run, _claim_unsolved)

    trusting = rescore(run, None, tmp_path / "from-records")
    assert trusting["overall"]["success_rate"] == 0.0  # re-scoring from records believes them

    live = rescore(run, None, tmp_path / "live", live=True, concurrency=3)
    assert live["overall"]["success_rate"] == 1.0 and live["run"]["live"] is True
    original = {episode_key(e): e for e in read_episodes(run / EPISODES)}
    for e in read_episodes(tmp_path / "live" / EPISODES):
        assert [t.text for t in e.turns] == [t.text for t in original[episode_key(e)].turns]  # nothing generated
        assert e.turns[-1].rewards["env"] == 1.0 and all(t.info["valid"] for t in e.turns)
        assert e.info["rescore"]["live"] == {"replayed_turns": len(e.turns), "diverged_at": None}
        assert e.metrics["wall_s"] == original[episode_key(e)].metrics["wall_s"]  # generation costs are kept
    assert json.loads((tmp_path / "live" / "rescore.json").read_text())["diverged"] == []


def test_a_diverging_replay_is_flagged_and_a_short_one_fails(tmp_path):
    run = tmp_path / "run"
    evaluate(SPEC, run, progress=False)

    def edit(e: Episode) -> Episode:
        if e.task.id == "guess-test-0":  # the saved observation differs from what the env shows again
            first = e.turns[0]
            shown = ({**first.messages[0], "content": "something else"}, *first.messages[1:])
            return e.replace(turns=(dataclasses.replace(first, messages=shown), *e.turns[1:]))
        if e.task.id == "guess-test-1" and len(e.turns) > 1:  # replies missing: the env asks for more
            return e.replace(turns=e.turns[:1])
        return e

    _rewrite(run, edit)
    summary = rescore(run, None, tmp_path / "live", live=True)
    by_task = {}
    for e in read_episodes(tmp_path / "live" / EPISODES):
        by_task.setdefault(e.task.id, []).append(e)
    assert all(e.info["rescore"]["live"]["diverged_at"] == "player turn 0" for e in by_task["guess-test-0"])
    assert all(e.status.value == "ok" for e in by_task["guess-test-0"])  # flagged, still re-verified
    short = [e for e in by_task["guess-test-1"] if e.status.value == "env_error"]
    assert short and all("live re-verification failed" in e.error for e in short)
    assert summary["overall"]["failures"]["env_error"] == len(short)
    diverged = json.loads((tmp_path / "live" / "rescore.json").read_text())["diverged"]
    assert len(diverged) >= len(by_task["guess-test-0"])


def test_live_rescore_refuses_a_bad_concurrency(tmp_path):
    evaluate(EvalSpec("games/GuessNumber-v0", tasks="test/:1"), tmp_path / "run", progress=False)
    with pytest.raises(ConfigError, match="concurrency must be >= 1"):
        rescore(tmp_path / "run", None, tmp_path / "x", live=True, concurrency=0)
