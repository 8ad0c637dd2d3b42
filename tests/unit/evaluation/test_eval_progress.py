"""The progress bar: episodes done out of planned, with the running success rate, mean reward and failures;
a resumed run starts from what is already on disk."""

import re

from agentrl.evaluation import EvalSpec, evaluate
from agentrl.evaluation.store import EPISODES

FLAKY_ENV = "test/FlakyGuess-v0"  # registered by conftest.py
SPEC = EvalSpec(FLAKY_ENV, tasks="test", samples=3)


def _last_bar(err: str) -> str:
    return re.split(r"[\r\n]", err.strip())[-1]


def test_progress_bar_shows_running_metrics(tmp_path, capsys):
    summary = evaluate(SPEC, tmp_path / "run", progress=True)
    bar = _last_bar(capsys.readouterr().err)
    overall = summary["overall"]
    assert f"{overall['episodes']}/{overall['expected_episodes']}" in bar
    assert f"success={overall['success_rate']:.3f}" in bar
    assert f"reward={overall['reward_mean']:.3f}" in bar
    assert f"failed={sum(overall['failures'].values())}" in bar and sum(overall["failures"].values()) > 0


def test_a_resumed_run_counts_what_is_on_disk(tmp_path, capsys):
    run = tmp_path / "run"
    evaluate(SPEC, run, progress=False)
    lines = (run / EPISODES).read_text().splitlines(keepends=True)
    (run / EPISODES).write_text("".join(lines[:10]))
    evaluate(SPEC, run, progress=True)
    err = capsys.readouterr().err
    assert re.search(r"\b10/18\b", err)  # the bar starts at the episodes already written
    assert "18/18" in _last_bar(err)
