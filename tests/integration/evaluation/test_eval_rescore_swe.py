"""Re-scoring an SWE evaluation in real Docker: live re-verification re-grades in fresh sandboxes, a changed
rubric alone needs no sandbox.

The gold-patch scripted policy solves two shipped tasks. Its saved run is then forged (rewards and the saved
grades say nothing was resolved): re-scoring from the records believes the forgery, `--live` replays the
replies through a fresh SWE env (a fresh container, the env's own grader in another fresh container) and gets
the real rewards back. A new rubric is applied from the saved grades with the Docker engine out of reach.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import time

import pytest

from agentrl.environments.swe import images
from agentrl.evaluation import EvalSpec, evaluate
from agentrl.evaluation.rescore import rescore
from agentrl.evaluation.store import EPISODES, read_episodes
from agentrl.sandbox.owner import OWNER_LABEL, owner_id
from agentrl.types import Episode

pytestmark = pytest.mark.docker
SPEC = EvalSpec("swe/LocalPy-v0", tasks="test/:2", samples=1)


def _our_containers() -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={OWNER_LABEL}={owner_id()}"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.fixture(scope="module")
def swe_run(tmp_path_factory):
    """The gold-patch policy on two shipped tasks, in real containers; checks nothing is left running."""
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, check=False)
    assert info.returncode == 0, f"no Docker engine answers ({info.stderr.strip()}); run `bash launch/setup_docker.sh`"
    before = set(_our_containers())
    run = tmp_path_factory.mktemp("swe-eval") / "run"
    from agentrl.evaluation.plan import plan_jobs

    missing = [j.task.id for j in plan_jobs(SPEC) if not images.image_exists(f"agentrl/swe-task:{j.task.id}")]
    assert not missing, f"task images missing: {missing}; run `bash launch/setup_swe.sh`"
    summary = evaluate(SPEC, run, progress=False)
    yield run, summary
    deadline = time.monotonic() + 30  # a closed sandbox's removal may still be in flight
    while set(_our_containers()) - before and time.monotonic() < deadline:
        time.sleep(1)
    assert not set(_our_containers()) - before, "containers left behind by the evaluation tests"


def _forge(e: Episode) -> Episode:
    """Every record of success erased: rewards, and the grade the env saved on submit."""
    def unresolved(info):
        grade = info.get("grade")
        if not grade:
            return info
        failed = {k: {"success": [], "failure": v["success"] + v["failure"]} for k, v in grade["tests_status"].items()}
        return {**info, "grade": {**grade, "resolved": False, "tests_status": failed}}

    turns = tuple(dataclasses.replace(t, info=unresolved(t.info), rewards={"env": 0.0}) for t in e.turns)
    return e.replace(turns=turns, reward={a: 0.0 for a in e.reward},
                     outcome_rewards={a: {k: 0.0 for k in o} for a, o in e.outcome_rewards.items()})


def test_live_rescore_regrades_forged_swe_results_in_fresh_sandboxes(swe_run, tmp_path):
    run, truth = swe_run
    assert truth["overall"]["episodes"] == 2 and truth["overall"]["success_rate"] == 1.0  # gold patches resolve
    original = read_episodes(run / EPISODES)
    forged = tmp_path / "forged"
    forged.mkdir()
    (forged / "run.json").write_text((run / "run.json").read_text())
    (forged / EPISODES).write_text("".join(_forge(e).to_json() + "\n" for e in original))

    believed = rescore(forged, None, tmp_path / "from-records")
    assert believed["overall"]["success_rate"] == 0.0 and believed["overall"]["reward_mean"] == 0.0

    live = rescore(forged, None, tmp_path / "live", live=True, concurrency=2)
    assert live["overall"]["success_rate"] == 1.0
    assert live["overall"]["reward_mean"] == truth["overall"]["reward_mean"]
    for e in read_episodes(tmp_path / "live" / EPISODES):
        assert e.info["rescore"]["live"]["diverged_at"] is None  # the replay saw what the agent saw
        grade = e.turns[-1].info["grade"]
        assert grade["resolved"] is True and grade["tests_status"]["FAIL_TO_PASS"]["failure"] == []


def test_a_changed_rubric_recomputes_without_any_sandbox(swe_run, tmp_path):
    run, _ = swe_run
    (tmp_path / "strict_rubrics.py").write_text(textwrap.dedent("""
        from agentrl.environments.swe.env import fail_to_pass_fraction, resolved
        from agentrl.verifiers import Rubric

        def only_f2p():
            return Rubric(outcome={"fail_to_pass": (fail_to_pass_fraction, 1.0), "resolved": (resolved, 0.0)},
                          env_weight=0.0)
    """))
    # the Docker engine is out of reach: any sandbox this re-score tried to start would fail the run
    code = textwrap.dedent(f"""
        import json, sys
        from agentrl.evaluation.rescore import rescore
        s = rescore({str(run)!r}, "strict_rubrics:only_f2p", {str(tmp_path / "new")!r})
        print(json.dumps(s["overall"]))
    """)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "DOCKER_HOST": "unix:///nonexistent/docker.sock",
           "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    overall = json.loads(r.stdout.strip().splitlines()[-1])
    assert overall["failures"] == {} or not any(overall["failures"].values())
    assert overall["reward_mean"] == 1.0  # every FAIL_TO_PASS test passes with the gold patch
    for e in read_episodes(tmp_path / "new" / EPISODES):
        assert set(e.outcome_rewards["agent"]) == {"fail_to_pass", "resolved"}  # partial_credit is gone
