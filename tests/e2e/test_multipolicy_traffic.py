"""End to end: two distinct policies trained together on highway-env's merge through real vLLM (CPU build).

A short version of launch/configs/traffic_merge_two_policies.yaml (traffic/MergeRoles-v0): the `highway`
policy drives agent_0, the `ramp` policy agent_1; each has its own tiny model weights, learner, engine and
checkpoint, and learns only from its own agent's turns. The full run's numbers (per-policy reward at start
vs end) are in docs/multiagent.md; this test checks the wiring on every step, not the learning curve (that
needs ~10 steps of 32 episodes, several minutes on this machine: too long for CI).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
STEPS = 2  # two updates: versions advance per policy and a checkpoint is written after each
TASKS, GROUP = 2, 2
EPISODES_PER_STEP = TASKS * GROUP


def test_two_policies_train_together_on_merge(tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "agentrl.cli", "train",
           "--config", str(REPO / "launch/configs/traffic_merge_two_policies.yaml"),
           f"run.out_dir={out}", "run.tensorboard=false", f"run.steps={STEPS}", "run.save_every=1",
           f"rollout.tasks_per_step={TASKS}", f"rollout.group_size={GROUP}"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    for r in rows:
        assert r["rollout/failed"] == 0, r  # every episode scored
        # 9 decisions per car (8 for a ramp car that hits the end of the ramp): a nonsense reply drives IDLE
        assert 16 <= r["rollout/turns"] <= 18, r
        for name in ("highway", "ramp"):
            assert 0.0 <= r[f"rollout/reward/{name}"] <= 1.0
            assert r[f"policy/{name}/learner/sequences"] > 0  # each learner trained on its own agent's turns
    assert rows[-1]["policy/highway/learner/version"] == rows[-1]["policy/ramp/learner/version"] == STEPS

    episodes = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == STEPS * EPISODES_PER_STEP
    assert all(set(e["reward"]) == {"agent_0", "agent_1"} for e in episodes)
    replies = [t for e in episodes for t in e["turns"]]
    assert all(len(t["completion_ids"]) <= 1 for t in replies)  # one sampled token decides each action
    assert all("invalid_reply" in t["info"] for t in replies)

    # separate weights: one checkpoint folder per policy, and the two trained models differ
    last = out / "checkpoints" / f"step-{STEPS:06d}"
    trainer = json.loads((last / "trainer.json").read_text())
    assert trainer["versions"] == {"highway": STEPS, "ramp": STEPS}
    highway = load_file(str(next((last / "highway").rglob("model.safetensors"))))
    ramp = load_file(str(next((last / "ramp").rglob("model.safetensors"))))
    assert highway.keys() == ramp.keys()
    assert any(not (highway[k] == ramp[k]).all() for k in highway)
